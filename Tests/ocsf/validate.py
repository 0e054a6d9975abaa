#!/usr/bin/env python3
"""Validate OCSF events against the OCSF schema, offline.

Reads JSON events on stdin, one per line (blank lines skipped), and validates each against the
pinned OCSF version with the JSON Schema that `ocsf-json-schema` generates from the OCSF schema
it ships (no network): the event's class (`class_uid`) with the profiles the event names in
`metadata.profiles`, every referenced object embedded. On top of the schema it checks what JSON
Schema cannot express: `type_uid` = class_uid * 100 + activity_id, `category_uid` is the class's,
`metadata.version` is the pinned version.

Prints one line per event ("ok" or its errors) and exits 0 when every event is valid, 1 when
any is invalid, 2 on bad usage or no events, 3 when the libraries are missing.

    python3 Tests/ocsf/validate.py [--version 1.5.0] < events.jsonl
"""

import argparse
import json
import sys

PINNED_VERSION = "1.5.0"
REQUIREMENTS = "'ocsf-json-schema==1.2.0' 'jsonschema==4.26.0'"

try:
    import jsonschema
    from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema, get_packaged_versions
except ImportError as error:
    print(
        f"validate.py: the OCSF validation libraries are not installed ({error}).\n"
        f"Install them with: python3 -m pip install {REQUIREMENTS}",
        file=sys.stderr,
    )
    sys.exit(3)


class Validator:
    def __init__(self, version):
        if version not in get_packaged_versions():
            raise SystemExit(
                f"validate.py: OCSF {version} is not shipped by the installed ocsf-json-schema "
                f"(it has {', '.join(sorted(get_packaged_versions()))}); install {REQUIREMENTS}"
            )
        self.version = version
        self.raw = get_ocsf_schema(version=version)
        self.schema = OcsfJsonSchemaEmbedded(self.raw)
        self.validators = {}

    def validator(self, class_name, profiles):
        key = (class_name, tuple(sorted(profiles)))
        if key not in self.validators:
            schema = self.schema.get_class_schema(class_name=class_name, profiles=list(key[1]))
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            self.validators[key] = cls(schema)
        return self.validators[key]

    def errors(self, event):
        if not isinstance(event, dict):
            return ["not a JSON object"]
        class_uid = event.get("class_uid")
        if not isinstance(class_uid, int) or isinstance(class_uid, bool):
            return ["class_uid missing or not an integer"]
        try:
            class_name = self.schema.lookup_class_name_from_uid(class_uid)
        except ValueError:
            return [f"class_uid {class_uid} is not a class of OCSF {self.version}"]
        class_def = self.raw["classes"][class_name]

        metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
        profiles = metadata.get("profiles", [])
        if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
            return ["metadata.profiles is not a list of strings"]
        problems = []
        known = set(class_def.get("profiles") or [])
        unknown = [p for p in profiles if p not in known]
        if unknown:
            problems.append(f"metadata.profiles: {unknown} are not profiles of {class_name}")
            profiles = [p for p in profiles if p in known]

        for error in sorted(self.validator(class_name, profiles).iter_errors(event), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in error.absolute_path) or "(event)"
            problems.append(f"{path}: {error.message}")

        activity_id = event.get("activity_id")
        if isinstance(activity_id, int) and event.get("type_uid") != class_uid * 100 + activity_id:
            problems.append(f"type_uid {event.get('type_uid')} is not class_uid * 100 + activity_id")
        category_uid = class_def.get("category_uid")
        if category_uid is not None and event.get("category_uid") != category_uid:
            problems.append(f"category_uid {event.get('category_uid')} is not {category_uid} ({class_name})")
        if metadata.get("version") != self.version:
            problems.append(f"metadata.version {metadata.get('version')!r} is not {self.version!r}")
        return problems


def main():
    parser = argparse.ArgumentParser(description="Validate OCSF events (JSON Lines on stdin).")
    parser.add_argument("--version", default=PINNED_VERSION, help=f"OCSF version (default {PINNED_VERSION})")
    parser.add_argument("--quiet", action="store_true", help="print only invalid events")
    args = parser.parse_args()

    validator = Validator(args.version)
    count = invalid = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        count += 1
        event = None
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            problems = [f"not JSON: {error}"]
        else:
            problems = validator.errors(event)
        label = f"line {number}"
        if isinstance(event, dict):
            code = (event.get("metadata") or {}).get("event_code") if isinstance(event.get("metadata"), dict) else None
            label += f" ({event.get('class_uid')}/{event.get('activity_id')}{' ' + code if code else ''})"
        if problems:
            invalid += 1
            for problem in problems:
                print(f"{label}: INVALID: {problem}")
        elif not args.quiet:
            print(f"{label}: ok")
    if count == 0:
        print("validate.py: no events on stdin", file=sys.stderr)
        return 2
    print(f"OCSF {args.version}: {count - invalid} valid, {invalid} invalid")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""An example agent that uses agentrun's broker: the Unix socket in $AGENTRUN_SOCKET through which
a sandboxed agent calls the tools and obtains the credentials its profile allows. Standard library
only (http.client over AF_UNIX); examples/mcp_agent.py does the same with the PyPI `mcp` client.

    DEMO_API_KEY=s3cret python3 examples/tool_server.py &
    DEMO_API_KEY=s3cret agentrun --profile examples/profiles/broker-demo.yaml -- /usr/bin/python3 examples/agent.py

It lists its tools (MCP initialize + tools/list), calls allowed and denied tools, asks for a
short-lived token and for things the profile does not grant, and prints what happened. Exit status:
0 when every answer was the expected one, 1 when the demo could not run (not under agentrun, the
ticket server is down), 2 when the broker answered something it should not have.
"""
import base64
import http.client
import json
import os
import socket
import sys
import time

PROTOCOL_VERSION = "2025-06-18"
VERB = {"allow": "allowed", "deny": "denied"}


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a Unix socket: the host name in the request is never resolved."""

    def __init__(self, path, timeout=15):
        super().__init__("agentrun", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class Misbehaved(Exception):
    """The broker answered something a correct broker never would."""


class Broker:
    def __init__(self, path):
        self.path = path
        self.ids = 0

    def request(self, method, route, body=None):
        """One request; returns (status, decoded JSON body or None)."""
        conn = UnixHTTPConnection(self.path)
        headers = {"AgentRun-Request": "1", "Accept": "application/json, text/event-stream"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if route == "/mcp":
            headers["MCP-Protocol-Version"] = PROTOCOL_VERSION
        try:
            conn.request(method, route, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        if not raw:
            return resp.status, None
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            raise Misbehaved(f"{method} {route} answered {resp.status} with a body that is not JSON: {raw[:200]!r}")

    def rpc(self, method, params=None):
        """One MCP JSON-RPC request; returns its result."""
        self.ids += 1
        msg = {"jsonrpc": "2.0", "id": self.ids, "method": method}
        if params is not None:
            msg["params"] = params
        status, reply = self.request("POST", "/mcp", msg)
        if status != 200 or not isinstance(reply, dict) or reply.get("id") != self.ids:
            raise Misbehaved(f"{method}: HTTP {status}, reply {reply!r}")
        if "error" in reply:
            raise Misbehaved(f"{method}: JSON-RPC error {reply['error']!r}")
        return reply["result"]

    def notify(self, method):
        status, _ = self.request("POST", "/mcp", {"jsonrpc": "2.0", "method": method})
        if status not in (200, 202, 204):
            raise Misbehaved(f"notification {method}: HTTP {status}")


def text_of(result):
    """The text parts of a tools/call result, joined."""
    return " ".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text").strip()


def short(s, n=90):
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def jwt_claims(token):
    """The payload of a JWT, decoded but NOT verified (the services that receive it verify it
    with the keys at GET /v1/jwks; the standard library has no Ed25519)."""
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)
    return json.loads(base64.urlsafe_b64decode(pad(header))), json.loads(base64.urlsafe_b64decode(pad(payload)))


class Report:
    def __init__(self):
        self.expected = 0
        self.unexpected = 0
        self.setup_problem = False

    def line(self, ok, text, detail=None):
        if ok:
            self.expected += 1
        else:
            self.unexpected += 1
        print(f"  {'ok        ' if ok else 'UNEXPECTED'} {text}")
        if detail:
            print(f"             {detail}")


def main():
    uri = os.environ.get("AGENTRUN_SOCKET", "")
    if not uri.startswith("unix://"):
        print("agent: AGENTRUN_SOCKET is not set: run me under agentrun (see the docstring)", file=sys.stderr)
        return 1
    broker = Broker(uri[len("unix://"):])
    report = Report()

    status, session = broker.request("GET", "/v1/session")
    if status != 200 or not isinstance(session, dict):
        raise Misbehaved(f"GET /v1/session: HTTP {status} {session!r}")
    print(f"agent: broker at {broker.path}")
    profile = session.get("profile") or {}
    print(f"agent: run {session.get('run_id')}, profile {profile.get('name')} (sha256 {str(profile.get('digest'))[:16]}…)")
    if session.get("run_id") != os.environ.get("AGENTRUN_RUN_ID"):
        raise Misbehaved(f"/v1/session names run {session.get('run_id')}, my environment says {os.environ.get('AGENTRUN_RUN_ID')}")

    init = broker.rpc("initialize", {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "agentrun-example-agent", "version": "1.0"},
    })
    broker.notify("notifications/initialized")
    info = init.get("serverInfo", {})
    print(f"agent: MCP server {info.get('name')} {info.get('version', '')}, protocol {init.get('protocolVersion')}")

    tools = broker.rpc("tools/list").get("tools", [])
    print()
    print("tools the profile lets me call:")
    for tool in tools:
        print(f"  {tool['name']:<12} {short(tool.get('description', ''), 80)}")
    names = {t["name"] for t in tools}
    if not {"get_ticket", "word_count"} <= names:
        print("agent: this profile does not offer get_ticket and word_count: run me with "
              "--profile examples/profiles/broker-demo.yaml", file=sys.stderr)
        return 1

    print()
    print("tool calls:")

    def call(name, arguments, want, rule=None):
        result = broker.rpc("tools/call", {"name": name, "arguments": arguments})
        decision = (result.get("_meta") or {}).get("agentrun/decision") or {}
        shown = f"{name} {json.dumps(arguments)}"
        if result.get("isError") and decision.get("effect") == "deny":
            ok = want == "deny" and (rule is None or decision.get("rule_id") == rule)
            report.line(ok, f"{shown} -> denied by rule {decision.get('rule_id')}", short(decision.get("reason", ""), 110))
        elif result.get("isError"):
            # Allowed by the policy, but the backend failed (a server down, a timeout).
            report.line(False, f"{shown} -> allowed, but the tool failed", short(text_of(result), 110))
            report.setup_problem = want == "allow"
        else:
            report.line(want == "allow", f"{shown} -> allowed", short(text_of(result), 110))
        return result

    call("get_ticket", {"id": "DEMO-42"}, "allow")
    call("word_count", {"path": "/usr/share/common-licenses/GPL-3"}, "allow")
    call("get_ticket", {"id": "DEMO-1"}, "deny", rule="no-release-ticket")
    call("get_ticket", {"id": "../admin/users"}, "deny", rule="default-deny")
    call("word_count", {"path": "/etc/shadow"}, "deny", rule="default-deny")
    call("word_count", {"path": "/usr/share/common-licenses/../../../etc/shadow"}, "deny", rule="default-deny")
    if report.setup_problem:
        print("             (is examples/tool_server.py running on 127.0.0.1:8765 with the same DEMO_API_KEY?)")

    print()
    print("dry-run checks (POST /v1/check: the decision without running the tool):")
    for arguments in ({"path": "/usr/share/common-licenses/MIT"}, {"path": "/home/someone/.ssh/id_rsa"}):
        status, check = broker.request("POST", "/v1/check", {"tool": "word_count", "arguments": arguments})
        if status != 200 or not isinstance(check, dict):
            raise Misbehaved(f"POST /v1/check: HTTP {status} {check!r}")
        want = "allow" if arguments["path"].startswith("/usr/share/common-licenses/") else "deny"
        report.line(check.get("decision") == want,
                    f"word_count {json.dumps(arguments)} would be {VERB.get(check.get('decision'), check.get('decision'))} (rule {check.get('rule_id')})")

    print()
    print("credentials (POST /v1/credentials):")
    ask = {"name": "ci_token", "audience": "https://ci.example.internal", "scopes": ["builds:read"], "ttl": 120}
    status, cred = broker.request("POST", "/v1/credentials", ask)
    if status == 200 and isinstance(cred, dict) and cred.get("token"):
        header, claims = jwt_claims(cred["token"])
        good = (header.get("alg") == "EdDSA" and claims.get("aud") in ("https://ci.example.internal", ["https://ci.example.internal"])
                and claims.get("jti") == cred.get("jti") and 0 < claims.get("exp", 0) - time.time() <= 121)
        report.line(good, f"ci_token for {ask['audience']} {ask['scopes']} -> {header.get('alg')} JWT, jti {cred.get('jti')}, "
                          f"expires in {int(claims.get('exp', 0) - time.time())} s",
                    "claims: " + short(json.dumps({k: claims.get(k) for k in ("iss", "sub", "aud", "scope", "run_id")}), 200))
    else:
        report.line(False, f"ci_token: HTTP {status} {short(json.dumps(cred))}")

    refusals = [
        ("an audience the profile does not list", {**ask, "audience": "https://prod.example.internal"}),
        ("a scope the profile does not list", {**ask, "scopes": ["builds:admin"]}),
        ("a ttl above max_ttl", {**ask, "ttl": 86400}),
        ("the host secret itself", {"name": "demo_api_key", "audience": "https://ci.example.internal", "scopes": [], "ttl": 60}),
    ]
    for what, body in refusals:
        status, reply = broker.request("POST", "/v1/credentials", body)
        error = (reply or {}).get("error", {}) if isinstance(reply, dict) else {}
        refused = 400 <= status < 500 and "token" not in (reply or {})
        report.line(refused, f"{what} -> {'refused' if refused else 'GRANTED'} (HTTP {status} {error.get('code', '')})",
                    short(error.get("message", json.dumps(reply)), 110))

    status, session = broker.request("GET", "/v1/session")
    print()
    print(f"agent: budgets left: {short(json.dumps(session.get('budgets', session.get('remaining_budgets', {}))), 150)}")
    print(f"agent: {report.expected} answers as expected, {report.unexpected} unexpected")
    if report.unexpected == 0:
        return 0
    return 1 if report.setup_problem and report.unexpected == 1 else 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Misbehaved as exc:
        print(f"agent: the broker misbehaved: {exc}", file=sys.stderr)
        sys.exit(2)
    except (OSError, http.client.HTTPException) as exc:
        print(f"agent: cannot talk to the broker: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(2)

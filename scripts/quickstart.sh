#!/usr/bin/env bash
# Sets up agentrun on a fresh Debian/Ubuntu machine with Swift, builds it, checks the host and
# runs the example agent under the built-in `default` profile in a scratch workspace, then
# verifies the run's provenance log. Installs what `swift test` needs too.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev libcap-dev libyaml-dev pkg-config python3 python3-pip >/dev/null
# The OCSF schema validator the test suite uses (offline: the schemas ship in the wheel).
python3 -m pip install --quiet --user --break-system-packages 'ocsf-json-schema==1.2.0' 'jsonschema==4.26.0' 2>/dev/null \
    || python3 -m pip install --quiet 'ocsf-json-schema==1.2.0' 'jsonschema==4.26.0'

swift build -c release --product agentrun -Xswiftc -static-stdlib
agentrun="$PWD/.build/release/agentrun"

"$agentrun" doctor

workspace=$(mktemp -d /tmp/agentrun-demo.XXXXXX)
cp examples/agent.py "$workspace/"
echo
echo "running: agentrun -- python3 agent.py   (workspace: $workspace)"
cd "$workspace"
"$agentrun" --log "$workspace.log" -- python3 agent.py
echo
"$agentrun" log show "$workspace.log" --kind process.exit
"$agentrun" log verify "$workspace.log"

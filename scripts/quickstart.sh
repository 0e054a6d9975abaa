#!/usr/bin/env bash
# Sets up agentrun on a fresh Debian/Ubuntu machine with Swift, builds it, checks the host, runs
# the sandbox self-check (examples/escape_check.py) under the built-in `default` profile in a
# scratch workspace, then the broker example (examples/agent.py: tools, policy decisions, a
# token) under examples/profiles/broker-demo.yaml, and verifies both runs' provenance logs.
# Installs what `swift test` needs too.
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

repo=$PWD
workspace=$(mktemp -d /tmp/agentrun-demo.XXXXXX)
cp examples/escape_check.py examples/agent.py "$workspace/"
echo
echo "running: agentrun -- python3 escape_check.py   (workspace: $workspace)"
cd "$workspace"
"$agentrun" --log "$workspace.log" -- python3 escape_check.py
echo
"$agentrun" log show "$workspace.log" --kind process.exit
# Syscall mediation recorded each escape attempt the kernel refused, with the rule that refused it.
echo "the escape attempts, as the log recorded them (syscall mediation):"
"$agentrun" log show "$workspace.log" | grep -E ' deny *$' || true
"$agentrun" log verify "$workspace.log"

# The broker: a host-side ticket API that needs a key the agent never sees (README, "Tools and
# credentials"). The system's python3 runs inside the sandbox, where only /usr is visible.
export DEMO_API_KEY="demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
python3 "$repo/examples/tool_server.py" --port 8765 > "$workspace.tool_server" 2>&1 &
tool_server=$!
trap 'kill "$tool_server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening "$workspace.tool_server" 2>/dev/null && break; sleep 0.1; done
if ! grep -q listening "$workspace.tool_server"; then
    cat "$workspace.tool_server" >&2
    echo "examples/tool_server.py did not start (is port 8765 taken?)" >&2
    exit 1
fi
echo
echo "running: agentrun --profile examples/profiles/broker-demo.yaml -- /usr/bin/python3 agent.py"
"$agentrun" --profile "$repo/examples/profiles/broker-demo.yaml" --log "$workspace-broker.log" -- /usr/bin/python3 agent.py
echo
"$agentrun" log show "$workspace-broker.log" --kind tool.call
"$agentrun" log verify "$workspace-broker.log"

#!/usr/bin/env bash
# Sets up agentrun on a fresh Debian/Ubuntu machine with Swift, builds it, checks the host and
# runs the example agent under the built-in `default` profile in a scratch workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev libcap-dev libyaml-dev pkg-config python3 >/dev/null

swift build -c release --product agentrun -Xswiftc -static-stdlib
agentrun="$PWD/.build/release/agentrun"

"$agentrun" doctor

workspace=$(mktemp -d /tmp/agentrun-demo.XXXXXX)
cp examples/agent.py "$workspace/"
echo
echo "running: agentrun -- python3 agent.py   (workspace: $workspace)"
cd "$workspace"
"$agentrun" -- python3 agent.py

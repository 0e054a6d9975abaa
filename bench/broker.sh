#!/usr/bin/env bash
# Broker socket cost, measured from inside a real sandbox: a trivial allowed call (schema check,
# one allow rule, a provenance record) through `POST /v1/check` and through MCP `tools/call` of a
# `backend: {noop: {}}` tool at `POST /mcp`.
#
#   (a) latency: 1 connection, requests back to back (target: p50 <= 150 µs)
#   (b) throughput: 8 connections, closed loop (target: >= 10,000 requests/s)
#
# The load generator is bench/broker-load.c (one thread per keep-alive connection, blocking I/O,
# every response parsed and checked), compiled into the run's workspace and started by
# `agentrun --profile <bench profile> -- ./broker-load ...`, so it reaches the broker exactly as
# an agent does, through $AGENTRUN_SOCKET.
#
#   bench/broker.sh [SECONDS]      (measurement time per case, default 5)
#   AGENTRUN_BIN=/path/to/agentrun bench/broker.sh     use that binary instead of building one
#   SCRATCH_PATH=.build-x bench/broker.sh              build the release binary there (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}

if [ -n "${AGENTRUN_BIN:-}" ]; then
    agentrun=$(realpath "$AGENTRUN_BIN")
else
    scratch=${SCRATCH_PATH:-.build}
    swift build -c release --scratch-path "$scratch" --product agentrun -Xswiftc -static-stdlib >/dev/null
    agentrun="$PWD/$scratch/release/agentrun"
fi
[ -x "$agentrun" ] || { echo "no agentrun binary at $agentrun" >&2; exit 1; }
command -v gcc >/dev/null || { echo "gcc is needed to build bench/broker-load.c" >&2; exit 1; }

work=$(mktemp -d /tmp/agentrun-broker-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
workspace="$work/workspace"
mkdir -p "$workspace"
gcc -O2 -pthread -Wall -Wextra -Werror -o "$workspace/broker-load" bench/broker-load.c

cat > "$work/bench.yaml" <<'YAML'
extends: default
tools:
  bench_noop:
    description: Runs nothing and returns its arguments (broker benchmark).
    input_schema:
      type: object
      properties:
        message: {type: string, maxLength: 256}
      required: [message]
      additionalProperties: false
    rules:
      - {id: bench-hello, effect: allow, when: {/message: {prefix: hello}}}
    backend: {noop: {}}
YAML

check_body='{"tool":"bench_noop","arguments":{"message":"hello world"}}'
mcp_body='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"bench_noop","arguments":{"message":"hello world"}}}'
denied_body='{"tool":"bench_noop","arguments":{"message":"goodbye"}}'

# Everything runs in one sandbox; broker-load exits non-zero on any unexpected answer.
cat > "$workspace/run.sh" <<SH
#!/bin/sh
set -e
./broker-load -n 1 -w 0 -l check-denied -b '$denied_body' -e '"decision":"deny"' >/dev/null
./broker-load -c 1 -d $seconds -w 1000 -l check-1conn -b '$check_body' -e '"decision":"allow"'
./broker-load -c 1 -d $seconds -w 1000 -l mcp-1conn -p /mcp -b '$mcp_body' -e '"isError":false'
./broker-load -c 8 -d $seconds -w 200 -l check-8conn -b '$check_body' -e '"decision":"allow"'
./broker-load -c 8 -d $seconds -w 200 -l mcp-8conn -p /mcp -b '$mcp_body' -e '"isError":false'
SH
chmod +x "$workspace/run.sh"

echo "agentrun: $agentrun"
echo "running 4 cases of ${seconds}s inside the sandbox ($(nproc) CPUs)..."
cd "$workspace"
"$agentrun" --profile "$work/bench.yaml" --workspace "$workspace" --log "$work/log" -- ./run.sh | tee "$work/out.txt"

python3 - "$work/out.txt" <<'PY'
import sys
results = {}
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        fields = dict(item.split("=", 1) for item in line.split()[1:])
        results[fields["label"]] = fields
missing = [l for l in ("check-1conn", "mcp-1conn", "check-8conn", "mcp-8conn") if l not in results]
if missing:
    sys.exit(f"missing results: {missing}")
ok = True
print("\nsummary (targets: p50 <= 150 µs on 1 connection; >= 10,000 requests/s on 8 connections)")
for label in ("check-1conn", "mcp-1conn"):
    r = results[label]
    p50 = float(r["p50_us"])
    verdict = "PASS" if p50 <= 150 else "FAIL"
    ok &= verdict == "PASS"
    print(f"  {verdict} {label}: p50 {p50:.1f} µs (p90 {r['p90_us']}, p99 {r['p99_us']}, max {r['max_us']}), {r['rps']} req/s")
for label in ("check-8conn", "mcp-8conn"):
    r = results[label]
    rps = float(r["rps"])
    verdict = "PASS" if rps >= 10000 else "FAIL"
    ok &= verdict == "PASS"
    print(f"  {verdict} {label}: {rps:.0f} req/s (p50 {r['p50_us']} µs, p99 {r['p99_us']} µs)")
print("overall:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY

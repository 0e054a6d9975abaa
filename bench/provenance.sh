#!/usr/bin/env bash
# Throughput of the provenance log (Sources/agentrun-provenance-bench): appends of ~390-byte
# `syscall.openat` records on one thread with the default options (two SHA-256 per record, an
# Ed25519-signed checkpoint every 1000 records, `checkpoint` durability: lines gathered into one
# write at most 10 ms late, fdatasync at checkpoints on a background thread), then
# `LogVerifier.verify` over the file. Targets: >= 200,000 appends/s and >= 500,000 verified
# records/s. Also shown: 16 threads appending to one writer, and `record` durability (an
# fdatasync per append).
#
# The machine is shared (2 cores): each phase runs RUNS times and the best run is the figure.
#
#   bench/provenance.sh [RECORDS] [RUNS] [DIRECTORY]     (defaults: 1000000 3 /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
runs=${2:-3}
directory=${3:-/tmp}
scratch=${SCRATCH:-.build}

swift build -c release --scratch-path "$scratch" --product agentrun-provenance-bench >/dev/null
bench="$scratch/release/agentrun-provenance-bench"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$runs"); do
    "$bench" "$records" "$directory" append,verify,threads | tee -a "$out"
done
"$bench" "$records" "$directory" record | tee -a "$out"

best() {  # best records/s of the lines starting with $1
    grep "^$1" "$out" | sed -E 's/.* = ([0-9]+) records\/s.*/\1/' | sort -n | tail -1
}
echo
echo "best of $runs runs, $records records:"
printf '  append, 1 thread:   %8s records/s  (target >= 200000)\n' "$(best 'append (1 thread, checkpoint')"
printf '  verify:             %8s records/s  (target >= 500000)\n' "$(best 'verify')"
printf '  append, 16 threads: %8s records/s\n' "$(best 'append (16 threads)')"
printf '  append, durability record: %s records/s\n' "$(best 'append (1 thread, record')"

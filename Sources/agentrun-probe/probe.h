// agentrun-probe: attack primitives run inside (and, as controls, outside) an agentrun sandbox.
//
// Exit status: 0 = the attack succeeded (an escape), 1 = it was blocked
// ("blocked: <call>: <strerror>" on stdout), 2 = probe misuse. Helper commands that are not
// attacks (noop, id, ls, listen-*, ...) exit 0 when they worked.
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum { PROBE_ESCAPED = 0, PROBE_BLOCKED = 1, PROBE_MISUSE = 2 };

/// Set by `--control`: the probe runs as a control outside the sandbox. Destructive primitives
/// (mount, pivot_root, kill(-1), ...) first isolate themselves (a private mount namespace, ...).
extern bool g_control;

/// True when AGENTRUN=1 (the sandbox sets it).
bool in_sandbox(void);

/// Prints "escaped: ..." and returns PROBE_ESCAPED.
int escaped(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/// Prints "blocked: <what>: <strerror(err)>" and returns PROBE_BLOCKED.
int blocked(const char *what, int err);
/// Prints "blocked: ..." and returns PROBE_BLOCKED.
int blockedf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/// Prints "misuse: ..." on stderr and returns PROBE_MISUSE.
int misuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/// Prints an informational line ("  ...") on stdout.
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/// Any escape wins, then misuse, else blocked.
int combine(int a, int b);

/// For calls made with deliberately harmless (mostly invalid) arguments: a result or any errno
/// other than EPERM/EACCES/ENOSYS means the kernel handler ran past the policy, which is the
/// escape (the sandbox promises the call is refused before it reaches the kernel).
int reach(const char *what, long ret, int err);

/// Runs fn in a forked child and returns its exit status; a child killed by SIGSYS counts as
/// blocked (seccomp may kill), any other signal as misuse.
int in_child(int (*fn)(void *), void *arg);

/// Before a destructive primitive: inside the sandbox do nothing; with --control, unshare the
/// given namespaces (making mounts private) so the host is untouched; otherwise refuse.
/// Returns 0 to proceed, or a probe status to return.
int isolate_for_control(int clone_flags);

/// Copies /proc/self/exe to path with the given mode. Returns 0 or an errno.
int copy_self(const char *path, int mode);

/// Reads at most cap-1 bytes of a file into buf (NUL-terminated). Returns bytes read or -errno.
ssize_t read_file(const char *path, char *buf, size_t cap);

/// Waits for a child; returns its exit status, or 128+signal.
int wait_status(pid_t pid);

typedef int (*probe_cmd)(int argc, char **argv);
struct probe_command {
    const char *name;
    probe_cmd fn;
    const char *usage;
};

#define PROBE_COMMANDS_DECL(group) extern const struct probe_command group[];
PROBE_COMMANDS_DECL(fs_commands)
PROBE_COMMANDS_DECL(proc_commands)
PROBE_COMMANDS_DECL(priv_commands)
PROBE_COMMANDS_DECL(ns_commands)
PROBE_COMMANDS_DECL(kern_commands)
PROBE_COMMANDS_DECL(sock_commands)
PROBE_COMMANDS_DECL(tty_commands)
PROBE_COMMANDS_DECL(res_commands)
PROBE_COMMANDS_DECL(life_commands)
PROBE_COMMANDS_DECL(mediate_commands)

/*
 * Host-side tool processes for the broker's backends (`command` tools and upstream MCP servers).
 *
 * The supervisor is multithreaded (NIO, Swift concurrency) and holds descriptors that must never
 * reach a tool (the provenance log, pidfds, the broker socket), so tools are started here with
 * posix_spawn (glibc's clone(CLONE_VM|CLONE_VFORK): no fork of the Swift process) with every
 * descriptor above 2 closed, an explicit environment, a fresh process group, default signal
 * dispositions and an empty signal mask.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ar_tool_spawn_config {
    const char *path;       /* the program to execute (absolute, or relative to `cwd`) */
    char *const *argv;      /* NULL-terminated */
    char *const *envp;      /* NULL-terminated; the whole environment */
    const char *cwd;        /* working directory of the tool */
    int32_t stdin_pipe;     /* 1: stdin is a pipe (stdin_fd); 0: /dev/null */
};

/* A started tool. The descriptors are the supervisor's ends, all close-on-exec and >= 3. */
struct ar_tool_process {
    int32_t pid;            /* also the process group id */
    int32_t pidfd;
    int32_t stdin_fd;       /* -1 unless stdin_pipe */
    int32_t stdout_fd;
    int32_t stderr_fd;
};

/* Starts a tool. 0 with `process` filled, or -errno (nothing left open, nothing running). */
int ar_tool_spawn(const struct ar_tool_spawn_config *config, struct ar_tool_process *process);

enum ar_tool_outcome_kind {
    AR_TOOL_EXITED = 0,       /* the process ended (see status_kind/status_code) */
    AR_TOOL_TIMEOUT = 1,      /* the deadline passed: the process group was killed */
    AR_TOOL_OUTPUT_LIMIT = 2, /* stdout exceeded its capacity: the process group was killed */
    AR_TOOL_FAILED = 3,       /* poll/read failed (errno): the process group was killed */
};

struct ar_tool_outcome {
    int32_t kind;           /* enum ar_tool_outcome_kind */
    int32_t status_kind;    /* 1 exited (status_code = exit status), 2 killed (status_code = signal) */
    int32_t status_code;
    int32_t error;          /* errno for AR_TOOL_FAILED */
    size_t stdout_len;      /* bytes in `out` */
    size_t stderr_len;      /* bytes in `err` (the last ones written, in order) */
    int32_t stderr_truncated; /* 1 when earlier stderr bytes were dropped */
};

/*
 * Collects a tool started without a stdin pipe: stdout into `out` (at most `out_cap` bytes; more
 * is AR_TOOL_OUTPUT_LIMIT), the last `err_cap` bytes of stderr into `err`, until the process ends
 * and its pipes close, or `timeout_ms` passes. Blocks the calling thread (run it on its own).
 * When the leading process ends, its process group is killed (no stragglers); pipes held open by
 * a process that left the group are waited for at most 500 ms more. Always reaps the process and
 * closes every descriptor of `process`. Returns 0, or -1 for AR_TOOL_FAILED.
 */
int ar_tool_collect(const struct ar_tool_process *process, int64_t timeout_ms, uint8_t *out, size_t out_cap,
                    uint8_t *err, size_t err_cap, struct ar_tool_outcome *outcome);

/* SIGKILL (or `sig`) to the process group `pgid` and, through the pidfd, to its leader. 0 or -errno. */
int ar_tool_signal_group(int pidfd, int pgid, int sig);

/* waitid(P_PIDFD) reap: 1 reaped (status_kind 1 exited / 2 killed, status_code), 0 still running
 * (only with nohang), -errno. */
int ar_tool_reap(int pidfd, int nohang, int32_t *status_kind, int32_t *status_code);

/* Blocks SIGPIPE in the calling thread (a write to a pipe whose reader died then fails with EPIPE
 * instead of killing the supervisor). For the broker's own I/O threads. */
int ar_tool_block_sigpipe(void);

/* pipe2(O_CLOEXEC | O_NONBLOCK): fds[0] read end, fds[1] write end. 0 or -errno. */
int ar_tool_wake_pipe(int32_t fds[2]);

/* O_NONBLOCK on or off. 0 or -errno. */
int ar_tool_set_nonblocking(int fd, int on);

#ifdef __cplusplus
}
#endif

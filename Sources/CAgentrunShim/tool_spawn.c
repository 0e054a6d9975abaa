/*
 * Host-side tool processes for the broker's backends: spawn with posix_spawn (never fork the
 * multithreaded supervisor), then collect output under a deadline on the caller's own thread.
 * See include/ar_tool_spawn.h.
 */
#include "ar_tool_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* After the leading process ends, how long pipes still held by an escaped descendant are read. */
#define AR_TOOL_GRACE_MS 500

static void close_if_open(int fd) {
    if (fd >= 0) close(fd);
}

/* Moves `fd` to a close-on-exec descriptor >= 3, so that no pipe end can be 0-2 (an adddup2
 * onto itself would keep it close-on-exec in the child). Closes the original on success. */
static int raise_fd(int fd) {
    if (fd >= 3) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    close(fd);
    errno = saved;
    return moved;
}

static int make_pipe(int fds[2]) {
    int raw[2];
    if (pipe2(raw, O_CLOEXEC) != 0) return -1;
    raw[0] = raise_fd(raw[0]);
    if (raw[0] < 0) {
        int saved = errno;
        close(raw[1]);
        errno = saved;
        return -1;
    }
    raw[1] = raise_fd(raw[1]);
    if (raw[1] < 0) {
        int saved = errno;
        close(raw[0]);
        errno = saved;
        return -1;
    }
    fds[0] = raw[0];
    fds[1] = raw[1];
    return 0;
}

int ar_tool_spawn(const struct ar_tool_spawn_config *config, struct ar_tool_process *process) {
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int rc = 0;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int actions_ready = 0, attr_ready = 0;
    pid_t pid = -1;

    process->pid = -1;
    process->pidfd = -1;
    process->stdin_fd = -1;
    process->stdout_fd = -1;
    process->stderr_fd = -1;

    if (config->stdin_pipe && make_pipe(in) != 0) { rc = -errno; goto fail; }
    if (make_pipe(out) != 0) { rc = -errno; goto fail; }
    if (make_pipe(err) != 0) { rc = -errno; goto fail; }

    if ((rc = posix_spawn_file_actions_init(&actions)) != 0) { rc = -rc; goto fail; }
    actions_ready = 1;
    if (config->stdin_pipe) {
        rc = posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    } else {
        rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    /* Everything else the supervisor holds (log, pidfds, sockets), close-on-exec or not. */
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (rc == 0 && config->cwd) rc = posix_spawn_file_actions_addchdir_np(&actions, config->cwd);
    if (rc != 0) { rc = -rc; goto fail; }

    if ((rc = posix_spawnattr_init(&attr)) != 0) { rc = -rc; goto fail; }
    attr_ready = 1;
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    /* A new session: its own process group (killed as a whole) and no controlling terminal, so a
     * tool can neither read the operator's terminal nor inject input into it. */
    rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &empty);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc != 0) { rc = -rc; goto fail; }

    rc = posix_spawn(&pid, config->path, &actions, &attr, config->argv, config->envp);
    if (rc != 0) { rc = -rc; pid = -1; goto fail; }

    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        rc = -errno;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        pid = -1;
        goto fail;
    }
    /* pidfd_open does not set close-on-exec on older kernels' glibc wrappers: make sure. */
    fcntl(pidfd, F_SETFD, FD_CLOEXEC);

    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close_if_open(in[0]);
    close(out[1]);
    close(err[1]);
    process->pid = pid;
    process->pidfd = pidfd;
    process->stdin_fd = in[1];
    process->stdout_fd = out[0];
    process->stderr_fd = err[0];
    return 0;

fail:
    if (actions_ready) posix_spawn_file_actions_destroy(&actions);
    if (attr_ready) posix_spawnattr_destroy(&attr);
    close_if_open(in[0]);
    close_if_open(in[1]);
    close_if_open(out[0]);
    close_if_open(out[1]);
    close_if_open(err[0]);
    close_if_open(err[1]);
    return rc;
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ar_tool_signal_group(int pidfd, int pgid, int sig) {
    int rc = 0;
    if (pgid > 0 && kill(-pgid, sig) != 0 && errno != ESRCH) rc = -errno;
    if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) != 0 && errno != ESRCH && rc == 0) rc = -errno;
    return rc;
}

int ar_tool_reap(int pidfd, int nohang, int32_t *status_kind, int32_t *status_code) {
    siginfo_t info;
    for (;;) {
        memset(&info, 0, sizeof info);
        if (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED | (nohang ? WNOHANG : 0), NULL) == 0) break;
        if (errno != EINTR) return -errno;
    }
    if (info.si_pid == 0) return 0;
    if (info.si_code == CLD_EXITED) {
        *status_kind = 1;
    } else {
        *status_kind = 2;
    }
    *status_code = info.si_status;
    return 1;
}

/* Reverses bytes [from, to). */
static void reverse(uint8_t *p, size_t from, size_t to) {
    while (from + 1 < to) {
        uint8_t t = p[from];
        p[from] = p[to - 1];
        p[to - 1] = t;
        from++;
        to--;
    }
}

int ar_tool_collect(const struct ar_tool_process *process, int64_t timeout_ms, uint8_t *out, size_t out_cap,
                    uint8_t *err, size_t err_cap, struct ar_tool_outcome *outcome) {
    memset(outcome, 0, sizeof *outcome);
    outcome->kind = AR_TOOL_EXITED;
    int out_fd = process->stdout_fd, err_fd = process->stderr_fd;
    size_t out_len = 0;
    uint64_t err_total = 0; /* stderr bytes seen; the ring holds the last err_cap */
    int exited = 0;
    int rc = 0;
    int64_t deadline = monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int64_t grace = 0;
    uint8_t chunk[16384];

    for (;;) {
        if (out_fd < 0 && err_fd < 0 && exited) break;
        int64_t now = monotonic_ms();
        if (now >= deadline) {
            if (!exited) outcome->kind = AR_TOOL_TIMEOUT;
            break;
        }
        int64_t until = deadline;
        if (exited) {
            if (now >= grace) break;
            if (grace < until) until = grace;
        }
        struct pollfd pfds[3];
        int n = 0, out_i = -1, err_i = -1, pid_i = -1;
        if (out_fd >= 0) { out_i = n; pfds[n++] = (struct pollfd){.fd = out_fd, .events = POLLIN}; }
        if (err_fd >= 0) { err_i = n; pfds[n++] = (struct pollfd){.fd = err_fd, .events = POLLIN}; }
        if (!exited) { pid_i = n; pfds[n++] = (struct pollfd){.fd = process->pidfd, .events = POLLIN}; }
        int64_t wait = until - now;
        int ready = poll(pfds, (nfds_t)n, wait > 60000 ? 60000 : (int)wait);
        if (ready < 0) {
            if (errno == EINTR) continue;
            outcome->kind = AR_TOOL_FAILED;
            outcome->error = errno;
            rc = -1;
            break;
        }
        if (ready == 0) continue;
        if (out_i >= 0 && pfds[out_i].revents) {
            ssize_t got = read(out_fd, chunk, sizeof chunk);
            if (got > 0) {
                if ((size_t)got > out_cap - out_len) {
                    outcome->kind = AR_TOOL_OUTPUT_LIMIT;
                    break;
                }
                memcpy(out + out_len, chunk, (size_t)got);
                out_len += (size_t)got;
            } else if (got == 0) {
                close(out_fd);
                out_fd = -1;
            } else if (errno != EINTR && errno != EAGAIN) {
                outcome->kind = AR_TOOL_FAILED;
                outcome->error = errno;
                rc = -1;
                break;
            }
        }
        if (err_i >= 0 && pfds[err_i].revents) {
            ssize_t got = read(err_fd, chunk, sizeof chunk);
            if (got > 0) {
                for (ssize_t i = 0; i < got && err_cap > 0; i++) err[(err_total + (uint64_t)i) % err_cap] = chunk[i];
                err_total += (uint64_t)got;
            } else if (got == 0) {
                close(err_fd);
                err_fd = -1;
            } else if (errno != EINTR && errno != EAGAIN) {
                outcome->kind = AR_TOOL_FAILED;
                outcome->error = errno;
                rc = -1;
                break;
            }
        }
        if (pid_i >= 0 && pfds[pid_i].revents) {
            exited = 1;
            /* The leader is a zombie now (not reaped), so its pgid cannot be reused: end the rest
             * of its group, whose output is still in the pipes. */
            ar_tool_signal_group(-1, process->pid, SIGKILL);
            grace = monotonic_ms() + AR_TOOL_GRACE_MS;
        }
    }

    /* Nothing of the tool outlives the call (the leader is still unreaped here). */
    ar_tool_signal_group(process->pidfd, process->pid, SIGKILL);
    int32_t kind = 0, code = 0;
    int reaped = ar_tool_reap(process->pidfd, 0, &kind, &code);
    if (reaped == 1) {
        outcome->status_kind = kind;
        outcome->status_code = code;
    } else if (rc == 0) {
        outcome->kind = AR_TOOL_FAILED;
        outcome->error = reaped < 0 ? -reaped : ECHILD;
        rc = -1;
    }
    close_if_open(out_fd);
    close_if_open(err_fd);
    close_if_open(process->stdin_fd);
    close(process->pidfd);

    outcome->stdout_len = out_len;
    if (err_cap == 0 || err_total <= err_cap) {
        outcome->stderr_len = (size_t)err_total;
    } else {
        /* Rotate the ring so the oldest kept byte comes first. */
        size_t start = (size_t)(err_total % err_cap);
        reverse(err, 0, start);
        reverse(err, start, err_cap);
        reverse(err, 0, err_cap);
        outcome->stderr_len = err_cap;
        outcome->stderr_truncated = 1;
    }
    return rc;
}

int ar_tool_block_sigpipe(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    return rc == 0 ? 0 : -rc;
}

int ar_tool_wake_pipe(int32_t fds[2]) {
    int raw[2];
    if (pipe2(raw, O_CLOEXEC | O_NONBLOCK) != 0) return -errno;
    fds[0] = raw[0];
    fds[1] = raw[1];
    return 0;
}

int ar_tool_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -errno;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    if (fcntl(fd, F_SETFL, flags) != 0) return -errno;
    return 0;
}

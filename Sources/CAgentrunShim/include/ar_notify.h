/*
 * seccomp user notification, for the supervisor's mediation loop (AgentrunSandbox
 * SyscallNotifier.swift). The ioctl request macros of linux/seccomp.h do not import into Swift,
 * and the kernel's struct seccomp_notif may grow: these wrappers size it with
 * SECCOMP_GET_NOTIF_SIZES and hand Swift a fixed copy.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One notification: the calling thread (host tid), the syscall and its raw arguments. */
struct ar_notif {
    uint64_t id;
    uint32_t pid;
    uint32_t flags;
    int32_t nr;
    uint32_t arch;
    uint64_t ip;
    uint64_t args[6];
};

/* 0 when the kernel's notification structures fit the buffers used here, else -errno. */
int ar_notif_check_sizes(void);

/* SECCOMP_IOCTL_NOTIF_SET_FLAGS(SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP), Linux 6.6+: the woken side
 * (caller or supervisor) runs on the waker's CPU, which halves the round trip of a supervisor
 * that answers one call at a time. 0 or -errno (-EINVAL on older kernels: harmless). */
int ar_notif_sync_wakeup(int listener);

/* SECCOMP_IOCTL_NOTIF_RECV: 0, or -errno (-ENOENT: the caller died before it was received). */
int ar_notif_recv(int listener, struct ar_notif *out);

/* SECCOMP_IOCTL_NOTIF_SEND: `error` > 0 fails the call with that errno; `cont` lets the kernel
 * run it (SECCOMP_USER_NOTIF_FLAG_CONTINUE); else the call returns `value`. 0 or -errno. */
int ar_notif_respond(int listener, uint64_t id, int64_t value, int32_t error, int32_t cont);

/* SECCOMP_IOCTL_NOTIF_ID_VALID: 0 while the notification is pending, else -errno. */
int ar_notif_id_valid(int listener, uint64_t id);

/* SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND: installs `fd` in the caller and makes
 * it the syscall's result, atomically. `cloexec` sets O_CLOEXEC on the new descriptor.
 * Returns the descriptor number in the caller, or -errno. */
int ar_notif_addfd_send(int listener, uint64_t id, int fd, int cloexec);

/* Reads up to `len` bytes at `addr` of process `pid` (process_vm_readv). Stops at the first
 * unreadable page: returns the bytes read (possibly fewer), or -errno when none could be. */
ssize_t ar_read_memory(pid_t pid, uint64_t addr, void *buf, size_t len);

/* A NUL-terminated string at `addr`, read page by page: its length (without NUL) when found
 * within `cap` bytes, `cap` when it is longer (buf then holds the first cap bytes), or -errno. */
ssize_t ar_read_string(pid_t pid, uint64_t addr, char *buf, size_t cap);

/* The notifier thread's own filesystem context and credentials for opening files on the
 * agent's behalf: unshare(CLONE_FS), then umask 0, no supplementary groups and the given
 * fsuid/fsgid (raw syscalls: per thread, unlike glibc's broadcasting wrappers). 0 or -errno. */
int ar_notifier_thread_identity(uint32_t fsuid, uint32_t fsgid);

/* openat2 with `resolve` flags; fd or -errno. */
int ar_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

/* epoll_wait returning each event's tag and its EPOLL* bits; count or -errno. */
int ar_epoll_wait_events(int epfd, uint64_t *tags, uint32_t *events, int max, int timeout_ms);

/* open(path, O_PATH | O_CLOEXEC | extra); fd or -errno. */
int ar_open_path(const char *path, int extra_flags);

/* The errno's symbolic name ("ENOTEMPTY"), or NULL for an unknown value (strerrorname_np). */
const char *ar_errno_name(int code);

/* renameat2(2); 0 or -1 with errno. */
int ar_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

/* eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); fd or -errno. */
int ar_eventfd(void);

/* The filesystem type (statfs f_type) of an open file, or -errno. */
int64_t ar_fs_type(int fd);

/* pidfd_open(tid, thread ? PIDFD_THREAD : 0); fd or -errno. */
int ar_pidfd_open_task(int32_t tid, int thread);

#ifdef __cplusplus
}
#endif

/* seccomp user-notification wrappers (see ar_notify.h). */
#define _GNU_SOURCE
#include "ar_notify.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <sys/vfs.h>

/* The kernel's struct seccomp_notif / seccomp_notif_resp may be larger than the headers say;
 * RECV wants a zeroed buffer of the kernel's size. 256 bytes is far above today's 80. */
#define AR_NOTIF_BUF 256

int ar_notif_check_sizes(void) {
    struct seccomp_notif_sizes sizes;
    memset(&sizes, 0, sizeof sizes);
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) return -errno;
    if (sizes.seccomp_notif > AR_NOTIF_BUF || sizes.seccomp_notif < sizeof(struct seccomp_notif)) return -EOVERFLOW;
    if (sizes.seccomp_notif_resp > AR_NOTIF_BUF || sizes.seccomp_notif_resp < sizeof(struct seccomp_notif_resp)) return -EOVERFLOW;
    return 0;
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, uint64_t)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

int ar_notif_sync_wakeup(int listener) {
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0 ? -errno : 0;
}

int ar_notif_recv(int listener, struct ar_notif *out) {
    union {
        struct seccomp_notif n;
        char raw[AR_NOTIF_BUF];
    } buf;
    memset(&buf, 0, sizeof buf);
    int r;
    do {
        r = ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &buf);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    out->id = buf.n.id;
    out->pid = buf.n.pid;
    out->flags = buf.n.flags;
    out->nr = buf.n.data.nr;
    out->arch = buf.n.data.arch;
    out->ip = buf.n.data.instruction_pointer;
    for (int i = 0; i < 6; i++) out->args[i] = buf.n.data.args[i];
    return 0;
}

int ar_notif_respond(int listener, uint64_t id, int64_t value, int32_t error, int32_t cont) {
    union {
        struct seccomp_notif_resp r;
        char raw[AR_NOTIF_BUF];
    } buf;
    memset(&buf, 0, sizeof buf);
    buf.r.id = id;
    if (cont) {
        buf.r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else if (error > 0) {
        buf.r.error = -error;
    } else {
        buf.r.val = value;
    }
    int r;
    do {
        r = ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &buf);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

int ar_notif_id_valid(int listener, uint64_t id) {
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0 ? -errno : 0;
}

int ar_notif_addfd_send(int listener, uint64_t id, int fd, int cloexec) {
    struct seccomp_notif_addfd add;
    memset(&add, 0, sizeof add);
    add.id = id;
    add.flags = SECCOMP_ADDFD_FLAG_SEND;
    add.srcfd = (uint32_t)fd;
    add.newfd = 0;
    add.newfd_flags = cloexec ? O_CLOEXEC : 0;
    int r;
    do {
        r = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

ssize_t ar_read_memory(pid_t pid, uint64_t addr, void *buf, size_t len) {
    struct iovec local = {buf, len};
    struct iovec remote = {(void *)(uintptr_t)addr, len};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return n < 0 ? -errno : n;
}

ssize_t ar_read_string(pid_t pid, uint64_t addr, char *buf, size_t cap) {
    if (addr == 0) return -EFAULT;
    size_t got = 0;
    while (got < cap) {
        uint64_t at = addr + got;
        size_t to_page = 4096 - (size_t)(at & 4095);
        size_t want = cap - got < to_page ? cap - got : to_page;
        ssize_t n = ar_read_memory(pid, at, buf + got, want);
        if (n < 0) return got ? -EFAULT : n;
        if (n == 0) return -EFAULT;
        char *nul = memchr(buf + got, 0, (size_t)n);
        if (nul) return (ssize_t)(nul - buf);
        got += (size_t)n;
        if ((size_t)n < want) return -EFAULT;
    }
    return (ssize_t)cap;
}

int ar_notifier_thread_identity(uint32_t fsuid, uint32_t fsgid) {
    if (syscall(SYS_unshare, CLONE_FS) < 0) return -errno;
    (void)syscall(SYS_umask, 0);
    if (syscall(SYS_getuid) == 0) {
        if (syscall(SYS_setgroups, 0, NULL) < 0) return -errno;
    }
    (void)syscall(SYS_setfsgid, fsgid);
    (void)syscall(SYS_setfsuid, fsuid);
    if ((uint32_t)syscall(SYS_setfsuid, -1) != fsuid) return -EPERM;
    if ((uint32_t)syscall(SYS_setfsgid, -1) != fsgid) return -EPERM;
    return 0;
}

int ar_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
}

int ar_open_path(const char *path, int extra_flags) {
    int fd = open(path, O_PATH | O_CLOEXEC | extra_flags);
    return fd < 0 ? -errno : fd;
}

int ar_eventfd(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int64_t ar_fs_type(int fd) {
    struct statfs fs;
    if (fstatfs(fd, &fs) < 0) return -errno;
    return (int64_t)(uint64_t)fs.f_type;
}

int ar_pidfd_open_task(int32_t tid, int thread) {
    long fd = syscall(SYS_pidfd_open, tid, thread ? O_EXCL : 0);
    return fd < 0 ? -errno : (int)fd;
}

int ar_epoll_wait_events(int epfd, uint64_t *tags, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event buf[8];
    if (max > 8) max = 8;
    int n = epoll_wait(epfd, buf, max, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
        tags[i] = buf[i].data.u64;
        events[i] = buf[i].events;
    }
    return n;
}

int ar_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

const char *ar_errno_name(int code) { return strerrorname_np(code); }

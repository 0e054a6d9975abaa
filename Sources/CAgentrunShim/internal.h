/* Private definitions of the shim: kernel ABI structs that older uapi headers lack. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/mount.h>

#include "agentrun_shim.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#define AR_CLONE_INTO_CGROUP 0x200000000ULL

/* struct clone_args (linux/sched.h), defined here to avoid clashing with glibc's <sched.h>. */
struct ar_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};

/* The kernel's struct sigaction for rt_sigaction(2) on x86_64 (no restorer needed for SIG_DFL). */
struct ar_kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

/* Landlock ABI structs (linux/landlock.h); the size passed selects the ABI's fields. */
struct ar_landlock_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ar_landlock_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

#define AR_LANDLOCK_RULE_PATH_BENEATH 1
/* EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV: the rights that apply to a file. */
#define AR_LANDLOCK_FILE_RIGHTS ((1ULL << 0) | (1ULL << 1) | (1ULL << 2) | (1ULL << 14) | (1ULL << 15))

/* Decimal digits of `v` into `buf` (not NUL-terminated); the length, or -1 when it does not fit.
 * No stdio: async-signal-safe. */
static inline int ar_format_uint(char *buf, size_t len, unsigned int v) {
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < 11);
    if ((size_t)n > len) return -1;
    for (int i = 0; i < n; i++) buf[i] = digits[n - 1 - i];
    return n;
}

/* "/proc/<pid>/<name>" without stdio (async-signal-safe). */
static inline int ar_format_proc_path(char *buf, size_t len, pid_t pid, const char *name) {
    size_t pos = 0;
    for (const char *p = "/proc/"; *p; p++) {
        if (pos + 1 >= len) return -1;
        buf[pos++] = *p;
    }
    int n = ar_format_uint(buf + pos, len - pos - 1, (unsigned int)pid);
    if (n < 0) return -1;
    pos += (size_t)n;
    if (pos + 1 >= len) return -1;
    buf[pos++] = '/';
    for (const char *p = name; *p; p++) {
        if (pos + 1 >= len) return -1;
        buf[pos++] = *p;
    }
    buf[pos] = 0;
    return (int)pos;
}

/* Writes `content` to /proc/<pid>/<name> in one write (uid_map, gid_map, setgroups). 0 or -errno. */
static inline int ar_write_proc(pid_t pid, const char *name, const char *content) {
    char path[64];
    if (ar_format_proc_path(path, sizeof path, pid, name) < 0) return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t len = 0;
    while (content[len]) len++;
    ssize_t n = write(fd, content, len);
    int e = errno;
    close(fd);
    if (n < 0) return -e;
    return (size_t)n == len ? 0 : -EIO;
}

/* AR_MF_* mount flags -> MOUNT_ATTR_* bits. */
static inline unsigned int ar_attr_bits(uint32_t flags) {
    unsigned int a = 0;
    if (flags & AR_MF_RDONLY) a |= MOUNT_ATTR_RDONLY;
    if (flags & AR_MF_NOSUID) a |= MOUNT_ATTR_NOSUID;
    if (flags & AR_MF_NODEV) a |= MOUNT_ATTR_NODEV;
    if (flags & AR_MF_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
    if (flags & AR_MF_NOSYMFOLLOW) a |= MOUNT_ATTR_NOSYMFOLLOW;
    return a;
}

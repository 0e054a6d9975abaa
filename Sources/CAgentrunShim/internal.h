/* Private definitions of the shim: kernel ABI structs that older uapi headers lack. */
#pragma once

#include <stdint.h>
#include <stdio.h>
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

/* "/proc/<pid>/<name>" without stdio (async-signal-safe). */
static inline int ar_format_proc_path(char *buf, size_t len, pid_t pid, const char *name) {
    char digits[16];
    int n = 0;
    unsigned int v = (unsigned int)pid;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < 15);
    size_t pos = 0;
    const char *prefix = "/proc/";
    for (const char *p = prefix; *p; p++) {
        if (pos + 1 >= len) return -1;
        buf[pos++] = *p;
    }
    while (n > 0) {
        if (pos + 1 >= len) return -1;
        buf[pos++] = digits[--n];
    }
    if (pos + 1 >= len) return -1;
    buf[pos++] = '/';
    for (const char *p = name; *p; p++) {
        if (pos + 1 >= len) return -1;
        buf[pos++] = *p;
    }
    buf[pos] = 0;
    return (int)pos;
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

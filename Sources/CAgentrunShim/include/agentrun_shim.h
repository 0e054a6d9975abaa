/*
 * agentrun's C shim: the post-clone child (async-signal-safe, see spawn.c) and thin wrappers of
 * kernel interfaces that Swift's Glibc module does not expose (raw syscalls, macros, prctl, epoll).
 * Everything is prefixed `ar_`. Kernel ABI structs are defined here, never in Swift.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Launch: ar_spawn
 * ------------------------------------------------------------------------------------------- */

/* Stages of the launch, reported with errno when one fails. Keep in sync with LaunchStage.swift. */
enum ar_stage {
    AR_STAGE_NONE = 0,
    AR_STAGE_PIPES = 1,
    AR_STAGE_CLONE = 2,
    AR_STAGE_SETGROUPS_DENY = 3,
    AR_STAGE_UID_MAP = 4,
    AR_STAGE_GID_MAP = 5,
    AR_STAGE_SYNC = 6,
    AR_STAGE_PDEATHSIG = 7,
    AR_STAGE_IDENTITY = 8,
    AR_STAGE_MOUNT_PRIVATE = 9,
    AR_STAGE_MOUNT_SOURCE = 10, /* index = mount op */
    AR_STAGE_STAGING = 11,
    AR_STAGE_MOUNT = 12,        /* index = mount op */
    AR_STAGE_PIVOT_ROOT = 13,
    AR_STAGE_HOSTNAME = 14,
    AR_STAGE_LOOPBACK = 15,
    AR_STAGE_SETSID = 16,
    AR_STAGE_RLIMIT = 17,       /* index = rlimit */
    AR_STAGE_FORK_AGENT = 18,
    AR_STAGE_STDIO = 19,
    AR_STAGE_CHDIR = 20,
    AR_STAGE_SECUREBITS = 21,
    AR_STAGE_CAPABILITIES = 22,
    AR_STAGE_NO_NEW_PRIVS = 23,
    AR_STAGE_LANDLOCK = 24,     /* index = rule, or -1 for ruleset creation / restrict_self */
    AR_STAGE_SECCOMP = 25,
    AR_STAGE_EXEC = 26,
    AR_STAGE_DUMPABLE = 27,
    AR_STAGE_CLOSE_FDS = 28,
    AR_STAGE_PTY = 29,
    AR_STAGE_CGROUP = 30,       /* index = cgroup.procs fd */
    AR_STAGE_NOTIFY = 31,       /* the mediation filter's listener: index 0 install, 1 hand-off, 2 supervisor */
};

/* Mount operations, executed in order inside a fresh tmpfs that becomes `/`. */
enum ar_mount_kind {
    AR_MOUNT_DIR = 1,      /* mkdir -p target (mode) */
    AR_MOUNT_BIND = 2,     /* bind host `source` (resolved without symlinks) at `target` */
    AR_MOUNT_BIND_FD = 3,  /* attach the detached mount tree `fd` (e.g. an idmapped workspace) at `target` */
    AR_MOUNT_TMPFS = 4,    /* new tmpfs at `target`; `data` = options such as "size=1073741824,mode=1777" */
    AR_MOUNT_PROC = 5,     /* new procfs of the sandbox's pid namespace at `target` */
    AR_MOUNT_DEVPTS = 6,   /* new devpts instance at `target` */
    AR_MOUNT_SYMLINK = 7,  /* symlink `target` -> `source` */
    AR_MOUNT_FILE = 8,     /* create file `target` with `data` (data_len bytes), `mode` */
    AR_MOUNT_SETATTR = 9,  /* change attributes of the mount at `target` (e.g. make `/` read-only at the end) */
    AR_MOUNT_REBIND = 10,  /* bind `target` (inside the new root, symlinks refused) onto itself */
    AR_MOUNT_MQUEUE = 11,  /* new mqueue fs of the sandbox's ipc namespace at `target` */
    AR_MOUNT_SOCKET = 12,  /* a listening AF_UNIX stream socket bound at `target` (chmod `mode`), sent
                            * over the socket `fd` (SCM_RIGHTS) to the supervisor, which serves it */
};

/* Mount op flags. */
#define AR_MF_RDONLY      0x0001u /* MOUNT_ATTR_RDONLY */
#define AR_MF_NOSUID      0x0002u
#define AR_MF_NODEV       0x0004u
#define AR_MF_NOEXEC      0x0008u
#define AR_MF_RECURSIVE   0x0010u /* clone and set attributes on the whole tree below the source */
#define AR_MF_CREATE      0x0020u /* create the mount point (dir or empty file) if missing */
#define AR_MF_DIR         0x0040u /* the mount point to create is a directory */
#define AR_MF_ON_SYMLINK  0x0080u /* the target's last component is a symlink: mount over the link itself */
#define AR_MF_OPTIONAL    0x0100u /* skip silently when the source does not exist */
#define AR_MF_NOSYMFOLLOW 0x0200u

struct ar_mount_op {
    uint32_t kind;
    uint32_t flags;
    const char *source; /* absolute host path (BIND), link text (SYMLINK) */
    const char *target; /* path inside the new root, absolute, canonical */
    const char *data;   /* tmpfs options (NUL-terminated) or file content (data_len bytes) */
    size_t data_len;
    uint32_t mode;
    int32_t fd;         /* BIND_FD */
};

struct ar_rlimit {
    int32_t resource;
    uint64_t soft;
    uint64_t hard;
};

struct ar_landlock_rule {
    const char *path;   /* inside the sandbox, opened O_PATH after pivot_root */
    uint64_t access;    /* LANDLOCK_ACCESS_FS_* for path_beneath */
    int32_t optional;   /* skip when the path does not exist */
};

struct ar_spawn_config {
    uint64_t clone_flags;          /* CLONE_NEW* */
    int32_t cgroup_fd;             /* >= 0: CLONE_INTO_CGROUP (cgroup v2) */
    /* cgroup v1: `cgroup.procs` files the parent writes the init's pid into before it starts. */
    const int32_t *cgroup_procs_fds;
    size_t n_cgroup_procs_fds;

    /* Identity: the parent writes the maps; the child switches to uid/gid inside. */
    const char *uid_map;
    const char *gid_map;
    int32_t deny_setgroups;        /* unprivileged parent: write "deny" to setgroups first */
    uint32_t uid;
    uint32_t gid;
    int32_t clear_groups;          /* setgroups(0, NULL) in the child (needs setgroups allowed) */

    /* Mount view. */
    const char *staging;           /* an existing host directory to build the new root on */
    const struct ar_mount_op *mounts;
    size_t n_mounts;

    const char *hostname;          /* NULL: leave */
    int32_t loopback_up;

    /* The agent's process. */
    const char *cwd;
    const struct ar_rlimit *rlimits;
    size_t n_rlimits;
    int32_t last_cap;              /* highest capability number the kernel knows */
    uint32_t securebits;

    int32_t landlock_abi;          /* 0: no Landlock */
    uint64_t landlock_handled_fs;
    uint64_t landlock_handled_net;
    uint64_t landlock_scoped;
    const struct ar_landlock_rule *landlock_rules;
    size_t n_landlock_rules;

    /* Up to two stacked filters (struct sock_filter[]); lengths in instructions, 0 = absent. */
    const void *seccomp_bpf;
    size_t seccomp_bpf_len;
    const void *seccomp_bpf2;
    size_t seccomp_bpf2_len;

    /* Syscall mediation: a third filter whose SECCOMP_RET_USER_NOTIF answers go to the
     * supervisor. The agent installs it with a listener and sends the listener over
     * notify_socket; ar_spawn receives it on notify_socket_parent and calls on_listener (which
     * owns the fd from then on and must be serving notifications when it returns: the agent's
     * own execve may be mediated) before it waits for the agent's execve. */
    const void *seccomp_notify_bpf;
    size_t seccomp_notify_bpf_len;
    int32_t notify_socket;
    int32_t notify_socket_parent;
    int (*on_listener)(int listener, int init_pidfd, void *context); /* 0, or -errno to abort the launch; init_pidfd stays ar_spawn's */
    void *on_listener_context;

    /* Terminal: when pty_socket >= 0, init opens a pty in the sandbox's devpts, sends the master
     * to the supervisor over pty_socket (SCM_RIGHTS), and the agent gets the slave as its
     * controlling terminal on the fds in pty_fds (bit 0 = stdin, 1 = stdout, 2 = stderr). */
    int32_t pty_socket;            /* the child's end */
    int32_t pty_socket_parent;     /* the supervisor's end, on which ar_spawn receives the master */
    uint32_t pty_fds;
    uint16_t pty_rows;
    uint16_t pty_cols;

    const char *const *exec_candidates; /* absolute paths tried in order (PATH search done in Swift) */
    size_t n_exec_candidates;
    char *const *argv;
    char *const *envp;

    /* The supervisor's own argv strings: init (a copy of the supervisor that never execs)
     * overwrites its copy so /proc/1/cmdline inside shows "agentrun-init", not agentrun's
     * command line. NULL to leave it. */
    char *argv_area;
    size_t argv_area_len;
};

struct ar_spawn_error {
    int32_t stage;
    int32_t err;
    int32_t index;
};

struct ar_spawn_result {
    pid_t pid;          /* the sandbox's init, pid 1 inside, as seen from the host */
    int32_t pidfd;      /* of the init */
    int32_t status_fd;  /* read end: the init writes the agent's wait status (int) before it exits */
    int32_t pty_master; /* the sandbox pty's master, or -1 */
    struct ar_spawn_error error;
};

/*
 * Starts the sandbox. Returns 0 with `result` filled, or -1 with `result->error` set and every
 * resource released (the child, if created, is killed and reaped).
 * Must be called from a thread that outlives the sandbox: PR_SET_PDEATHSIG fires when the
 * creating *thread* exits. agentrun calls it from the main thread.
 */
int ar_spawn(const struct ar_spawn_config *config, struct ar_spawn_result *result);

/* Receives one fd sent with SCM_RIGHTS (non-blocking: it must already be queued); fd or -errno. */
int ar_receive_fd(int sock);

/*
 * Creates a user namespace with the given maps and returns an fd to it (for idmapped mounts),
 * or -errno. Forks a short-lived child in C; the caller's threads are not touched.
 */
int ar_userns_fd(const char *uid_map, const char *gid_map);

/* Detached clone of `path` idmapped through `userns_fd`, with the AR_MF_* attributes in `flags`
 * (open_tree + mount_setattr); fd or -errno. */
int ar_idmapped_tree(const char *path, int userns_fd, uint32_t flags, int recursive);

/* Probes: fork a child into new namespaces (flags), optionally as the given map, then exit.
 * Returns 0 or -errno (the errno of the first failing step). */
int ar_probe_namespaces(uint64_t clone_flags, int write_maps);

/* ---------------------------------------------------------------------------------------------
 * Thin wrappers
 * ------------------------------------------------------------------------------------------- */

int ar_landlock_abi(void);                            /* ABI version, or -errno */
int ar_pidfd_send_signal(int pidfd, int sig);         /* 0 or -errno */
int ar_pidfd_wait(int pidfd, int *status_code, int *status_kind, int nohang); /* waitid(P_PIDFD): 1 exited, 0 not yet, -errno */

/* Resource usage of a reaped child and everything it waited for (the whole sandbox). */
struct ar_rusage {
    uint64_t utime_ns;
    uint64_t stime_ns;
    uint64_t maxrss_kb;
};
/* waitid(P_PIDFD) that also returns the child's rusage (the raw syscall has that 5th argument). */
int ar_pidfd_wait_rusage(int pidfd, int *status_code, int *status_kind, struct ar_rusage *usage);
int ar_memfd(const char *name);                       /* memfd_create(MFD_CLOEXEC) */

/* Signals: block a set in the calling thread (the mask is inherited by threads created later). */
int ar_block_signals(const int *signals, size_t count);
int ar_signalfd(const int *signals, size_t count);    /* CLOEXEC|NONBLOCK signalfd for the set */
int ar_signalfd_read(int fd);                          /* next signal number, 0 if none, -errno */

/* epoll/timerfd, for the supervisor's wait loop on its own (main) thread. */
int ar_epoll_create(void);
int ar_epoll_add(int epfd, int fd, uint64_t tag);
int ar_epoll_del(int epfd, int fd);
int ar_epoll_wait(int epfd, uint64_t *tags, int max, int timeout_ms); /* count or -errno */
int ar_timerfd_oneshot(double seconds);               /* CLOCK_MONOTONIC, CLOEXEC|NONBLOCK */
int ar_timerfd_rearm(int fd, double seconds);

/* Wait status decoding (macros in C). */
int ar_wifexited(int status);
int ar_wexitstatus(int status);
int ar_wifsignaled(int status);
int ar_wtermsig(int status);

/* Terminal helpers for the pty relay. */
int ar_isatty(int fd);
int ar_term_raw(int fd, void *saved, size_t saved_len); /* saves termios into `saved`, sets raw mode */
int ar_term_restore(int fd, const void *saved, size_t saved_len);
size_t ar_termios_size(void);
int ar_winsize(int fd, uint16_t *rows, uint16_t *cols);
int ar_set_winsize(int fd, uint16_t rows, uint16_t cols);
int ar_socketpair_cloexec(int fds[2]);
int ar_set_nonblocking(int fd);

/* 1 when `path` is the root of a cgroup2 filesystem (statfs magic), else 0. */
int ar_is_cgroup2(const char *path);
/* 1 when `path` is the root of a cgroup v1 hierarchy (statfs magic), else 0. */
int ar_is_cgroup1(const char *path);


#ifdef __cplusplus
}
#endif

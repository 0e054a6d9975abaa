/*
 * ar_spawn: the only place agentrun forks.
 *
 * The supervisor is multithreaded (Swift), so after clone3 the child may only make
 * async-signal-safe calls: raw syscalls, no malloc, no stdio, no glibc wrappers that take
 * locks or broadcast to threads (setresuid & co. do: glibc signals every thread it knows about,
 * and the copied thread list is stale in the child). Every step that can fail reports
 * {stage, errno, index} on a close-on-exec pipe and exits.
 *
 * Process tree inside the sandbox:
 *   init (pid 1): builds the mount view, then forks the agent, forwards signals to it,
 *                 reaps orphans and reports the agent's wait status on a pipe. When init exits,
 *                 the kernel kills everything left in the pid namespace.
 *   agent (pid 2): new session, fds, capabilities dropped, no_new_privs, Landlock, seccomp, execve.
 */
#include "agentrun_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#include "internal.h"

#define AR_MAX_MOUNTS 1024

/* ---------------------------------------------------------------------------------------------
 * Child helpers (async-signal-safe)
 * ------------------------------------------------------------------------------------------- */

static void ar_fail(int errfd, int stage, int err, int index) {
    struct ar_spawn_error e = {stage, err, index};
    ssize_t n;
    do {
        n = write(errfd, &e, sizeof e);
    } while (n < 0 && errno == EINTR);
    _exit(125);
}

/* Reset every catchable signal to its default disposition (SIG_IGN survives execve otherwise). */
static void ar_reset_signal_dispositions(void) {
    struct ar_kernel_sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.handler = SIG_DFL;
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)syscall(SYS_rt_sigaction, sig, &sa, NULL, 8);
    }
}

static int ar_set_mask(int how, uint64_t mask) {
    return (int)syscall(SYS_rt_sigprocmask, how, &mask, NULL, 8);
}

static size_t ar_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* Resolve `path` (absolute, inside the new root) beneath rootfd with no symlinks anywhere,
 * except that the last component may itself be a symlink when `allow_final_symlink`.
 * Returns an O_PATH fd or -errno. */
static int ar_open_beneath(int rootfd, const char *path, int allow_final_symlink) {
    while (*path == '/') path++;
    if (*path == 0) {
        int fd = (int)syscall(SYS_fcntl, rootfd, F_DUPFD_CLOEXEC, 3);
        return fd < 0 ? -errno : fd;
    }
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
    int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd < 0) return -errno;
    if (!allow_final_symlink) {
        struct stat st;
        if (fstat(fd, &st) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (S_ISLNK(st.st_mode)) {
            close(fd);
            return -ELOOP;
        }
    }
    return fd;
}

/* Host path -> O_PATH fd, refusing symlinks in every component (sources are canonical). */
static int ar_open_host(const char *path, int allow_final_symlink) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd < 0) return -errno;
    if (!allow_final_symlink) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
            close(fd);
            return -ELOOP;
        }
    }
    return fd;
}

/* mkdir -p beneath rootfd, one component at a time, never following symlinks.
 * Returns an O_PATH fd of the final directory, or -errno. */
static int ar_mkdir_p(int rootfd, const char *path, mode_t mode) {
    char buf[4096];
    size_t len = ar_strlen(path);
    if (len >= sizeof buf) return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);

    int dirfd = (int)syscall(SYS_fcntl, rootfd, F_DUPFD_CLOEXEC, 3);
    if (dirfd < 0) return -errno;
    char *p = buf;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        char *end = p;
        while (*end && *end != '/') end++;
        char saved = *end;
        *end = 0;

        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY;
        how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
        int next = (int)syscall(SYS_openat2, dirfd, p, &how, sizeof how);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(dirfd, p, mode) < 0 && errno != EEXIST) {
                int e = errno;
                close(dirfd);
                return -e;
            }
            next = (int)syscall(SYS_openat2, dirfd, p, &how, sizeof how);
        }
        if (next < 0) {
            int e = errno;
            close(dirfd);
            return -e;
        }
        close(dirfd);
        dirfd = next;
        *end = saved;
        p = end;
    }
    return dirfd;
}

/* Split "/a/b/c" into the parent fd (created with mkdir -p) and the last component. */
static int ar_parent_of(int rootfd, const char *path, const char **name, char *scratch, size_t scratch_len) {
    size_t len = ar_strlen(path);
    if (len >= scratch_len) return -ENAMETOOLONG;
    memcpy(scratch, path, len + 1);
    while (len > 1 && scratch[len - 1] == '/') scratch[--len] = 0;
    char *slash = NULL;
    for (size_t i = 0; i < len; i++)
        if (scratch[i] == '/') slash = &scratch[i];
    if (!slash) {
        *name = scratch;
        return (int)syscall(SYS_fcntl, rootfd, F_DUPFD_CLOEXEC, 3);
    }
    *slash = 0;
    *name = slash + 1;
    if (**name == 0) return -EINVAL;
    return ar_mkdir_p(rootfd, scratch, 0755);
}

static int ar_write_all(int fd, const char *data, size_t len);

/* Make sure a mount point exists at `path`: a directory, or a file (empty, or holding `data`). */
static int ar_ensure_mountpoint_with(int rootfd, const char *path, int is_dir, const char *data, size_t data_len) {
    if (is_dir) {
        int fd = ar_mkdir_p(rootfd, path, 0755);
        if (fd < 0) return fd;
        close(fd);
        return 0;
    }
    char scratch[4096];
    const char *name;
    int parent = ar_parent_of(rootfd, path, &name, scratch, sizeof scratch);
    if (parent < 0) return parent;
    /* O_PATH parent fds cannot be used with openat(O_CREAT); reopen it as a directory. */
    int dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(parent);
    if (dir < 0) return -errno;
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    int e = errno;
    close(dir);
    if (fd < 0) return e == EEXIST ? 0 : -e;
    int r = data_len > 0 ? ar_write_all(fd, data, data_len) : 0;
    close(fd);
    return r;
}

static int ar_ensure_mountpoint(int rootfd, const char *path, int is_dir) {
    return ar_ensure_mountpoint_with(rootfd, path, is_dir, NULL, 0);
}

static int ar_set_tree_attrs(int treefd, uint32_t flags, int recursive) {
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = ar_attr_bits(flags);
    attr.propagation = MS_PRIVATE;
    unsigned int at = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    if (syscall(SYS_mount_setattr, treefd, "", at, &attr, sizeof attr) < 0) return -errno;
    return 0;
}

static int ar_clone_tree(int srcfd, int recursive) {
    unsigned int f = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    int fd = (int)syscall(SYS_open_tree, srcfd, "", f);
    return fd < 0 ? -errno : fd;
}

static int ar_attach(int treefd, int targetfd) {
    if (syscall(SYS_move_mount, treefd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return -errno;
    return 0;
}

/* fsopen + fsconfig("k=v,k=v") + fsmount: a new detached filesystem mount. */
static int ar_new_fs(const char *type, const char *options, uint32_t flags) {
    int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
    if (fs < 0) return -errno;
    char key[128], value[256];
    const char *p = options;
    while (p && *p) {
        size_t k = 0, v = 0;
        while (*p && *p != '=' && *p != ',' && k + 1 < sizeof key) key[k++] = *p++;
        key[k] = 0;
        int has_value = 0;
        if (*p == '=') {
            has_value = 1;
            p++;
            while (*p && *p != ',' && v + 1 < sizeof value) value[v++] = *p++;
        }
        value[v] = 0;
        if (*p == ',') p++;
        if (k == 0) continue;
        long r = has_value ? syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value, 0)
                           : syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, key, NULL, 0);
        if (r < 0) {
            int e = errno;
            close(fs);
            return -e;
        }
    }
    if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        int e = errno;
        close(fs);
        return -e;
    }
    int m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, ar_attr_bits(flags));
    int e = errno;
    close(fs);
    return m < 0 ? -e : m;
}

static int ar_write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Mount view
 * ------------------------------------------------------------------------------------------- */

/* Phase 1, before the staging tmpfs hides anything: clone every host source into a detached tree. */
static void ar_prepare_sources(const struct ar_spawn_config *c, int *trees, int errfd) {
    for (size_t i = 0; i < c->n_mounts; i++) {
        const struct ar_mount_op *op = &c->mounts[i];
        trees[i] = -1;
        if (op->kind != AR_MOUNT_BIND) continue;
        int src = ar_open_host(op->source, 0);
        if (src == -ENOENT && (op->flags & AR_MF_OPTIONAL)) continue;
        if (src < 0) ar_fail(errfd, AR_STAGE_MOUNT_SOURCE, -src, (int)i);
        int tree = ar_clone_tree(src, 1);
        close(src);
        if (tree < 0) ar_fail(errfd, AR_STAGE_MOUNT_SOURCE, -tree, (int)i);
        int r = ar_set_tree_attrs(tree, op->flags, 1);
        if (r < 0) ar_fail(errfd, AR_STAGE_MOUNT_SOURCE, -r, (int)i);
        trees[i] = tree;
    }
}

static int ar_tree_is_dir(int tree) {
    struct stat st;
    if (fstat(tree, &st) < 0) return 1;
    return S_ISDIR(st.st_mode);
}

/* Sends `fd` over the Unix socket `sock` with one data byte (SCM_RIGHTS). */
static int ar_send_fd(int sock, int fd) {
    char byte = 'f';
    struct iovec iov = {&byte, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : (n < 0 ? -errno : -EIO);
}

/* The broker's socket: created by init inside the sandbox (so its path exists only in the
 * sandbox's mount namespace), bound in the directory `dir` through a relative name after a
 * fchdir (bind(2) takes no dirfd), made accessible to the agent's uid only, listening, and
 * handed to the supervisor, which alone accepts on it. The cwd is reset by pivot_root later.
 * Runs before pivot_root, so /proc is still the host's (where /proc/self is this process). */
static int ar_listen_and_send(int dir, const char *name, mode_t mode, int handoff) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = ar_strlen(name);
    if (len == 0 || len >= sizeof addr.sun_path) return -ENAMETOOLONG;
    memcpy(addr.sun_path, name, len);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    int r = 0;
    if (fchdir(dir) < 0 || bind(s, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1)) < 0 ||
        fchmodat(dir, name, mode, 0) < 0 || listen(s, 512) < 0) {
        r = -errno;
    } else {
        r = ar_send_fd(handoff, s);
    }
    close(s);
    /* Then init's own pid namespace, so the supervisor learns which peers are "this run" without
     * reading /proc/<init>/ns (init is non-dumpable: an unprivileged supervisor may not). */
    if (r == 0) {
        int ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (ns < 0) return -errno;
        r = ar_send_fd(handoff, ns);
        close(ns);
    }
    return r;
}

static int ar_do_mount_op(const struct ar_spawn_config *c, size_t i, int rootfd, int *trees) {
    const struct ar_mount_op *op = &c->mounts[i];
    int r = 0;
    switch (op->kind) {
    case AR_MOUNT_DIR: {
        int fd = ar_mkdir_p(rootfd, op->target, op->mode ? op->mode : 0755);
        if (fd < 0) return fd;
        close(fd);
        return 0;
    }
    case AR_MOUNT_BIND:
    case AR_MOUNT_BIND_FD: {
        int tree = op->kind == AR_MOUNT_BIND ? trees[i] : op->fd;
        if (tree < 0) return op->kind == AR_MOUNT_BIND ? 0 : -EBADF; /* optional source absent */
        if ((op->flags & AR_MF_OPTIONAL) && op->kind == AR_MOUNT_BIND) {
            int probe = ar_open_beneath(rootfd, op->target, 0);
            if (probe == -ENOENT && !(op->flags & AR_MF_CREATE)) return 0;
            if (probe >= 0) close(probe);
        }
        if (op->flags & AR_MF_CREATE) {
            r = ar_ensure_mountpoint(rootfd, op->target, ar_tree_is_dir(tree));
            if (r < 0) return r;
        }
        int target = ar_open_beneath(rootfd, op->target, 0);
        if (target < 0) return target;
        r = ar_attach(tree, target);
        close(target);
        return r;
    }
    case AR_MOUNT_REBIND: {
        int exists = ar_open_beneath(rootfd, op->target, (op->flags & AR_MF_ON_SYMLINK) != 0);
        if (exists == -ENOENT && (op->flags & AR_MF_CREATE)) {
            r = ar_ensure_mountpoint_with(rootfd, op->target, (op->flags & AR_MF_DIR) != 0, op->data, op->data_len);
            if (r < 0) return r;
            exists = ar_open_beneath(rootfd, op->target, 0);
        }
        if (exists == -ENOENT && (op->flags & AR_MF_OPTIONAL)) return 0;
        if (exists < 0) return exists;
        int tree = ar_clone_tree(exists, 1);
        if (tree < 0) {
            close(exists);
            return tree;
        }
        r = ar_set_tree_attrs(tree, op->flags, 1);
        if (r == 0) r = ar_attach(tree, exists);
        close(tree);
        close(exists);
        return r;
    }
    case AR_MOUNT_TMPFS:
    case AR_MOUNT_PROC:
    case AR_MOUNT_DEVPTS:
    case AR_MOUNT_MQUEUE: {
        const char *type = op->kind == AR_MOUNT_TMPFS    ? "tmpfs"
                           : op->kind == AR_MOUNT_PROC   ? "proc"
                           : op->kind == AR_MOUNT_DEVPTS ? "devpts"
                                                         : "mqueue";
        int fd;
        if (op->flags & AR_MF_OPTIONAL) {
            /* Masking an entry that may not exist (e.g. in procfs): never create it. */
            fd = ar_open_beneath(rootfd, op->target, 0);
            if (fd == -ENOENT) return 0;
        } else {
            fd = ar_mkdir_p(rootfd, op->target, 0755);
        }
        if (fd < 0) return fd;
        int m = ar_new_fs(type, op->data, op->flags);
        if (m < 0) {
            close(fd);
            return m;
        }
        r = ar_attach(m, fd);
        close(m);
        close(fd);
        return r;
    }
    case AR_MOUNT_SYMLINK:
    case AR_MOUNT_FILE: {
        char scratch[4096];
        const char *name;
        int parent = ar_parent_of(rootfd, op->target, &name, scratch, sizeof scratch);
        if (parent < 0) return parent;
        int dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(parent);
        if (dir < 0) return -errno;
        if (op->kind == AR_MOUNT_SYMLINK) {
            r = symlinkat(op->source, dir, name) < 0 ? -errno : 0;
        } else {
            int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, op->mode ? op->mode : 0644);
            if (fd < 0) {
                r = -errno;
            } else {
                r = ar_write_all(fd, op->data, op->data_len);
                close(fd);
            }
        }
        close(dir);
        return r;
    }
    case AR_MOUNT_SOCKET: {
        char scratch[4096];
        const char *name;
        int parent = ar_parent_of(rootfd, op->target, &name, scratch, sizeof scratch);
        if (parent < 0) return parent;
        int dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(parent);
        if (dir < 0) return -errno;
        r = ar_listen_and_send(dir, name, op->mode ? op->mode : 0600, op->fd);
        close(dir);
        return r;
    }
    case AR_MOUNT_SETATTR: {
        int fd = ar_open_beneath(rootfd, op->target, 0);
        if (fd < 0) return (fd == -ENOENT && (op->flags & AR_MF_OPTIONAL)) ? 0 : fd;
        r = ar_set_tree_attrs(fd, op->flags, (op->flags & AR_MF_RECURSIVE) != 0);
        close(fd);
        return r;
    }
    default:
        return -EINVAL;
    }
}

static void ar_build_root(const struct ar_spawn_config *c, int errfd) {
    static int trees[AR_MAX_MOUNTS]; /* the child has its own copy of the address space */

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) ar_fail(errfd, AR_STAGE_MOUNT_PRIVATE, errno, -1);

    ar_prepare_sources(c, trees, errfd);

    if (mount("tmpfs", c->staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") < 0)
        ar_fail(errfd, AR_STAGE_STAGING, errno, -1);
    int rootfd = open(c->staging, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (rootfd < 0) ar_fail(errfd, AR_STAGE_STAGING, errno, -1);

    for (size_t i = 0; i < c->n_mounts; i++) {
        int r = ar_do_mount_op(c, i, rootfd, trees);
        if (r < 0) ar_fail(errfd, AR_STAGE_MOUNT, -r, (int)i);
        if (c->mounts[i].kind == AR_MOUNT_BIND && trees[i] >= 0) {
            close(trees[i]);
            trees[i] = -1;
        }
    }

    if (fchdir(rootfd) < 0) ar_fail(errfd, AR_STAGE_PIVOT_ROOT, errno, -1);
    if (syscall(SYS_pivot_root, ".", ".") < 0) ar_fail(errfd, AR_STAGE_PIVOT_ROOT, errno, -1);
    if (umount2(".", MNT_DETACH) < 0) ar_fail(errfd, AR_STAGE_PIVOT_ROOT, errno, -1);
    if (chdir("/") < 0) ar_fail(errfd, AR_STAGE_PIVOT_ROOT, errno, -1);
    close(rootfd);
}

/* ---------------------------------------------------------------------------------------------
 * Privileges
 * ------------------------------------------------------------------------------------------- */

static int ar_drop_capabilities(const struct ar_spawn_config *c, int set_securebits) {
    if (set_securebits && c->securebits && prctl(PR_SET_SECUREBITS, (unsigned long)c->securebits, 0, 0, 0) < 0)
        return -(AR_STAGE_SECUREBITS << 16 | errno);
    for (int cap = 0; cap <= c->last_cap; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return -(AR_STAGE_CAPABILITIES << 16 | errno);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -(AR_STAGE_CAPABILITIES << 16 | errno);
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) < 0) return -(AR_STAGE_CAPABILITIES << 16 | errno);
    return 0;
}

static void ar_fail_packed(int errfd, int packed) {
    int v = -packed;
    ar_fail(errfd, v >> 16, v & 0xffff, -1);
}

static void ar_landlock(const struct ar_spawn_config *c, int errfd) {
    if (c->landlock_abi <= 0) return;
    struct ar_landlock_ruleset_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.handled_access_fs = c->landlock_handled_fs;
    attr.handled_access_net = c->landlock_handled_net;
    attr.scoped = c->landlock_scoped;
    size_t size = c->landlock_abi >= 6 ? 24 : c->landlock_abi >= 4 ? 16 : 8;
    int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (rs < 0) ar_fail(errfd, AR_STAGE_LANDLOCK, errno, -1);
    for (size_t i = 0; i < c->n_landlock_rules; i++) {
        const struct ar_landlock_rule *rule = &c->landlock_rules[i];
        int fd = open(rule->path, O_PATH | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT && rule->optional) continue;
            ar_fail(errfd, AR_STAGE_LANDLOCK, errno, (int)i);
        }
        struct ar_landlock_path_beneath_attr pb;
        memset(&pb, 0, sizeof pb);
        pb.allowed_access = rule->access;
        pb.parent_fd = fd;
        struct stat st;
        if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
            /* Only file rights apply to a non-directory. */
            pb.allowed_access &= AR_LANDLOCK_FILE_RIGHTS;
        }
        if (syscall(SYS_landlock_add_rule, rs, AR_LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
            ar_fail(errfd, AR_STAGE_LANDLOCK, errno, (int)i);
        close(fd);
    }
    if (syscall(SYS_landlock_restrict_self, rs, 0) < 0) ar_fail(errfd, AR_STAGE_LANDLOCK, errno, -1);
    close(rs);
}

/* ---------------------------------------------------------------------------------------------
 * The agent (pid 2)
 * ------------------------------------------------------------------------------------------- */

static void ar_agent_main(const struct ar_spawn_config *c, int errfd, mode_t umask_saved, const char *pty_path) {
    if (ar_set_mask(SIG_SETMASK, 0) < 0) ar_fail(errfd, AR_STAGE_SETSID, errno, -1);
    /* A new session without a controlling terminal: TIOCSTI into the host terminal is impossible
     * (it needs the terminal to be the caller's controlling tty), on top of the seccomp rule. */
    if (syscall(SYS_setsid) < 0) ar_fail(errfd, AR_STAGE_SETSID, errno, -1);

    /* The sandbox's own pty becomes the controlling terminal: opened by a session leader without
     * O_NOCTTY. The host terminal is never the agent's (the supervisor relays bytes). */
    if (pty_path && pty_path[0]) {
        int slave = open(pty_path, O_RDWR | O_CLOEXEC);
        if (slave < 0) ar_fail(errfd, AR_STAGE_PTY, errno, 1);
        if (ioctl(slave, TIOCSCTTY, 0) < 0) ar_fail(errfd, AR_STAGE_PTY, errno, 2);
        for (int fd = 0; fd < 3; fd++) {
            if ((c->pty_fds & (1u << fd)) && dup2(slave, fd) < 0) ar_fail(errfd, AR_STAGE_PTY, errno, 3);
        }
        if (slave > 2) close(slave);
    }

    /* Only 0, 1, 2 survive execve; everything else (including errfd) is close-on-exec. */
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        for (int fd = 3; fd < 65536; fd++)
            if (fd != errfd) (void)syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
    }
    if (c->cwd && chdir(c->cwd) < 0) ar_fail(errfd, AR_STAGE_CHDIR, errno, -1);

    int r = ar_drop_capabilities(c, 1);
    if (r < 0) ar_fail_packed(errfd, r);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ar_fail(errfd, AR_STAGE_NO_NEW_PRIVS, errno, -1);
    ar_landlock(c, errfd);
    umask(umask_saved);

    const void *programs[2] = {c->seccomp_bpf, c->seccomp_bpf2};
    size_t lengths[2] = {c->seccomp_bpf_len, c->seccomp_bpf2_len};
    for (int i = 0; i < 2; i++) {
        if (!programs[i] || lengths[i] == 0) continue;
        struct sock_fprog prog;
        prog.len = (unsigned short)lengths[i];
        prog.filter = (struct sock_filter *)programs[i];
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) ar_fail(errfd, AR_STAGE_SECCOMP, errno, i);
    }
    /* The mediation filter last: from here on the supervisor answers the mediated calls, so
     * the listener goes out at once (sendmsg is never mediated) and the supervisor is serving
     * before our execve, which may be mediated too. A killable wait: a notified caller that
     * gets SIGKILL dies even if the supervisor never answers. */
    if (c->seccomp_notify_bpf && c->seccomp_notify_bpf_len > 0) {
        struct sock_fprog prog;
        prog.len = (unsigned short)c->seccomp_notify_bpf_len;
        prog.filter = (struct sock_filter *)c->seccomp_notify_bpf;
        long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
        if (listener < 0 && errno == EINVAL)
            listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
        if (listener < 0) ar_fail(errfd, AR_STAGE_NOTIFY, errno, 0);
        int sent = ar_send_fd(c->notify_socket, (int)listener);
        if (sent < 0) ar_fail(errfd, AR_STAGE_NOTIFY, -sent, 1);
        close((int)listener);
        close(c->notify_socket);
    }

    int first_error = ENOENT, saw_eacces = 0;
    for (size_t i = 0; i < c->n_exec_candidates; i++) {
        /* Under mediation every execve is a record: skip the PATH entries that do not exist. */
        if (c->seccomp_notify_bpf && i + 1 < c->n_exec_candidates && syscall(SYS_faccessat, AT_FDCWD, c->exec_candidates[i], F_OK, 0) < 0 &&
            (errno == ENOENT || errno == ENOTDIR))
            continue;
        syscall(SYS_execve, c->exec_candidates[i], c->argv, c->envp);
        int e = errno;
        if (e == EACCES) {
            saw_eacces = 1;
            continue;
        }
        if (e == ENOENT || e == ENOTDIR) continue;
        first_error = e;
        break;
    }
    ar_fail(errfd, AR_STAGE_EXEC, saw_eacces && first_error == ENOENT ? EACCES : first_error, -1);
}

struct ar_agent_args {
    const struct ar_spawn_config *config;
    int errfd;
    int statusfd;
    mode_t umask;
    const char *pty_path;
};

static int ar_agent_entry(void *arg) {
    struct ar_agent_args *a = arg;
    close(a->statusfd); /* our own fd table: CLONE_FILES is not shared */
    ar_agent_main(a->config, a->errfd, a->umask, a->pty_path);
    return 125;
}

/* ---------------------------------------------------------------------------------------------
 * The init (pid 1)
 * ------------------------------------------------------------------------------------------- */

static void ar_bring_up_loopback(int errfd) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) ar_fail(errfd, AR_STAGE_LOOPBACK, errno, -1);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) ar_fail(errfd, AR_STAGE_LOOPBACK, errno, -1);
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) ar_fail(errfd, AR_STAGE_LOOPBACK, errno, -1);
    close(s);
}

/* Opens a pty in the sandbox's own devpts and hands the master to the supervisor. */
static void ar_open_pty(const struct ar_spawn_config *c, int errfd, char *path, size_t len) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) ar_fail(errfd, AR_STAGE_PTY, errno, 0);
    int unlock = 0, number = -1;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &number) < 0)
        ar_fail(errfd, AR_STAGE_PTY, errno, 0);
    if (c->pty_rows && c->pty_cols) {
        struct winsize ws = {c->pty_rows, c->pty_cols, 0, 0};
        (void)ioctl(master, TIOCSWINSZ, &ws);
    }
    /* "/dev/pts/<n>" without stdio. */
    const char *prefix = "/dev/pts/";
    size_t pos = 0;
    for (const char *p = prefix; *p && pos + 1 < len; p++) path[pos++] = *p;
    int digits = ar_format_uint(path + pos, len - pos - 1, (unsigned int)number);
    path[digits < 0 ? pos : pos + (size_t)digits] = 0;

    int sent = ar_send_fd(c->pty_socket, master);
    if (sent < 0) ar_fail(errfd, AR_STAGE_PTY, -sent, 4);
    close(master);
    close(c->pty_socket);
}

static uint64_t ar_sigbit(int sig) { return 1ULL << (sig - 1); }

static _Noreturn void ar_init_main(const struct ar_spawn_config *c, int syncfd, int errfd, int statusfd) {
    /* All signals stay blocked in init; it consumes the ones it cares about with sigtimedwait. */
    ar_reset_signal_dispositions();

    char go = 0;
    ssize_t n;
    do {
        n = read(syncfd, &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(125); /* the supervisor died or gave up before the maps were written */

    /* Become the agent's ids inside the new user namespace. The capabilities of the namespace's
     * creator stay: uid 0 of this namespace is not mapped, so no "root" transition clears them. */
    if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0) ar_fail(errfd, AR_STAGE_IDENTITY, errno, 0);
    if (c->clear_groups && syscall(SYS_setgroups, 0, NULL) < 0) ar_fail(errfd, AR_STAGE_IDENTITY, errno, 1);
    if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0) ar_fail(errfd, AR_STAGE_IDENTITY, errno, 2);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) ar_fail(errfd, AR_STAGE_DUMPABLE, errno, -1);

    /* Die with the supervisor. Set only now: a credential change resets the parent-death signal.
     * The supervisor holds the sync pipe open until the launch is over, so a hang-up seen on it
     * (below, once nothing more is to be read) means it died before the signal was armed. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) ar_fail(errfd, AR_STAGE_PDEATHSIG, errno, -1);

    /* Defense in depth behind seccomp: this user namespace may create no nested ones (the limit
     * is per user namespace, and init holds CAP_SYS_RESOURCE in it until it drops everything).
     * A host whose /proc/sys is read-only keeps only the seccomp rule. */
    int userns_limit = open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);
    if (userns_limit >= 0) {
        (void)!write(userns_limit, "0\n", 2);
        close(userns_limit);
    }

    mode_t saved_umask = umask(022);
    ar_build_root(c, errfd);

    if (c->hostname && sethostname(c->hostname, ar_strlen(c->hostname)) < 0)
        ar_fail(errfd, AR_STAGE_HOSTNAME, errno, -1);
    if (c->loopback_up) ar_bring_up_loopback(errfd);
    if (syscall(SYS_setsid) < 0) ar_fail(errfd, AR_STAGE_SETSID, errno, -1);

    /* Wait until the supervisor has placed us in the run's cgroup v1 hierarchies. */
    if (c->n_cgroup_procs_fds > 0) {
        char placed = 0;
        do {
            n = read(syncfd, &placed, 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1 || placed != 2) _exit(125);
    }
    struct pollfd pfd = {syncfd, POLLIN, 0};
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR))) _exit(125);
    close(syncfd);

    char pty_path[32] = {0};
    if (c->pty_socket >= 0) ar_open_pty(c, errfd, pty_path, sizeof pty_path);

    for (size_t i = 0; i < c->n_rlimits; i++) {
        struct rlimit rl = {(rlim_t)c->rlimits[i].soft, (rlim_t)c->rlimits[i].hard};
        if (setrlimit(c->rlimits[i].resource, &rl) < 0) ar_fail(errfd, AR_STAGE_RLIMIT, errno, (int)i);
    }

    /* The agent shares init's memory until its execve (CLONE_VM | CLONE_VFORK, on its own
     * stack): no copy of the supervisor-sized address space, and init resumes only once the
     * agent has exec'd or failed. The agent touches nothing of init's but its own stack. */
    static char agent_stack[256 * 1024] __attribute__((aligned(16)));
    struct ar_agent_args args = {c, errfd, statusfd, saved_umask, pty_path};
    pid_t agent = (pid_t)clone(ar_agent_entry, agent_stack + sizeof agent_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    if (agent < 0) ar_fail(errfd, AR_STAGE_FORK_AGENT, errno, -1);

    /* init: give up everything, keep nothing the agent could use or read. */
    if (c->argv_area && c->argv_area_len > 0) {
        memset(c->argv_area, 0, c->argv_area_len);
        const char *name = "agentrun-init";
        size_t n = ar_strlen(name);
        if (n < c->argv_area_len) memcpy(c->argv_area, name, n);
    }
    close(errfd);
    if (c->seccomp_notify_bpf && c->notify_socket >= 0) close(c->notify_socket);
    (void)ar_drop_capabilities(c, 1);
    (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    (void)syscall(SYS_close_range, 0, 2, 0);

    uint64_t waitset = ar_sigbit(SIGCHLD) | ar_sigbit(SIGINT) | ar_sigbit(SIGTERM) | ar_sigbit(SIGHUP) |
                       ar_sigbit(SIGQUIT) | ar_sigbit(SIGUSR1) | ar_sigbit(SIGUSR2) | ar_sigbit(SIGWINCH) |
                       ar_sigbit(SIGCONT) | ar_sigbit(SIGTSTP) | ar_sigbit(SIGALRM);
    for (;;) {
        siginfo_t info;
        long sig = syscall(SYS_rt_sigtimedwait, &waitset, &info, NULL, 8);
        if (sig < 0) continue;
        if (sig == SIGCHLD) {
            for (;;) {
                int status = 0;
                pid_t p = (pid_t)syscall(SYS_wait4, -1, &status, WNOHANG, NULL);
                if (p <= 0) break;
                if (p == agent) {
                    (void)ar_write_all(statusfd, (const char *)&status, sizeof status);
                    _exit(0);
                }
            }
            continue;
        }
        if (kill(-agent, (int)sig) < 0) (void)kill(agent, (int)sig);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Parent side
 * ------------------------------------------------------------------------------------------- */

static void ar_kill_and_reap(int pidfd) {
    (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    siginfo_t info;
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR) {
    }
}

/* An fd init sent before the agent exec'd (so it is already queued): the pty master, the broker socket. */
int ar_receive_fd(int sock) {
    char byte;
    struct iovec iov = {&byte, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n != 1) return n < 0 ? -errno : -EIO;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return -EIO;
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return fd;
}

int ar_spawn(const struct ar_spawn_config *c, struct ar_spawn_result *res) {
    memset(res, 0, sizeof *res);
    res->pidfd = -1;
    res->status_fd = -1;
    res->pty_master = -1;
    res->error.index = -1;
    if (c->n_mounts > AR_MAX_MOUNTS) {
        res->error.stage = AR_STAGE_MOUNT;
        res->error.err = E2BIG;
        return -1;
    }

    int syncp[2], errp[2], statusp[2];
    if (pipe2(syncp, O_CLOEXEC) < 0) goto pipes_failed;
    if (pipe2(errp, O_CLOEXEC) < 0) {
        close(syncp[0]);
        close(syncp[1]);
        goto pipes_failed;
    }
    if (pipe2(statusp, O_CLOEXEC) < 0) {
        close(syncp[0]);
        close(syncp[1]);
        close(errp[0]);
        close(errp[1]);
        goto pipes_failed;
    }

    int pidfd = -1;
    struct ar_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = c->clone_flags | CLONE_PIDFD | (c->cgroup_fd >= 0 ? AR_CLONE_INTO_CGROUP : 0);
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    args.cgroup = c->cgroup_fd >= 0 ? (uint64_t)c->cgroup_fd : 0;

    /* No signal handler of the supervisor may run in the child before it resets dispositions. */
    uint64_t all = ~0ULL, old = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        close(syncp[1]);
        close(errp[0]);
        close(statusp[0]);
        if (c->pty_socket >= 0) close(c->pty_socket_parent);
        if (c->seccomp_notify_bpf && c->notify_socket_parent >= 0) close(c->notify_socket_parent);
        ar_init_main(c, syncp[0], errp[1], statusp[1]);
    }
    int clone_errno = errno;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);

    close(syncp[0]);
    close(errp[1]);
    close(statusp[1]);
    if (pid < 0) {
        close(syncp[1]);
        close(errp[0]);
        close(statusp[0]);
        res->error.stage = AR_STAGE_CLONE;
        res->error.err = clone_errno;
        return -1;
    }

    int stage = 0, r = 0;
    if (c->clone_flags & CLONE_NEWUSER) {
        if (c->deny_setgroups) {
            r = ar_write_proc((pid_t)pid, "setgroups", "deny");
            if (r < 0) stage = AR_STAGE_SETGROUPS_DENY;
        }
        if (!stage && c->uid_map) {
            r = ar_write_proc((pid_t)pid, "uid_map", c->uid_map);
            if (r < 0) stage = AR_STAGE_UID_MAP;
        }
        if (!stage && c->gid_map) {
            r = ar_write_proc((pid_t)pid, "gid_map", c->gid_map);
            if (r < 0) stage = AR_STAGE_GID_MAP;
        }
    }
    /* From here on nothing in the sandbox may ptrace or read the supervisor (it holds the maps,
     * the run's keys later). Not earlier: a non-dumpable parent makes the child's /proc files
     * root-owned, and an unprivileged supervisor could no longer write its maps. */
    if (!stage && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
        stage = AR_STAGE_DUMPABLE;
        r = -errno;
    }
    /* A write to the sync pipe fails with EPIPE when the child has already died: its own report
     * is then waiting on the error pipe, so carry on and read it. (agentrun ignores SIGPIPE.) */
    int child_gone = 0;
    if (!stage) {
        char go = 1;
        if (write(syncp[1], &go, 1) != 1) {
            if (errno == EPIPE) {
                child_gone = 1;
            } else {
                stage = AR_STAGE_SYNC;
                r = -errno;
            }
        }
    }
    /* cgroup v1 has no CLONE_INTO_CGROUP: move init into the run's cgroups. Moving a task makes
     * the kernel wait for an RCU grace period (milliseconds), so it happens while init builds
     * the mount view; init waits for the second byte before it forks the agent. */
    for (size_t i = 0; !stage && !child_gone && i < c->n_cgroup_procs_fds; i++) {
        char text[16];
        int len = ar_format_uint(text, sizeof text, (unsigned int)pid);
        if (write(c->cgroup_procs_fds[i], text, (size_t)len) != len) {
            stage = AR_STAGE_CGROUP;
            r = -errno;
            res->error.index = (int32_t)i;
        }
    }
    if (!stage && !child_gone && c->n_cgroup_procs_fds > 0) {
        char placed = 2;
        if (write(syncp[1], &placed, 1) != 1 && errno != EPIPE) {
            stage = AR_STAGE_SYNC;
            r = -errno;
        }
    }
    if (stage) {
        close(syncp[1]);
        close(errp[0]);
        close(statusp[0]);
        ar_kill_and_reap(pidfd);
        close(pidfd);
        res->error.stage = stage;
        res->error.err = -r;
        return -1;
    }

    /* Mediation: the listener arrives before the agent's execve, which cannot complete until
     * someone answers it; so wait for the listener or for a report, whichever comes first. */
    int notify_served = 0;
    if (c->seccomp_notify_bpf && c->notify_socket_parent >= 0) {
        int listener = -1;
        for (;;) {
            struct pollfd fds[2] = {{c->notify_socket_parent, POLLIN, 0}, {errp[0], POLLIN, 0}};
            int n = poll(fds, 2, -1);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) break;
            if (fds[0].revents & POLLIN) listener = ar_receive_fd(c->notify_socket_parent);
            break; /* a report, EOF, or the listener */
        }
        if (listener >= 0) {
            int r = c->on_listener ? c->on_listener(listener, pidfd, c->on_listener_context) : -ENOSYS;
            if (r < 0) {
                close(errp[0]);
                close(syncp[1]);
                close(statusp[0]);
                ar_kill_and_reap(pidfd);
                close(pidfd);
                res->error.stage = AR_STAGE_NOTIFY;
                res->error.err = -r;
                res->error.index = 2;
                return -1;
            }
            notify_served = 1;
        }
        /* Without a listener the agent failed before sending it: its report follows. */
    }

    /* The child reports a failure, or the pipe reaches EOF when the agent's execve succeeds. */
    struct ar_spawn_error report;
    size_t got = 0;
    while (got < sizeof report) {
        ssize_t n = read(errp[0], (char *)&report + got, sizeof report - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(errp[0]);
    close(syncp[1]); /* the launch is over: the init has armed its parent-death signal */
    if (got == sizeof report) {
        close(statusp[0]);
        ar_kill_and_reap(pidfd);
        close(pidfd);
        res->error = report;
        return -1;
    }
    if (got != 0) {
        /* A torn report: the child died mid-write. Treat as a failure of the sync stage. */
        close(statusp[0]);
        ar_kill_and_reap(pidfd);
        close(pidfd);
        res->error.stage = AR_STAGE_SYNC;
        res->error.err = EIO;
        return -1;
    }

    if (c->seccomp_notify_bpf && !notify_served) {
        /* The agent exec'd without handing over its listener: never run unmediated. */
        close(statusp[0]);
        ar_kill_and_reap(pidfd);
        close(pidfd);
        res->error.stage = AR_STAGE_NOTIFY;
        res->error.err = EIO;
        res->error.index = 1;
        return -1;
    }

    res->pid = (pid_t)pid;
    res->pidfd = pidfd;
    res->status_fd = statusp[0];
    res->pty_master = c->pty_socket >= 0 ? ar_receive_fd(c->pty_socket_parent) : -1;
    if (c->pty_socket >= 0 && res->pty_master < 0) {
        close(statusp[0]);
        ar_kill_and_reap(pidfd);
        close(pidfd);
        res->error.stage = AR_STAGE_PTY;
        res->error.err = -res->pty_master;
        res->error.index = 5;
        return -1;
    }
    return 0;

pipes_failed:
    res->error.stage = AR_STAGE_PIPES;
    res->error.err = errno;
    return -1;
}

/*
 * User namespaces for idmapped mounts, and namespace probes for `agentrun doctor`.
 * Both fork a short-lived child with a raw clone3 (the caller is multithreaded); the child only
 * blocks on a pipe and exits.
 */
#include "agentrun_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/openat2.h>

#include "internal.h"

/* Fork a child into `flags` that waits until `*release_fd` is closed. Returns the pid or -errno. */
static long park_child(uint64_t flags, int *release_fd) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -errno;
    struct ar_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    uint64_t all = ~0ULL, old = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        char c;
        close(p[1]);
        while (read(p[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    int e = errno;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return -e;
    }
    *release_fd = p[1];
    return pid;
}

static void release_child(long pid, int release_fd) {
    close(release_fd);
    int status;
    while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR) {
    }
}

int ar_userns_fd(const char *uid_map, const char *gid_map) {
    int release = -1;
    long pid = park_child(CLONE_NEWUSER, &release);
    if (pid < 0) return (int)pid;
    int r = ar_write_proc((pid_t)pid, "uid_map", uid_map);
    if (r == 0) r = ar_write_proc((pid_t)pid, "gid_map", gid_map);
    int fd = -1;
    if (r == 0) {
        char path[64];
        ar_format_proc_path(path, sizeof path, (pid_t)pid, "ns/user");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) r = -errno;
    }
    release_child(pid, release);
    return r < 0 ? r : fd;
}

int ar_idmapped_tree(const char *path, int userns_fd, uint32_t flags, int recursive) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int src = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (src < 0) return -errno;
    int tree = (int)syscall(SYS_open_tree, src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    int e = errno;
    close(src);
    if (tree < 0) return -e;
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_IDMAP | ar_attr_bits(flags);
    attr.userns_fd = (uint64_t)userns_fd;
    attr.propagation = MS_PRIVATE;
    long r = syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
    if (r < 0) {
        e = errno;
        close(tree);
        return -e;
    }
    return tree;
}

int ar_probe_namespaces(uint64_t clone_flags, int write_maps) {
    int release = -1;
    long pid = park_child(clone_flags, &release);
    if (pid < 0) return (int)pid;
    int r = 0;
    if (write_maps && (clone_flags & CLONE_NEWUSER)) {
        char map[64];
        unsigned int uid = (unsigned int)getuid(), gid = (unsigned int)getgid();
        /* Map our own ids: what an unprivileged user can always write. */
        int n = snprintf(map, sizeof map, "%u %u 1\n", uid, uid);
        (void)n;
        if (uid != 0) r = ar_write_proc((pid_t)pid, "setgroups", "deny");
        if (r == 0) r = ar_write_proc((pid_t)pid, "uid_map", map);
        snprintf(map, sizeof map, "%u %u 1\n", gid, gid);
        if (r == 0) r = ar_write_proc((pid_t)pid, "gid_map", map);
    }
    release_child(pid, release);
    return r;
}

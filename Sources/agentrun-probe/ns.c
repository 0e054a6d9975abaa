// Namespace and mount attacks: unshare/clone/clone3 with CLONE_NEW*, setns into pid 1's
// namespaces, the old and new mount APIs, chroot, pivot_root, sethostname, SysV IPC.
#include "probe.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct ns_flag {
    const char *name;
    int flag;
};

static const struct ns_flag ns_flags[] = {
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},       {"pid", CLONE_NEWPID},
    {"net", CLONE_NEWNET},   {"ipc", CLONE_NEWIPC},      {"uts", CLONE_NEWUTS},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}, {NULL, 0},
};

static int flag_for(const char *name)
{
    for (const struct ns_flag *f = ns_flags; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f->flag;
    return 0;
}

static int do_unshare(void *arg)
{
    int flag = *(int *)arg;
    if (unshare(flag) == 0)
        return 0;
    printf("  unshare: %s\n", strerror(errno));
    return errno == ENOSYS ? 1 : 1;
}

// The namespace a process (or, for pid and time, its future children) is in.
static void ns_id(const char *name, bool for_children, char *out, size_t cap)
{
    char p[96];
    snprintf(p, sizeof p, "/proc/self/ns/%s%s", name, for_children ? "_for_children" : "");
    ssize_t n = readlink(p, out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
}

static const char *ns_name(int flag)
{
    for (const struct ns_flag *f = ns_flags; f->name; f++)
        if (f->flag == flag)
            return f->name;
    return "?";
}

// Runs each namespace attack for the named types ("all" = every type). fn returns 0 only when
// the process really ended up in a new namespace of that type.
static int per_ns(int argc, char **argv, const char *call, int (*fn)(int flag))
{
    if (argc < 2)
        return misuse("%s NS... (user mnt pid net ipc uts cgroup time | all)", argv[0]);
    int r = PROBE_BLOCKED;
    for (int i = 1; i < argc; i++) {
        for (const struct ns_flag *f = ns_flags; f->name; f++) {
            if (strcmp(argv[i], "all") != 0 && strcmp(argv[i], f->name) != 0)
                continue;
            int st = fn(f->flag);
            if (st == 0)
                r = combine(r, escaped("%s(new %s namespace)", call, f->name));
            else if (st == 128 + SIGSYS)
                r = combine(r, blockedf("%s(new %s namespace): killed by SIGSYS", call, f->name));
            else if (st == 126)
                r = combine(r, blockedf("%s(new %s namespace): returned success but no new namespace", call, f->name));
            else
                r = combine(r, blockedf("%s(new %s namespace): %s", call, f->name, strerror(st > 0 && st < 126 ? st : EINVAL)));
        }
        if (strcmp(argv[i], "all") != 0 && flag_for(argv[i]) == 0)
            return misuse("unknown namespace %s", argv[i]);
    }
    return r;
}

// Child exit codes carry the errno (1..127), 0 for success; 126 = the call returned success but
// no new namespace appeared.
static int unshare_in_child(int flag)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        const char *name = ns_name(flag);
        bool children = flag == CLONE_NEWPID || flag == CLONE_NEWTIME;
        char before[128], after[128];
        ns_id(name, children, before, sizeof before);
        if (unshare(flag) != 0)
            _exit(errno & 0x7f);
        ns_id(name, children, after, sizeof after);
        _exit(strcmp(before, after) != 0 ? 0 : 126);
    }
    return wait_status(pid);
}

// In the new process: exit 0 if its namespace differs from the parent's, else 126.
static void exit_if_new_ns(const char *name, const char *parent_ns)
{
    char now[128];
    ns_id(name, false, now, sizeof now);
    syscall(SYS_exit_group, strcmp(now, parent_ns) != 0 ? 0 : 126);
}

static int reap_status(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, __WALL) < 0)
        return 125;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 125;
}

// clone() (not clone3) cannot ask for a time namespace: CLONE_NEWTIME (0x80) lies in the exit
// signal bits (CSIGNAL). The probe refuses rather than report a bogus result.
static int clone_in_child(int flag)
{
    if (flag == CLONE_NEWTIME)
        return 22; // EINVAL
    fflush(stdout);
    pid_t outer = fork();
    if (outer == 0) {
        const char *name = ns_name(flag);
        char parent_ns[128];
        ns_id(name, false, parent_ns, sizeof parent_ns);
        long r = syscall(SYS_clone, (unsigned long)flag | SIGCHLD, NULL, NULL, NULL, 0);
        if (r == 0)
            exit_if_new_ns(name, parent_ns);
        if (r < 0)
            _exit(errno & 0x7f);
        _exit(reap_status((pid_t)r));
    }
    return wait_status(outer);
}

struct clone_args_v0 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int clone3_in_child(int flag)
{
    fflush(stdout);
    pid_t outer = fork();
    if (outer == 0) {
        struct clone_args_v0 a;
        memset(&a, 0, sizeof a);
        a.flags = (uint64_t)(unsigned)flag;
        a.exit_signal = SIGCHLD;
        const char *name = flag ? ns_name(flag) : "mnt";
        char parent_ns[128];
        ns_id(name, false, parent_ns, sizeof parent_ns);
        long r = syscall(SYS_clone3, &a, sizeof a);
        if (r == 0) {
            if (flag == 0)
                syscall(SYS_exit_group, 0);
            exit_if_new_ns(name, parent_ns);
        }
        if (r < 0)
            _exit(errno & 0x7f);
        _exit(reap_status((pid_t)r));
    }
    return wait_status(outer);
}

static int cmd_unshare(int argc, char **argv) { return per_ns(argc, argv, "unshare", unshare_in_child); }
static int cmd_clone_ns(int argc, char **argv) { return per_ns(argc, argv, "clone", clone_in_child); }
static int cmd_clone3_ns(int argc, char **argv) { return per_ns(argc, argv, "clone3", clone3_in_child); }

// clone3-plain: clone3 without namespace flags (its flags live in memory seccomp cannot read, so
// the sandbox must refuse clone3 wholesale with ENOSYS; glibc then falls back to clone).
static int cmd_clone3_plain(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("clone3-plain");
    int st = clone3_in_child(0);
    if (st == 0)
        return escaped("clone3 is available");
    if (st == 128 + SIGSYS)
        return blockedf("clone3: killed by SIGSYS");
    return blocked("clone3", st);
}

// can-userns: helper: exit 0 if this process may create a user namespace.
static int cmd_can_userns(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int flag = CLONE_NEWUSER;
    return in_child(do_unshare, &flag) == 0 ? 0 : 1;
}

struct setns_arg {
    int fd;
    int nstype;
};

static int do_setns(void *p)
{
    struct setns_arg *a = p;
    if (setns(a->fd, a->nstype) == 0)
        return 0;
    return (errno & 0x7f) ? (errno & 0x7f) : 1;
}

// setns-pid [PID]: join the namespaces of PID (default 1, agentrun's init inside the sandbox)
// through /proc/PID/ns/* and through a pidfd.
static int cmd_setns_pid(int argc, char **argv)
{
    if (argc > 2)
        return misuse("setns-pid [PID]");
    const char *target = argc == 2 ? argv[1] : "1";
    const char *names[] = {"mnt", "net", "pid", "ipc", "uts", "cgroup", "user", "time"};
    int r = PROBE_BLOCKED;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%s/ns/%s", target, names[i]);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            note("open(%s): %s", p, strerror(errno));
            continue;
        }
        struct setns_arg a = {fd, 0};
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(do_setns(&a));
        int st = wait_status(pid);
        close(fd);
        if (st == 0)
            r = combine(r, escaped("setns(%s)", p));
        else
            note("setns(%s): %s", p, st < 128 ? strerror(st) : "killed");
    }
    int pidfd = (int)syscall(SYS_pidfd_open, atoi(target), 0);
    if (pidfd >= 0) {
        struct setns_arg a = {pidfd, CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC};
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(do_setns(&a));
        int st = wait_status(pid);
        if (st == 0)
            r = combine(r, escaped("setns(pidfd of %s, NET|UTS|IPC)", target));
        else
            note("setns(pidfd of %s): %s", target, st < 128 ? strerror(st) : "killed");
    } else {
        note("pidfd_open(%s): %s", target, strerror(errno));
    }
    if (r == PROBE_BLOCKED)
        return blockedf("setns into every namespace of %s refused", target);
    return r;
}

// The mount attacks run in a forked child so a control's private mount namespace dies with it.
struct mount_job {
    int (*fn)(const char *path, const char *arg2);
    const char *path;
    const char *arg2;
    int setup; // 0 none, 1 bind PATH read-only first, 2 mount a tmpfs at PATH first
};

static int run_mount_job(void *p)
{
    struct mount_job *j = p;
    int iso = isolate_for_control(g_control ? CLONE_NEWNS : 0);
    if (iso != 0)
        return iso;
    if (g_control && j->setup == 1) {
        if (mount(j->path, j->path, NULL, MS_BIND, NULL) != 0 ||
            mount(NULL, j->path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
            return misuse("control setup: read-only bind of %s: %s", j->path, strerror(errno));
    }
    if (g_control && j->setup == 2 && mount("probe-setup", j->path, "tmpfs", 0, "size=64k") != 0)
        return misuse("control setup: tmpfs on %s: %s", j->path, strerror(errno));
    return j->fn(j->path, j->arg2);
}

static int mount_job(int (*fn)(const char *, const char *), const char *path, const char *arg2, int setup)
{
    if (!in_sandbox() && !g_control)
        return misuse("refusing to run a mount attack on the host without --control");
    struct mount_job j = {fn, path, arg2, setup};
    return in_child(run_mount_job, &j);
}

static int j_mount_tmpfs(const char *path, const char *unused)
{
    (void)unused;
    if (mount("agentrun-probe", path, "tmpfs", 0, "size=64k") == 0)
        return escaped("mounted a tmpfs on %s", path);
    return blocked("mount(tmpfs)", errno);
}

static int j_remount_rw(const char *path, const char *unused)
{
    (void)unused;
    int r = PROBE_BLOCKED;
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND, NULL) == 0)
        r = combine(r, escaped("remounted the bind mount %s read-write", path));
    else
        r = combine(r, blocked("mount(MS_REMOUNT|MS_BIND)", errno));
    if (mount(NULL, path, NULL, MS_REMOUNT, NULL) == 0)
        r = combine(r, escaped("remounted %s read-write", path));
    else
        r = combine(r, blocked("mount(MS_REMOUNT)", errno));
    if (mount(path, path, NULL, MS_BIND, NULL) == 0)
        r = combine(r, escaped("bind-mounted %s over itself (read-write)", path));
    else
        r = combine(r, blocked("mount(MS_BIND)", errno));
    return r;
}

static int j_umount(const char *path, const char *unused)
{
    (void)unused;
    if (umount2(path, MNT_DETACH) == 0)
        return escaped("unmounted %s", path);
    int r = blocked("umount2(MNT_DETACH)", errno);
    if (umount2(path, 0) == 0)
        return escaped("unmounted %s", path);
    return combine(r, blocked("umount2", errno));
}

static int j_fsopen(const char *path, const char *unused)
{
    (void)unused;
    int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0)
        return blocked("fsopen(tmpfs)", errno);
    int r = escaped("fsopen(tmpfs) -> fd %d", fs);
    if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
        return combine(r, blocked("fsconfig(CMD_CREATE)", errno));
    int mfd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
    if (mfd < 0)
        return combine(r, blocked("fsmount", errno));
    note("fsmount -> fd %d", mfd);
    if (syscall(SYS_move_mount, mfd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) == 0)
        note("move_mount onto %s: ok", path);
    else
        note("move_mount onto %s: %s", path, strerror(errno));
    return r;
}

static int j_open_tree(const char *path, const char *dest)
{
    int r = PROBE_BLOCKED;
    int plain = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLOEXEC);
    r = combine(r, reach("open_tree(PATH, 0)", plain, errno));
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (fd < 0)
        return combine(r, blocked("open_tree(OPEN_TREE_CLONE)", errno));
    r = combine(r, escaped("open_tree(%s, OPEN_TREE_CLONE) -> detached copy fd %d", path, fd));
    if (dest != NULL) {
        if (syscall(SYS_move_mount, fd, "", AT_FDCWD, dest, MOVE_MOUNT_F_EMPTY_PATH) == 0)
            r = combine(r, escaped("move_mount the copy of %s onto %s", path, dest));
        else
            note("move_mount onto %s: %s", dest, strerror(errno));
    }
    return r;
}

static int j_fspick(const char *path, const char *unused)
{
    (void)unused;
    int fd = (int)syscall(SYS_fspick, AT_FDCWD, path, FSPICK_CLOEXEC);
    if (fd < 0)
        return blocked("fspick", errno);
    int r = escaped("fspick(%s) -> fd %d", path, fd);
    if (syscall(SYS_fsconfig, fd, FSCONFIG_SET_FLAG, "rw", NULL, 0) == 0 &&
        syscall(SYS_fsconfig, fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) == 0)
        note("reconfigured %s rw", path);
    return r;
}

static int j_mount_setattr(const char *path, const char *unused)
{
    (void)unused;
    struct mount_attr a;
    memset(&a, 0, sizeof a);
    a.attr_clr = MOUNT_ATTR_RDONLY;
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, 0, &a, sizeof a) == 0)
        return escaped("mount_setattr cleared MOUNT_ATTR_RDONLY on %s", path);
    return blocked("mount_setattr(attr_clr=RDONLY)", errno);
}

static int j_pivot_root(const char *path, const char *unused)
{
    (void)unused;
    if (g_control && mount(path, path, NULL, MS_BIND, NULL) != 0)
        return misuse("control setup: bind %s: %s", path, strerror(errno));
    if (chdir(path) != 0)
        return misuse("chdir(%s): %s", path, strerror(errno));
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        umount2(".", MNT_DETACH);
        return escaped("pivot_root(%s)", path);
    }
    return blocked("pivot_root", errno);
}

static int j_chroot(const char *path, const char *unused)
{
    (void)unused;
    if (chroot(path) != 0)
        return blocked("chroot", errno);
    // The classic escape after a successful chroot: chroot deeper, then walk up.
    mkdir("agentrun-probe-chroot", 0755);
    if (chroot("agentrun-probe-chroot") == 0)
        for (int i = 0; i < 64; i++)
            if (chdir("..") != 0)
                break;
    return escaped("chroot(%s)", path);
}

static int cmd_mount_tmpfs(int argc, char **argv)
{
    return argc == 2 ? mount_job(j_mount_tmpfs, argv[1], NULL, 0) : misuse("mount-tmpfs DIR");
}
static int cmd_remount_rw(int argc, char **argv)
{
    return argc == 2 ? mount_job(j_remount_rw, argv[1], NULL, 1) : misuse("remount-rw PATH");
}
static int cmd_umount(int argc, char **argv)
{
    return argc == 2 ? mount_job(j_umount, argv[1], NULL, 2) : misuse("umount PATH");
}
static int cmd_fsopen(int argc, char **argv)
{
    return argc == 2 ? mount_job(j_fsopen, argv[1], NULL, 0) : misuse("fsopen DIR");
}
static int cmd_open_tree(int argc, char **argv)
{
    return argc == 3 ? mount_job(j_open_tree, argv[1], argv[2], 0) : misuse("open-tree PATH DEST");
}
static int cmd_fspick(int argc, char **argv)
{
    return argc == 2 ? mount_job(j_fspick, argv[1], NULL, 0) : misuse("fspick PATH");
}
static int cmd_mount_setattr(int argc, char **argv)
{
    return argc == 2 ? mount_job(j_mount_setattr, argv[1], NULL, 1) : misuse("mount-setattr PATH");
}
static int cmd_pivot_root(int argc, char **argv)
{
    return argc == 2 ? mount_job(j_pivot_root, argv[1], NULL, 0) : misuse("pivot-root DIR");
}

struct path_arg {
    const char *path;
};

static int run_chroot(void *p) { return j_chroot(((struct path_arg *)p)->path, NULL); }

// chroot DIR (in a child: harmless as a control, root may chroot on the host).
static int cmd_chroot(int argc, char **argv)
{
    if (argc != 2)
        return misuse("chroot DIR");
    struct path_arg a = {argv[1]};
    return in_child(run_chroot, &a);
}

static int run_sethostname(void *p)
{
    const char *name = ((struct path_arg *)p)->path;
    int iso = isolate_for_control(g_control ? CLONE_NEWUTS : 0);
    if (iso != 0)
        return iso;
    if (sethostname(name, strlen(name)) == 0)
        return escaped("sethostname(%s)", name);
    int r = blocked("sethostname", errno);
    if (setdomainname(name, strlen(name)) == 0)
        return escaped("setdomainname(%s)", name);
    return combine(r, blocked("setdomainname", errno));
}

// sethostname NAME
static int cmd_sethostname(int argc, char **argv)
{
    if (argc != 2)
        return misuse("sethostname NAME");
    if (!in_sandbox() && !g_control)
        return misuse("refusing to rename the host without --control");
    struct path_arg a = {argv[1]};
    return in_child(run_sethostname, &a);
}

// ns-ids: print "NAME INODE" for each of this process's namespaces (helper).
static int cmd_ns_ids(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *names[] = {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[64], t[128];
        snprintf(p, sizeof p, "/proc/self/ns/%s", names[i]);
        ssize_t n = readlink(p, t, sizeof t - 1);
        if (n < 0) {
            printf("%s ?\n", names[i]);
            continue;
        }
        t[n] = '\0';
        printf("%s %s\n", names[i], t);
    }
    return 0;
}

// shm-create KEY: helper (host side): create a SysV shared memory segment holding a secret.
static int cmd_shm_create(int argc, char **argv)
{
    if (argc != 2)
        return misuse("shm-create KEY");
    int id = shmget((key_t)atoi(argv[1]), 4096, IPC_CREAT | 0666);
    if (id < 0)
        return misuse("shmget: %s", strerror(errno));
    char *p = shmat(id, NULL, 0);
    if (p == (void *)-1)
        return misuse("shmat: %s", strerror(errno));
    strcpy(p, "agentrun-host-shm-secret");
    shmdt(p);
    printf("%d\n", id);
    return 0;
}

// shm-rm KEY: helper: remove the segment.
static int cmd_shm_rm(int argc, char **argv)
{
    if (argc != 2)
        return misuse("shm-rm KEY");
    int id = shmget((key_t)atoi(argv[1]), 0, 0);
    if (id < 0 || shmctl(id, IPC_RMID, NULL) != 0)
        return misuse("shm-rm: %s", strerror(errno));
    return 0;
}

// shm-attach KEY: the escape is attaching the host's segment and reading its secret.
static int cmd_shm_attach(int argc, char **argv)
{
    if (argc != 2)
        return misuse("shm-attach KEY");
    int id = shmget((key_t)atoi(argv[1]), 0, 0);
    if (id < 0)
        return blocked("shmget(KEY)", errno);
    char *p = shmat(id, NULL, SHM_RDONLY);
    if (p == (void *)-1)
        return blocked("shmat", errno);
    if (strcmp(p, "agentrun-host-shm-secret") == 0)
        return escaped("read the host's SysV shared memory: %s", p);
    return blockedf("segment attached but holds no host secret");
}

const struct probe_command ns_commands[] = {
    {"unshare", cmd_unshare, "NS... | all"},
    {"clone-ns", cmd_clone_ns, "NS... | all"},
    {"clone3-ns", cmd_clone3_ns, "NS... | all"},
    {"clone3-plain", cmd_clone3_plain, ""},
    {"can-userns", cmd_can_userns, ""},
    {"setns-pid", cmd_setns_pid, "[PID]"},
    {"mount-tmpfs", cmd_mount_tmpfs, "DIR"},
    {"remount-rw", cmd_remount_rw, "PATH"},
    {"umount", cmd_umount, "PATH"},
    {"fsopen", cmd_fsopen, "DIR"},
    {"open-tree", cmd_open_tree, "PATH DEST"},
    {"fspick", cmd_fspick, "PATH"},
    {"mount-setattr", cmd_mount_setattr, "PATH"},
    {"pivot-root", cmd_pivot_root, "DIR"},
    {"chroot", cmd_chroot, "DIR"},
    {"sethostname", cmd_sethostname, "NAME"},
    {"ns-ids", cmd_ns_ids, ""},
    {"shm-create", cmd_shm_create, "KEY"},
    {"shm-rm", cmd_shm_rm, "KEY"},
    {"shm-attach", cmd_shm_attach, "KEY"},
    {NULL, NULL, NULL},
};

// Cross-process attacks: ptrace, process_vm_readv/writev, pidfd_getfd, signals to processes
// outside the sandbox, process visibility, leaked file descriptors.
#include "probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn_sleeper(int *ready_fd_out)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (write(p[1], "r", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    close(p[1]);
    char c;
    if (read(p[0], &c, 1) != 1) {
        close(p[0]);
        return -1;
    }
    if (ready_fd_out)
        *ready_fd_out = p[0];
    else
        close(p[0]);
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, __WALL);
}

static int attach(pid_t pid, const char *label)
{
    char what[96];
    if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
        waitpid(pid, NULL, __WALL);
        ptrace(PTRACE_DETACH, pid, 0, 0);
        return escaped("PTRACE_ATTACH %s (pid %d)", label, pid);
    }
    snprintf(what, sizeof what, "ptrace(PTRACE_ATTACH, %s)", label);
    int r = blocked(what, errno);
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
        ptrace(PTRACE_DETACH, pid, 0, 0);
        return escaped("PTRACE_SEIZE %s (pid %d)", label, pid);
    }
    snprintf(what, sizeof what, "ptrace(PTRACE_SEIZE, %s)", label);
    return combine(r, blocked(what, errno));
}

// ptrace-attach PID
static int cmd_ptrace_attach(int argc, char **argv)
{
    if (argc != 2)
        return misuse("ptrace-attach PID");
    return attach(atoi(argv[1]), argv[1]);
}

// ptrace-child: PTRACE_ATTACH/SEIZE a child we fork, and PTRACE_TRACEME from a child.
static int cmd_ptrace_child(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("ptrace-child");
    pid_t pid = spawn_sleeper(NULL);
    if (pid < 0)
        return misuse("fork: %s", strerror(errno));
    int r = attach(pid, "child");
    reap(pid);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) == 0)
            _exit(0);
        printf("blocked: ptrace(PTRACE_TRACEME): %s\n", strerror(errno));
        _exit(1);
    }
    int st = wait_status(pid);
    if (st == 0)
        r = combine(r, escaped("PTRACE_TRACEME"));
    else if (st == 128 + SIGSYS)
        r = combine(r, blockedf("PTRACE_TRACEME: killed by SIGSYS"));
    return r;
}

static char g_secret[64] = "parent-value";

static int vm_child(bool write_mode)
{
    int p[2];
    if (pipe(p) != 0)
        return misuse("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        strcpy(g_secret, "child-secret-4242");
        if (write(p[1], "r", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    close(p[1]);
    char c;
    if (read(p[0], &c, 1) != 1)
        return misuse("child did not start");
    char buf[64] = {0};
    struct iovec local = {buf, sizeof buf};
    struct iovec remote = {g_secret, sizeof g_secret};
    int r;
    if (!write_mode) {
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n > 0 && strcmp(buf, "child-secret-4242") == 0)
            r = escaped("process_vm_readv read the child's memory: %s", buf);
        else if (n < 0)
            r = blocked("process_vm_readv(child)", errno);
        else
            r = blockedf("process_vm_readv returned %zd bytes without the secret", n);
    } else {
        strcpy(buf, "overwritten-by-parent");
        ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
        if (n > 0)
            r = escaped("process_vm_writev wrote %zd bytes into the child", n);
        else
            r = blocked("process_vm_writev(child)", errno);
    }
    reap(pid);
    return r;
}

static int cmd_vm_read_child(int argc, char **argv)
{
    (void)argv;
    return argc == 1 ? vm_child(false) : misuse("vm-read-child");
}

static int cmd_vm_write_child(int argc, char **argv)
{
    (void)argv;
    return argc == 1 ? vm_child(true) : misuse("vm-write-child");
}

// vm-read-pid PID: process_vm_readv of an unmapped address of PID; EFAULT means the access
// check passed (the escape), EPERM/ESRCH means refused.
static int cmd_vm_read_pid(int argc, char **argv)
{
    if (argc != 2)
        return misuse("vm-read-pid PID");
    char buf[8];
    struct iovec local = {buf, sizeof buf};
    struct iovec remote = {(void *)0x10000, sizeof buf};
    ssize_t n = process_vm_readv(atoi(argv[1]), &local, 1, &remote, 1, 0);
    if (n >= 0)
        return escaped("process_vm_readv(%s) read %zd bytes", argv[1], n);
    if (errno == EFAULT)
        return escaped("process_vm_readv(%s): access granted (EFAULT on the unmapped address)", argv[1]);
    return blocked("process_vm_readv", errno);
}

// pidfd-getfd-child: steal an fd from a child via pidfd_open + pidfd_getfd.
static int cmd_pidfd_getfd_child(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("pidfd-getfd-child");
    int p[2];
    if (pipe(p) != 0)
        return misuse("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0 || dup2(fd, 77) < 0)
            _exit(3);
        if (write(p[1], "r", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    close(p[1]);
    char c;
    if (read(p[0], &c, 1) != 1)
        return misuse("child did not start");
    int r;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        r = blocked("pidfd_open(child)", errno);
    } else {
        int fd = (int)syscall(SYS_pidfd_getfd, pidfd, 77, 0);
        if (fd >= 0)
            r = escaped("pidfd_getfd stole fd 77 of the child as fd %d", fd);
        else
            r = blocked("pidfd_getfd(child, 77)", errno);
    }
    reap(pid);
    return r;
}

// pidfd-getfd PID FD
static int cmd_pidfd_getfd(int argc, char **argv)
{
    if (argc != 3)
        return misuse("pidfd-getfd PID FD");
    int pidfd = (int)syscall(SYS_pidfd_open, atoi(argv[1]), 0);
    if (pidfd < 0)
        return blocked("pidfd_open", errno);
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(argv[2]), 0);
    if (fd >= 0)
        return escaped("pidfd_getfd(%s, %s) -> fd %d", argv[1], argv[2], fd);
    return blocked("pidfd_getfd", errno);
}

// kill PID SIG
static int cmd_kill(int argc, char **argv)
{
    if (argc != 3)
        return misuse("kill PID SIG");
    if (kill(atoi(argv[1]), atoi(argv[2])) == 0)
        return escaped("kill(%s, %s) delivered", argv[1], argv[2]);
    return blocked("kill", errno);
}

// kill-all: kill(-1, SIGKILL). Inside the sandbox it may only reach the sandbox's own processes.
// As a control it must be pid 1 of a fresh pid namespace (unshare -pf), never on the host.
static int cmd_kill_all(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("kill-all");
    if (!in_sandbox() && !(g_control && getpid() == 1))
        return misuse("kill-all runs only in a sandbox, or with --control as pid 1 of a new pid namespace");
    if (kill(-1, SIGKILL) == 0)
        return escaped("kill(-1, SIGKILL) signalled at least one process");
    return blocked("kill(-1, SIGKILL)", errno);
}

// count-pids MAX: the escape is seeing more than MAX processes in /proc (host processes).
static int cmd_count_pids(int argc, char **argv)
{
    if (argc != 2)
        return misuse("count-pids MAX");
    DIR *d = opendir("/proc");
    if (d == NULL)
        return blocked("opendir(/proc)", errno);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        count++;
        char p[300], comm[64] = "";
        snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
        ssize_t n = read_file(p, comm, sizeof comm);
        if (n > 0 && comm[n - 1] == '\n')
            comm[n - 1] = '\0';
        if (count <= 20)
            note("pid %s %s", e->d_name, comm);
    }
    closedir(d);
    if (count > atoi(argv[1]))
        return escaped("%d processes visible in /proc (max %s)", count, argv[1]);
    return blockedf("only %d processes visible in /proc", count);
}

// fd-scan: the escape is any open fd other than 0, 1, 2 (leaked from the host); for a leaked
// directory fd, also show it reaches the host (runc CVE-2024-21626).
static int cmd_fd_scan(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("fd-scan");
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return blocked("opendir(/proc/self/fd)", errno);
    int self = dirfd(d);
    int leaks = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = atoi(e->d_name);
        if (fd <= 2 || fd == self)
            continue;
        char p[64], target[PATH_MAX] = "";
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(p, target, sizeof target - 1);
        if (n > 0)
            target[n] = '\0';
        leaks++;
        note("leaked fd %d -> %s", fd, target);
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            int up = openat(fd, "../../../../../../../../etc/shadow", O_RDONLY | O_CLOEXEC);
            if (up >= 0) {
                note("fd %d reaches the host's /etc/shadow", fd);
                close(up);
            }
        }
    }
    closedir(d);
    if (leaks > 0)
        return escaped("%d file descriptors beyond 0,1,2 are open", leaks);
    return blockedf("only fds 0, 1, 2 are open");
}

// proc-fds PID: open the file descriptors of PID through /proc/PID/fd/N (magic links that bypass
// the mount view) and /proc/PID/map_files.
static int cmd_proc_fds(int argc, char **argv)
{
    if (argc != 2)
        return misuse("proc-fds PID");
    int r = PROBE_BLOCKED;
    const char *subdirs[] = {"fd", "map_files"};
    for (int k = 0; k < 2; k++) {
        char dir[64];
        snprintf(dir, sizeof dir, "/proc/%s/%s", argv[1], subdirs[k]);
        DIR *d = opendir(dir);
        if (d == NULL) {
            char what[96];
            snprintf(what, sizeof what, "opendir(%s)", dir);
            r = combine(r, blocked(what, errno));
            continue;
        }
        struct dirent *e;
        int n = 0;
        while ((e = readdir(d)) != NULL && n < 64) {
            if (e->d_name[0] == '.')
                continue;
            n++;
            char p[PATH_MAX], target[PATH_MAX] = "";
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            ssize_t len = readlink(p, target, sizeof target - 1);
            if (len > 0)
                target[len] = '\0';
            int fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
            if (fd >= 0) {
                close(fd);
                r = combine(r, escaped("opened %s -> %s", p, target));
            } else {
                note("open(%s -> %s): %s", p, target, strerror(errno));
            }
        }
        closedir(d);
    }
    return r;
}

const struct probe_command proc_commands[] = {
    {"proc-fds", cmd_proc_fds, "PID"},
    {"ptrace-attach", cmd_ptrace_attach, "PID"},
    {"ptrace-child", cmd_ptrace_child, ""},
    {"vm-read-child", cmd_vm_read_child, ""},
    {"vm-write-child", cmd_vm_write_child, ""},
    {"vm-read-pid", cmd_vm_read_pid, "PID"},
    {"pidfd-getfd-child", cmd_pidfd_getfd_child, ""},
    {"pidfd-getfd", cmd_pidfd_getfd, "PID FD"},
    {"kill", cmd_kill, "PID SIG"},
    {"kill-all", cmd_kill_all, ""},
    {"count-pids", cmd_count_pids, "MAX"},
    {"fd-scan", cmd_fd_scan, ""},
    {NULL, NULL, NULL},
};

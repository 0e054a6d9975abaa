// Syscall mediation (issue 5): denied exec reached through symlinks, hard links, /proc/self/fd,
// execveat and shebangs; the calls the built-in filter denies, made with known arguments so the
// records can be checked exactly; threads racing a path buffer against openat/execve; a flood of
// mediated calls; a tiny program for record_all.
//
// Every command prints `errno=NAME` for a failed call so tests can check the errno exactly.
#include "probe.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

extern char **environ;

static const char *errno_name(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case ENOENT: return "ENOENT";
    case EXDEV: return "EXDEV";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case EEXIST: return "EEXIST";
    case EBADF: return "EBADF";
    case ENOEXEC: return "ENOEXEC";
    case ETXTBSY: return "ETXTBSY";
    default: return "E?";
    }
}

/// Prints "errno=NAME" and "blocked: what: strerror" and returns PROBE_BLOCKED.
static int blocked_errno(const char *what, int err)
{
    printf("errno=%s\n", errno_name(err));
    return blocked(what, err);
}

// med-exec MODE TARGET [ARGS...]: executes TARGET (argv[0] = TARGET, then ARGS) by MODE:
//   direct    execve(TARGET)
//   procroot  execve("/proc/self/root" TARGET)
//   symlink   a symlink `med-symlink` in the cwd pointing at TARGET, then execve of it
//   hardlink  a hard link `med-hardlink` in the cwd to TARGET (made here: across mounts this
//             fails, printed as "link-failed errno=NAME", exit 1), then execve of it
//   procfd    open(TARGET, O_PATH), execve("/proc/self/fd/N")
//   execveat  open(TARGET, O_PATH), execveat(fd, "", AT_EMPTY_PATH)
//   shebang   a script `med-shebang.sh` in the cwd whose #! line names TARGET, then execve of it
// Returns only when the exec failed (exit 1 with errno=NAME); a successful exec is the program's.
static int cmd_med_exec(int argc, char **argv)
{
    if (argc < 3)
        return misuse("med-exec direct|procroot|symlink|hardlink|procfd|execveat|shebang TARGET [ARGS...]");
    const char *mode = argv[1];
    const char *target = argv[2];
    char *args[64];
    int n = 0;
    args[n++] = (char *)target;
    for (int i = 3; i < argc && n < 62; i++)
        args[n++] = argv[i];
    args[n] = NULL;

    if (strcmp(mode, "direct") == 0) {
        execve(target, args, environ);
        return blocked_errno("execve", errno);
    }
    if (strcmp(mode, "procroot") == 0) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "/proc/self/root%s", target);
        execve(p, args, environ);
        return blocked_errno("execve(/proc/self/root/...)", errno);
    }
    if (strcmp(mode, "symlink") == 0) {
        unlink("med-symlink");
        if (symlink(target, "med-symlink") != 0)
            return misuse("symlink: %s", strerror(errno));
        args[0] = "med-symlink";
        execve("./med-symlink", args, environ);
        return blocked_errno("execve(symlink)", errno);
    }
    if (strcmp(mode, "hardlink") == 0) {
        unlink("med-hardlink");
        if (link(target, "med-hardlink") != 0) {
            int e = errno;
            printf("link-failed errno=%s\n", errno_name(e));
            return blocked("link", e);
        }
        note("link made");
        args[0] = "med-hardlink";
        execve("./med-hardlink", args, environ);
        return blocked_errno("execve(hardlink)", errno);
    }
    if (strcmp(mode, "procfd") == 0 || strcmp(mode, "execveat") == 0) {
        int fd = open(target, O_PATH);  // not O_CLOEXEC: a script's interpreter reopens it
        if (fd < 0)
            return misuse("open(%s, O_PATH): %s", target, strerror(errno));
        printf("fd=%d\n", fd);
        if (mode[0] == 'p') {
            char p[64];
            snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
            execve(p, args, environ);
            return blocked_errno("execve(/proc/self/fd/N)", errno);
        }
        syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
        return blocked_errno("execveat(AT_EMPTY_PATH)", errno);
    }
    if (strcmp(mode, "shebang") == 0) {
        unlink("med-shebang.sh");
        int fd = open("med-shebang.sh", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        if (fd < 0)
            return misuse("create med-shebang.sh: %s", strerror(errno));
        char line[PATH_MAX + 8];
        int len = snprintf(line, sizeof line, "#!%s\n", target);
        if (write(fd, line, (size_t)len) != len)
            return misuse("write med-shebang.sh: %s", strerror(errno));
        close(fd);
        args[0] = "./med-shebang.sh";
        execve("./med-shebang.sh", args, environ);
        return blocked_errno("execve(shebang script)", errno);
    }
    return misuse("med-exec: unknown mode %s", mode);
}

// med-denied NAME: one call the built-in filter denies, with fixed arguments (all six registers
// set): ptrace (PTRACE_ATTACH, pid 1), mount, unshare (CLONE_NEWUSER), bpf (all zero),
// io_uring_setup (1, 0...). Exit 1 with errno=NAME when refused; 0 (escape) when it ran.
static int cmd_med_denied(int argc, char **argv)
{
    if (argc != 2)
        return misuse("med-denied ptrace|mount|unshare|bpf|io_uring_setup");
    const char *name = argv[1];
    long r;
    if (strcmp(name, "ptrace") == 0)
        r = syscall(SYS_ptrace, (long)PTRACE_ATTACH, 1L, 0L, 0L, 0L, 0L);
    else if (strcmp(name, "mount") == 0)
        r = syscall(SYS_mount, "none", "/tmp", "tmpfs", 0L, 0L, 0L);
    else if (strcmp(name, "unshare") == 0)
        r = syscall(SYS_unshare, (long)CLONE_NEWUSER, 0L, 0L, 0L, 0L, 0L);
    else if (strcmp(name, "bpf") == 0)
        r = syscall(SYS_bpf, 0L, 0L, 0L, 0L, 0L, 0L);
    else if (strcmp(name, "io_uring_setup") == 0)
        r = syscall(SYS_io_uring_setup, 1L, 0L, 0L, 0L, 0L, 0L);
    else
        return misuse("med-denied: unknown call %s", name);
    int e = errno;
    if (r >= 0)
        return escaped("%s returned %ld", name, r);
    printf("errno=%s\n", errno_name(e));
    return reach(name, r, e);
}

// MARK: - races

static char race_buf[PATH_MAX];
static size_t race_flip_at;
static char race_a, race_b;
static atomic_int race_stop;
static atomic_int race_started;

static void *flipper(void *arg)
{
    (void)arg;
    volatile char *c = (volatile char *)&race_buf[race_flip_at];
    atomic_store(&race_started, 1);
    while (!atomic_load_explicit(&race_stop, memory_order_relaxed)) {
        *c = race_a;
        *c = race_b;
    }
    return NULL;
}

/// Prepares race_buf = allowed, and the one byte where allowed and denied differ.
static int race_setup(const char *allowed, const char *denied)
{
    size_t la = strlen(allowed), ld = strlen(denied);
    if (la != ld || la >= sizeof race_buf)
        return misuse("the allowed and denied paths must have the same length");
    size_t diff = la, ndiff = 0;
    for (size_t i = 0; i < la; i++)
        if (allowed[i] != denied[i]) {
            diff = i;
            ndiff++;
        }
    if (ndiff != 1)
        return misuse("the allowed and denied paths must differ in exactly one byte");
    memcpy(race_buf, allowed, la + 1);
    race_flip_at = diff;
    race_a = allowed[diff];
    race_b = denied[diff];
    return 0;
}

// med-race-open ALLOWED DENIED N: a thread flips one byte of a path buffer between ALLOWED and
// DENIED while this thread calls openat(AT_FDCWD, buf, O_WRONLY|O_CREAT|O_CLOEXEC, 0644) N
// times. Each opened fd is checked through /proc/self/fd. Prints
// "opens=N allowed=A denied_opened=D foreign=F refused=R" (foreign: an fd that is neither file, as
// /proc/self/fd shows it); exit 0 (escape) when DENIED was ever opened.
static int cmd_med_race_open(int argc, char **argv)
{
    if (argc != 4)
        return misuse("med-race-open ALLOWED DENIED N");
    int rc = race_setup(argv[1], argv[2]);
    if (rc != 0)
        return rc;
    long n = atol(argv[3]);
    const char *denied = argv[2];
    char denied_abs[PATH_MAX + 8], allowed_abs[PATH_MAX + 8], cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return misuse("getcwd: %s", strerror(errno));
    snprintf(denied_abs, sizeof denied_abs, "%s%s%s", denied[0] == '/' ? "" : cwd, denied[0] == '/' ? "" : "/", denied);
    snprintf(allowed_abs, sizeof allowed_abs, "%s%s%s", argv[1][0] == '/' ? "" : cwd, argv[1][0] == '/' ? "" : "/", argv[1]);
    pthread_t t;
    if (pthread_create(&t, NULL, flipper, NULL) != 0)
        return misuse("pthread_create failed");
    while (!atomic_load(&race_started)) {
    }
    long opens = 0, allowed = 0, denied_opened = 0, foreign = 0, refused = 0;
    int last_err = 0;
    for (long i = 0; i < n; i++) {
        int fd = (int)syscall(SYS_openat, AT_FDCWD, race_buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            refused++;
            last_err = errno;
            continue;
        }
        opens++;
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len > 0) {
            target[len] = '\0';
            if (strcmp(target, denied_abs) == 0)
                denied_opened++;
            else if (strcmp(target, allowed_abs) == 0)
                allowed++;
            else
                foreign++;
        } else {
            foreign++;
        }
        close(fd);
    }
    atomic_store(&race_stop, 1);
    pthread_join(t, NULL);
    printf("opens=%ld allowed=%ld denied_opened=%ld foreign=%ld refused=%ld last_errno=%s\n", opens, allowed, denied_opened,
           foreign, refused, errno_name(last_err));
    if (denied_opened > 0)
        return escaped("%s was opened %ld times", denied, denied_opened);
    return blockedf("%s never opened", denied);
}

static int race_exec_child(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, flipper, NULL) != 0)
        _exit(PROBE_MISUSE);
    // Let the flipper get going, then exec whatever the buffer names at that instant.
    while (!atomic_load(&race_started)) {
    }
    for (volatile int spin = 0; spin < (int)(getpid() % 997); spin++) {
    }
    char *args[] = {race_buf, NULL};
    syscall(SYS_execve, race_buf, args, environ);
    _exit(errno == EPERM ? 10 : errno == EACCES ? 11 : 12);
}

// med-race-exec ALLOWED DENIED N: N times, a child starts a thread flipping one byte of a path
// buffer between ALLOWED and DENIED and calls execve(buf). Prints
// "execs=N ran=R eperm=P eacces=A other=O"; exit 1 unless something unexpected happened (the
// test checks the marker DENIED leaves).
static int cmd_med_race_exec(int argc, char **argv)
{
    if (argc != 4)
        return misuse("med-race-exec ALLOWED DENIED N");
    int rc = race_setup(argv[1], argv[2]);
    if (rc != 0)
        return rc;
    long n = atol(argv[3]);
    long ran = 0, eperm = 0, eacces = 0, other = 0;
    for (long i = 0; i < n; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return misuse("fork: %s", strerror(errno));
        if (pid == 0)
            race_exec_child();
        int st = wait_status(pid);
        if (st == 0)
            ran++;
        else if (st == 10)
            eperm++;
        else if (st == 11)
            eacces++;
        else
            other++;
    }
    printf("execs=%ld ran=%ld eperm=%ld eacces=%ld other=%ld\n", n, ran, eperm, eacces, other);
    return blockedf("race finished");
}

// MARK: - flood

static long flood_per_thread;
static atomic_long flood_calls;

static void *flooder(void *arg)
{
    const char *path = arg;
    long made = 0;
    for (long i = 0; i < flood_per_thread; i++) {
        syscall(SYS_unlink, path);
        made++;
    }
    atomic_fetch_add(&flood_calls, made);
    return NULL;
}

// med-flood THREADS TOTAL PATH: THREADS threads call unlink(PATH) (a missing file) TOTAL times
// in all. Prints "calls=N" (the calls actually made) and exits 0.
static int cmd_med_flood(int argc, char **argv)
{
    if (argc != 4)
        return misuse("med-flood THREADS TOTAL PATH");
    int threads = atoi(argv[1]);
    long total = atol(argv[2]);
    if (threads < 1 || threads > 64 || total < threads)
        return misuse("med-flood: bad numbers");
    flood_per_thread = total / threads;
    pthread_t t[64];
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, flooder, argv[3]) != 0)
            return misuse("pthread_create failed");
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("calls=%ld\n", atomic_load(&flood_calls));
    return 0;
}

// med-tiny: prints "pid=N", calls getpid and writes "tiny\n" to stdout with raw syscalls.
static int cmd_med_tiny(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long pid = syscall(SYS_getpid);
    char msg[64];
    int len = snprintf(msg, sizeof msg, "pid=%ld\n", pid);
    syscall(SYS_write, 1L, msg, (long)len);
    syscall(SYS_write, 1L, "tiny\n", 5L);
    return 0;
}

// med-kill PID SIG: kill(PID, SIG); prints "kill=0" or "errno=NAME". Exit 0 either way.
static int cmd_med_kill(int argc, char **argv)
{
    if (argc != 3)
        return misuse("med-kill PID SIG");
    signal(atoi(argv[2]), SIG_IGN);  // in case the signal comes back to this process
    long r = syscall(SYS_kill, (long)atoi(argv[1]), (long)atoi(argv[2]));
    if (r == 0)
        printf("kill=0\n");
    else
        printf("errno=%s\n", errno_name(errno));
    return 0;
}

// med-badptr: mediated calls whose pointer arguments cannot be read: openat with pathname 1,
// openat with a pathname that runs into a PROT_NONE page, execve with argv[1] = 1, connect with
// addr = 1. Prints "CALL errno=NAME" for each; exit 0 (escape) if any succeeded, else 1.
static int cmd_med_badptr(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map + page, (size_t)page, PROT_NONE) != 0)
        return misuse("mmap: %s", strerror(errno));
    char *tail = map + page - 64;
    memset(tail, 'a', 64);  // no NUL before the PROT_NONE page
    int ok = 0;
    long r;

    r = syscall(SYS_openat, AT_FDCWD, (char *)1, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    printf("openat-bad errno=%s\n", r < 0 ? errno_name(errno) : "none");
    ok |= r >= 0;
    r = syscall(SYS_openat, AT_FDCWD, tail, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    printf("openat-unterminated errno=%s\n", r < 0 ? errno_name(errno) : "none");
    ok |= r >= 0;
    char *args[] = {"/usr/bin/true", (char *)1, NULL};
    r = syscall(SYS_execve, "/usr/bin/true", args, environ);
    printf("execve-badargv errno=%s\n", r < 0 ? errno_name(errno) : "none");
    ok |= r >= 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    r = syscall(SYS_connect, fd, (void *)1, 16L);
    printf("connect-bad errno=%s\n", r < 0 ? errno_name(errno) : "none");
    ok |= r >= 0;
    return ok ? escaped("a call with an unreadable argument succeeded") : blockedf("every call failed");
}

// med-race-mkdir ALLOWED DENIED N: a thread flips one byte of a path buffer between ALLOWED and
// DENIED while this thread calls mkdir(buf) then rmdir(buf) N times; after each mkdir it looks
// whether DENIED exists. Prints "mkdirs=N made=M denied_made=D refused=R"; exit 0 (escape) when
// DENIED was ever created.
static int cmd_med_race_mkdir(int argc, char **argv)
{
    if (argc != 4)
        return misuse("med-race-mkdir ALLOWED DENIED N");
    int rc = race_setup(argv[1], argv[2]);
    if (rc != 0)
        return rc;
    long n = atol(argv[3]);
    pthread_t t;
    if (pthread_create(&t, NULL, flipper, NULL) != 0)
        return misuse("pthread_create failed");
    while (!atomic_load(&race_started)) {
    }
    long made = 0, denied_made = 0, refused = 0;
    struct stat st;
    for (long i = 0; i < n; i++) {
        if (syscall(SYS_mkdir, race_buf, 0755) != 0) {
            refused++;
            continue;
        }
        made++;
        if (stat(argv[2], &st) == 0) {
            denied_made++;
            rmdir(argv[2]);
        }
        rmdir(argv[1]);
    }
    atomic_store(&race_stop, 1);
    pthread_join(t, NULL);
    printf("mkdirs=%ld made=%ld denied_made=%ld refused=%ld\n", n, made, denied_made, refused);
    if (denied_made > 0)
        return escaped("%s was created %ld times", argv[2], denied_made);
    return blockedf("%s never created", argv[2]);
}

const struct probe_command mediate_commands[] = {
    {"med-race-mkdir", cmd_med_race_mkdir, "ALLOWED DENIED N"},
    {"med-exec", cmd_med_exec, "direct|symlink|hardlink|procfd|execveat|shebang TARGET [ARGS...]"},
    {"med-denied", cmd_med_denied, "ptrace|mount|unshare|bpf|io_uring_setup"},
    {"med-race-open", cmd_med_race_open, "ALLOWED DENIED N"},
    {"med-race-exec", cmd_med_race_exec, "ALLOWED DENIED N"},
    {"med-flood", cmd_med_flood, "THREADS TOTAL PATH"},
    {"med-tiny", cmd_med_tiny, ""},
    {"med-kill", cmd_med_kill, "PID SIG"},
    {"med-badptr", cmd_med_badptr, ""},
    {NULL, NULL, NULL},
};

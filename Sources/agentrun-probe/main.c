// agentrun-probe: dispatcher and shared helpers. See probe.h for the exit-status contract.
#include "probe.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

bool g_control = false;

bool in_sandbox(void)
{
    const char *v = getenv("AGENTRUN");
    return v != NULL && strcmp(v, "1") == 0;
}

static void vprint(const char *prefix, const char *fmt, va_list ap)
{
    fputs(prefix, stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
}

int escaped(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint("escaped: ", fmt, ap);
    va_end(ap);
    return PROBE_ESCAPED;
}

int blocked(const char *what, int err)
{
    printf("blocked: %s: %s\n", what, strerror(err));
    fflush(stdout);
    return PROBE_BLOCKED;
}

int blockedf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint("blocked: ", fmt, ap);
    va_end(ap);
    return PROBE_BLOCKED;
}

int misuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("misuse: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return PROBE_MISUSE;
}

void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint("  ", fmt, ap);
    va_end(ap);
}

int combine(int a, int b)
{
    if (a == PROBE_ESCAPED || b == PROBE_ESCAPED)
        return PROBE_ESCAPED;
    if (a == PROBE_MISUSE || b == PROBE_MISUSE)
        return PROBE_MISUSE;
    return PROBE_BLOCKED;
}

int reach(const char *what, long ret, int err)
{
    if (ret >= 0)
        return escaped("%s returned %ld", what, ret);
    if (err == EPERM || err == EACCES || err == ENOSYS)
        return blocked(what, err);
    return escaped("%s reached the kernel handler (%s)", what, strerror(err));
}

int wait_status(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, __WALL) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

int in_child(int (*fn)(void *), void *arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return misuse("fork: %s", strerror(errno));
    if (pid == 0)
        _exit(fn(arg));
    int st = wait_status(pid);
    if (st == 128 + SIGSYS)
        return blockedf("child killed by SIGSYS (seccomp)");
    if (st > 128)
        return misuse("child killed by signal %d", st - 128);
    if (st < 0)
        return misuse("waitpid failed");
    return st;
}

int isolate_for_control(int clone_flags)
{
    if (!g_control) {
        if (in_sandbox())
            return 0;
        return misuse("refusing to run a destructive primitive outside a sandbox without --control");
    }
    if (clone_flags == 0)
        return 0;
    if (unshare(clone_flags) != 0)
        return misuse("control setup: unshare(0x%x): %s (controls need root)", clone_flags, strerror(errno));
    if ((clone_flags & CLONE_NEWNS) && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return misuse("control setup: make / private: %s", strerror(errno));
    return 0;
}

int copy_self(const char *path, int mode)
{
    int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno;
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0) {
        int e = errno;
        close(in);
        return e;
    }
    char buf[65536];
    ssize_t n;
    int err = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            err = errno ? errno : EIO;
            break;
        }
    }
    if (n < 0)
        err = errno;
    close(in);
    close(out);
    if (err == 0 && chmod(path, (mode_t)mode) != 0)
        err = errno;
    return err;
}

ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off + 1 < cap) {
        ssize_t n = read(fd, buf + off, cap - 1 - off);
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        off += (size_t)n;
    }
    buf[off] = '\0';
    close(fd);
    return (ssize_t)off;
}

static const struct probe_command *const groups[] = {
    fs_commands, proc_commands, priv_commands, ns_commands, kern_commands,
    sock_commands, tty_commands, res_commands, life_commands, mediate_commands,
};

static void usage(void)
{
    fputs("usage: agentrun-probe [--control] ATTACK [ARGS...]\n"
          "exit 0 = attack succeeded, 1 = blocked, 2 = misuse\n\n",
          stderr);
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (const struct probe_command *c = groups[g]; c->name != NULL; c++)
            fprintf(stderr, "  %s %s\n", c->name, c->usage);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int i = 1;
    if (i < argc && strcmp(argv[i], "--control") == 0) {
        g_control = true;
        i++;
    }
    if (i >= argc) {
        usage();
        return PROBE_MISUSE;
    }
    const char *name = argv[i];
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (const struct probe_command *c = groups[g]; c->name != NULL; c++)
            if (strcmp(c->name, name) == 0)
                return c->fn(argc - i, argv + i);
    if (strcmp(name, "list") == 0 || strcmp(name, "--help") == 0) {
        usage();
        return 0;
    }
    fprintf(stderr, "agentrun-probe: unknown attack '%s'\n", name);
    usage();
    return PROBE_MISUSE;
}

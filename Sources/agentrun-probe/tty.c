// Terminal attacks: TIOCSTI input injection (bwrap CVE-2017-5226) and TIOCLINUX (flatpak
// CVE-2023-28100), also with high bits set in the 64-bit request (CVE-2019-10063); taking a
// controlling terminal back with TIOCSCTTY.
#include "probe.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define HIGH_BITS (1UL << 32)

static bool want_high(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[argc - 1], "high") == 0;
}

static int sti(int fd, bool high, const char *label)
{
    const char *inject = "#agentrun-probe-injected\n";
    unsigned long req = (unsigned long)TIOCSTI | (high ? HIGH_BITS : 0);
    for (const char *c = inject; *c; c++) {
        if (ioctl(fd, req, c) != 0) {
            char what[96];
            snprintf(what, sizeof what, "ioctl(%s, TIOCSTI%s)", label, high ? "|1<<32" : "");
            return blocked(what, errno);
        }
    }
    return escaped("TIOCSTI%s injected input into %s", high ? " (high bits set)" : "", label);
}

// tiocsti-fd0 [high]: inject into the inherited terminal on fd 0; if refused, become a session
// leader, take fd 0 as controlling terminal (TIOCSCTTY, also forced) and retry.
static int cmd_tiocsti_fd0(int argc, char **argv)
{
    bool high = want_high(argc, argv);
    if (!isatty(0))
        note("fd 0 is not a terminal");
    int r = sti(0, high, "fd 0");
    if (r == PROBE_ESCAPED)
        return r;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setsid() < 0)
            printf("  setsid: %s\n", strerror(errno));
        if (ioctl(0, TIOCSCTTY, 0) != 0) {
            printf("  ioctl(0, TIOCSCTTY, 0): %s\n", strerror(errno));
            if (ioctl(0, TIOCSCTTY, 1) != 0)
                printf("  ioctl(0, TIOCSCTTY, 1 /* steal */): %s\n", strerror(errno));
        }
        _exit(sti(0, high, "fd 0 as new controlling tty"));
    }
    int st = wait_status(pid);
    if (st == 0)
        return PROBE_ESCAPED;
    if (st == 128 + 31)
        return blockedf("child killed by SIGSYS");
    return r;
}

static int open_pty(char *slave, size_t cap)
{
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return -1;
    if (grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, slave, cap) != 0) {
        int e = errno;
        close(m);
        errno = e;
        return -1;
    }
    return m;
}

// tiocsti-pty [high]: open a pty, make its slave our controlling terminal in a new session,
// and inject into it.
static int cmd_tiocsti_pty(int argc, char **argv)
{
    bool high = want_high(argc, argv);
    char slave[64];
    int m = open_pty(slave, sizeof slave);
    if (m < 0)
        return blocked("open pty", errno);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setsid() < 0)
            printf("  setsid: %s\n", strerror(errno));
        int s = open(slave, O_RDWR);
        if (s < 0) {
            printf("blocked: open(%s): %s\n", slave, strerror(errno));
            _exit(1);
        }
        _exit(sti(s, high, "own pty"));
    }
    int st = wait_status(pid);
    close(m);
    if (st == 128 + 31)
        return blockedf("child killed by SIGSYS");
    return st == 0 ? PROBE_ESCAPED : PROBE_BLOCKED;
}

static int linux_ioctl(int fd, bool high, const char *label)
{
    char arg[2] = {6 /* TIOCL_GETSHIFTSTATE */, 0};
    unsigned long req = (unsigned long)TIOCLINUX | (high ? HIGH_BITS : 0);
    long r = ioctl(fd, req, arg);
    char what[96];
    snprintf(what, sizeof what, "ioctl(%s, TIOCLINUX%s)", label, high ? "|1<<32" : "");
    return reach(what, r, errno);
}

// tioclinux [PATH] [high]: TIOCLINUX on fd 0, on a pty of our own and on PATH (a VT); any
// result other than EPERM/EACCES/ENOSYS means the request reached the tty layer.
static int cmd_tioclinux(int argc, char **argv)
{
    bool high = want_high(argc, argv);
    int r = linux_ioctl(0, high, "fd 0");
    char slave[64];
    int m = open_pty(slave, sizeof slave);
    if (m >= 0) {
        r = combine(r, linux_ioctl(m, high, "own pty"));
        close(m);
    } else {
        note("open pty: %s", strerror(errno));
    }
    if (argc > 1 && strcmp(argv[1], "high") != 0) {
        int fd = open(argv[1], O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0) {
            r = combine(r, linux_ioctl(fd, high, argv[1]));
            close(fd);
        } else {
            note("open(%s): %s", argv[1], strerror(errno));
        }
    }
    return r;
}

// ctty: the escape is having a controlling terminal (/dev/tty opens).
static int cmd_ctty(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    note("pid %d sid %d pgid %d", getpid(), getsid(0), getpgrp());
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return escaped("/dev/tty opened: a controlling terminal is attached");
    }
    return blocked("open(/dev/tty)", errno);
}

const struct probe_command tty_commands[] = {
    {"tiocsti-fd0", cmd_tiocsti_fd0, "[high]"},
    {"tiocsti-pty", cmd_tiocsti_pty, "[high]"},
    {"tioclinux", cmd_tioclinux, "[PATH] [high]"},
    {"ctty", cmd_ctty, ""},
    {NULL, NULL, NULL},
};

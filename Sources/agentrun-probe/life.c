// Lifecycle helpers (not attacks): exit statuses, signals, a daemonized grandchild, identity.
#include "probe.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmd_noop(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int cmd_exit(int argc, char **argv)
{
    return argc == 2 ? atoi(argv[1]) : misuse("exit N");
}

static int cmd_raise(int argc, char **argv)
{
    if (argc != 2)
        return misuse("raise SIG");
    int sig = atoi(argv[1]);
    signal(sig, SIG_DFL);
    raise(sig);
    return misuse("still alive after signal %d", sig);
}

static void on_signal(int sig)
{
    char msg[64];
    int n = snprintf(msg, sizeof msg, "got signal %d\n", sig);
    if (write(1, msg, (size_t)n) < 0) {
    }
    _exit(100 + sig);
}

// signals: print "ready", then exit 100+N on SIGTERM/SIGINT/SIGHUP after printing "got signal N".
static int cmd_signals(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < 600; i++)
        sleep(1);
    return misuse("no signal within 600 s");
}

// daemon MARKER [wait|exit]: double-fork a grandchild in a new session that ignores SIGTERM,
// SIGINT and SIGHUP and rewrites MARKER (an increasing counter) every 100 ms. The main process
// then waits forever ("wait") or exits ("exit").
static int cmd_daemon(int argc, char **argv)
{
    if (argc < 2)
        return misuse("daemon MARKER [wait|exit]");
    const char *marker = argv[1];
    bool wait_mode = argc < 3 || strcmp(argv[2], "wait") == 0;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        setsid();
        pid_t gc = fork();
        if (gc != 0)
            _exit(gc < 0 ? 1 : 0);
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        for (unsigned long n = 1;; n++) {
            char tmp[PATH_MAX];
            snprintf(tmp, sizeof tmp, "%s.tmp", marker);
            int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) {
                char buf[64];
                int len = snprintf(buf, sizeof buf, "%lu %d\n", n, getpid());
                if (write(fd, buf, (size_t)len) < 0) {
                }
                close(fd);
                rename(tmp, marker);
            }
            usleep(100000);
        }
    }
    wait_status(child);
    printf("daemon started\n");
    fflush(stdout);
    if (!wait_mode)
        return 0;
    for (;;)
        pause();
}

// id: print identity and context (helper).
static int cmd_id(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char host[256] = "", cwd[PATH_MAX] = "";
    gethostname(host, sizeof host);
    if (getcwd(cwd, sizeof cwd) == NULL)
        snprintf(cwd, sizeof cwd, "?");
    printf("uid=%d gid=%d euid=%d egid=%d pid=%d ppid=%d sid=%d pgid=%d\n", getuid(), getgid(), geteuid(),
           getegid(), getpid(), getppid(), getsid(0), getpgrp());
    printf("hostname=%s\ncwd=%s\n", host, cwd);
    return 0;
}

// sleep SECONDS (helper).
static int cmd_sleep(int argc, char **argv)
{
    if (argc != 2)
        return misuse("sleep SECONDS");
    double s = atof(argv[1]);
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
    return 0;
}

const struct probe_command life_commands[] = {
    {"noop", cmd_noop, ""},
    {"exit", cmd_exit, "N"},
    {"raise", cmd_raise, "SIG"},
    {"signals", cmd_signals, ""},
    {"daemon", cmd_daemon, "MARKER [wait|exit]"},
    {"id", cmd_id, ""},
    {"sleep", cmd_sleep, "SECONDS"},
    {NULL, NULL, NULL},
};

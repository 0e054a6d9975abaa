// Resource attacks: exceeding RLIMIT_FSIZE/NPROC/NOFILE/AS/CPU, raising hard limits, core dumps,
// a bounded fork bomb.
#include "probe.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long long parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == 'K' || *end == 'k')
        v <<= 10;
    else if (*end == 'M' || *end == 'm')
        v <<= 20;
    else if (*end == 'G' || *end == 'g')
        v <<= 30;
    return v;
}

// write-big PATH SIZE: the escape is writing SIZE bytes (beyond RLIMIT_FSIZE).
static int cmd_write_big(int argc, char **argv)
{
    if (argc != 3)
        return misuse("write-big PATH SIZE");
    signal(SIGXFSZ, SIG_IGN);
    unsigned long long want = parse_size(argv[2]), done = 0;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return misuse("open(%s): %s", argv[1], strerror(errno));
    static char buf[65536];
    memset(buf, 'x', sizeof buf);
    while (done < want) {
        size_t n = want - done < sizeof buf ? (size_t)(want - done) : sizeof buf;
        ssize_t w = write(fd, buf, n);
        if (w <= 0) {
            int e = errno;
            close(fd);
            note("wrote %llu of %llu bytes", done, want);
            return blocked("write", e);
        }
        done += (unsigned long long)w;
    }
    close(fd);
    return escaped("wrote %llu bytes to %s", done, argv[1]);
}

// fork-many N: the escape is N simultaneous children (beyond the processes limit).
static int cmd_fork_many(int argc, char **argv)
{
    if (argc != 2)
        return misuse("fork-many N");
    int n = atoi(argv[1]), made = 0, err = 0;
    int p[2];
    if (pipe(p) != 0)
        return misuse("pipe");
    for (; made < n; made++) {
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            close(p[1]);
            char c;
            while (read(p[0], &c, 1) < 0) {
            }
            _exit(0);
        }
    }
    close(p[1]);
    while (wait(NULL) > 0) {
    }
    if (made == n)
        return escaped("%d processes forked", made);
    note("fork failed after %d children", made);
    return blocked("fork", err);
}

// fork-bomb MAX: an exponential fork tree capped at MAX processes in total (so a runner without
// a limit does not take the host down). The escape is reaching MAX; blocked when fork fails
// first. Survivors sleep: the sandbox must kill them when the probe exits.
static int cmd_fork_bomb(int argc, char **argv)
{
    if (argc != 2)
        return misuse("fork-bomb MAX");
    if (!in_sandbox() && !g_control)
        return misuse("refusing to fork-bomb the host without --control");
    long max = atol(argv[1]);
    volatile long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return misuse("mmap");
    shared[0] = 1; // processes made
    shared[1] = 0; // first fork errno
    pid_t root = getpid();
    for (;;) {
        long n = __atomic_add_fetch(&shared[0], 1, __ATOMIC_SEQ_CST);
        if (n > max) {
            __atomic_sub_fetch(&shared[0], 1, __ATOMIC_SEQ_CST);
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            __atomic_sub_fetch(&shared[0], 1, __ATOMIC_SEQ_CST);
            long zero = 0;
            __atomic_compare_exchange_n(&shared[1], &zero, (long)errno, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            break;
        }
    }
    if (getpid() != root) {
        for (;;)
            pause();
    }
    usleep(500000);
    long made = shared[0];
    if (shared[1] != 0) {
        note("%ld processes before fork failed", made);
        return blocked("fork", (int)shared[1]);
    }
    return escaped("the fork bomb reached %ld processes", made);
}

// open-many N: the escape is N simultaneously open files (beyond RLIMIT_NOFILE).
static int cmd_open_many(int argc, char **argv)
{
    if (argc != 2)
        return misuse("open-many N");
    int n = atoi(argv[1]);
    for (int i = 0; i < n; i++) {
        if (open("/dev/null", O_RDONLY) < 0) {
            note("opened %d files", i);
            return blocked("open", errno);
        }
    }
    return escaped("%d files open", n);
}

// mmap-big SIZE: the escape is reserving SIZE bytes of address space (beyond RLIMIT_AS).
static int cmd_mmap_big(int argc, char **argv)
{
    if (argc != 2)
        return misuse("mmap-big SIZE");
    size_t sz = (size_t)parse_size(argv[1]);
    void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return blocked("mmap", errno);
    return escaped("mapped %zu bytes", sz);
}

// spin SECONDS: burn SECONDS of CPU time; the escape is finishing (no CPU limit stopped us).
static int cmd_spin(int argc, char **argv)
{
    if (argc != 2)
        return misuse("spin SECONDS");
    double want = atof(argv[1]);
    struct timespec ts;
    volatile unsigned long x = 0;
    for (;;) {
        for (int i = 0; i < 1000000; i++)
            x += (unsigned long)i;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        if (ts.tv_sec + ts.tv_nsec / 1e9 >= want)
            break;
    }
    return escaped("burned %s s of CPU", argv[1]);
}

struct rlim_name {
    const char *name;
    int res;
};

static const struct rlim_name rlims[] = {
    {"core", RLIMIT_CORE}, {"fsize", RLIMIT_FSIZE}, {"nproc", RLIMIT_NPROC},
    {"nofile", RLIMIT_NOFILE}, {"as", RLIMIT_AS}, {"cpu", RLIMIT_CPU}, {NULL, 0},
};

// rlimit-raise NAME...: raise the hard limit (and the soft one to it). The escape is any raise.
static int cmd_rlimit_raise(int argc, char **argv)
{
    if (argc < 2)
        return misuse("rlimit-raise core|fsize|nproc|nofile|as|cpu...");
    int r = PROBE_BLOCKED;
    for (int i = 1; i < argc; i++) {
        const struct rlim_name *l = rlims;
        while (l->name && strcmp(l->name, argv[i]) != 0)
            l++;
        if (!l->name)
            return misuse("unknown limit %s", argv[i]);
        struct rlimit old;
        getrlimit(l->res, &old);
        note("%s: soft %llu hard %llu", l->name, (unsigned long long)old.rlim_cur, (unsigned long long)old.rlim_max);
        if (old.rlim_max == RLIM_INFINITY) {
            r = combine(r, escaped("%s has no hard limit", l->name));
            continue;
        }
        struct rlimit raised = {old.rlim_max + 1, old.rlim_max + 1};
        if (l->res == RLIMIT_NOFILE) {
            raised.rlim_cur = raised.rlim_max = old.rlim_max + 16;
        } else {
            raised.rlim_cur = raised.rlim_max = RLIM_INFINITY;
        }
        char what[64];
        snprintf(what, sizeof what, "setrlimit(%s, raise hard limit)", l->name);
        if (setrlimit(l->res, &raised) == 0)
            r = combine(r, escaped("raised the hard %s limit", l->name));
        else
            r = combine(r, blocked(what, errno));
    }
    return r;
}

// core: the escape is being able to dump core (RLIMIT_CORE soft limit > 0, or raisable).
static int cmd_core(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("core");
    struct rlimit l;
    getrlimit(RLIMIT_CORE, &l);
    note("RLIMIT_CORE soft %llu hard %llu", (unsigned long long)l.rlim_cur, (unsigned long long)l.rlim_max);
    if (l.rlim_cur > 0)
        return escaped("core dumps are enabled (soft limit %llu)", (unsigned long long)l.rlim_cur);
    if (l.rlim_max > 0) {
        struct rlimit up = {l.rlim_max, l.rlim_max};
        if (setrlimit(RLIMIT_CORE, &up) == 0)
            return escaped("raised RLIMIT_CORE to %llu", (unsigned long long)l.rlim_max);
    }
    struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_CORE, &inf) == 0)
        return escaped("raised RLIMIT_CORE to unlimited");
    return blocked("setrlimit(RLIMIT_CORE)", errno);
}

const struct probe_command res_commands[] = {
    {"write-big", cmd_write_big, "PATH SIZE"},
    {"fork-many", cmd_fork_many, "N"},
    {"fork-bomb", cmd_fork_bomb, "MAX"},
    {"open-many", cmd_open_many, "N"},
    {"mmap-big", cmd_mmap_big, "SIZE"},
    {"spin", cmd_spin, "SECONDS"},
    {"rlimit-raise", cmd_rlimit_raise, "NAME..."},
    {"core", cmd_core, ""},
    {NULL, NULL, NULL},
};

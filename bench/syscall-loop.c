/*
 * syscall-loop: the cost of one syscall, called back to back (workload of bench/mediation.sh).
 *
 * Runs WARMUP unmeasured calls, then ITERATIONS calls between two CLOCK_MONOTONIC readings, and
 * prints the mean cost per call. Each call is a raw syscall(2), so exactly one system call is
 * made per iteration whatever libc does. Modes:
 *
 *   getppid          getppid(): cheap, never mediated (the unmediated-syscall case)
 *   unlink-missing   unlink("/tmp/agentrun-bench-missing/x"): a file-write path syscall that
 *                    fails with ENOENT (nothing is ever removed)
 *   ptrace           ptrace(PTRACE_PEEKDATA, 1, 0, 0): denied inside the sandbox (EPERM)
 *   kill1            kill(1, 0): a signal check aimed at pid 1
 *
 *   gcc -O2 -o syscall-loop bench/syscall-loop.c
 *   syscall-loop MODE ITERATIONS [WARMUP]        (WARMUP defaults to ITERATIONS/10, at least 100)
 *
 * Output, one line:
 *   RESULT mode=unlink-missing iterations=20000 ns_per_call=5321.4 ret=-1 errno=ENOENT inconsistent=0
 * ret/errno are those of the first measured call; `inconsistent` counts measured calls whose
 * result differed from it (it should be 0). Exit status 1 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MISSING_PATH "/tmp/agentrun-bench-missing/x"

enum mode { MODE_GETPPID, MODE_UNLINK_MISSING, MODE_PTRACE, MODE_KILL1 };

static const struct { const char *name; enum mode mode; } modes[] = {
    {"getppid", MODE_GETPPID},
    {"unlink-missing", MODE_UNLINK_MISSING},
    {"ptrace", MODE_PTRACE},
    {"kill1", MODE_KILL1},
};

static inline long call(enum mode mode) {
    switch (mode) {
    case MODE_GETPPID: return syscall(SYS_getppid);
    case MODE_UNLINK_MISSING: return syscall(SYS_unlink, MISSING_PATH);
    case MODE_PTRACE: return syscall(SYS_ptrace, PTRACE_PEEKDATA, 1, 0, 0);
    case MODE_KILL1: return syscall(SYS_kill, 1, 0);
    }
    return -1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long parse_count(const char *text, const char *what) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0) {
        fprintf(stderr, "syscall-loop: bad %s '%s'\n", what, text);
        exit(1);
    }
    return value;
}

static void usage(void) {
    fprintf(stderr, "usage: syscall-loop getppid|unlink-missing|ptrace|kill1 ITERATIONS [WARMUP]\n");
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) usage();
    int found = -1;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(argv[1], modes[i].name) == 0) found = (int)i;
    if (found < 0) usage();
    enum mode mode = modes[found].mode;
    long iterations = parse_count(argv[2], "ITERATIONS");
    long warmup = argc == 4 ? parse_count(argv[3], "WARMUP") : iterations / 10;
    if (argc < 4 && warmup < 100) warmup = 100;
    if (iterations < 1) usage();

    for (long i = 0; i < warmup; i++) call(mode);

    errno = 0;
    long first = call(mode);
    int first_errno = first == -1 ? errno : 0;
    long inconsistent = 0;
    uint64_t start = now_ns();
    for (long i = 1; i < iterations; i++) {
        long ret = call(mode);
        if (ret != first || (ret == -1 && errno != first_errno)) inconsistent++;
    }
    uint64_t elapsed = now_ns() - start;
    /* The first measured call is outside the timed window (it fixes the expected result);
     * the window holds iterations - 1 calls. */
    double per_call = iterations > 1 ? (double)elapsed / (double)(iterations - 1) : 0.0;

    const char *errno_name = first_errno == 0 ? "0" : strerrorname_np(first_errno);
    printf("RESULT mode=%s iterations=%ld ns_per_call=%.1f ret=%ld errno=%s inconsistent=%ld\n",
           modes[found].name, iterations, per_call, first, errno_name ? errno_name : "?", inconsistent);
    return 0;
}

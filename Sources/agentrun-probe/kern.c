// Kernel interface attacks: io_uring, bpf, perf, userfaultfd, keyrings, kexec, modules, reboot,
// swap, acct, quotactl, clocks, syslog, personality, file handles (shocker), /proc/kallsyms,
// the i386 (int 0x80) and x32 ABIs.
//
// Calls with side effects on the host are made with arguments the kernel rejects after its
// permission check (an invalid flag, a missing path, fd -1), so a control run as root reaches
// the handler and changes nothing.
#include "probe.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/quota.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif

// io-uring: io_uring_setup, and io_uring_enter/register on fd -1.
static int cmd_io_uring(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("io-uring");
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    long fd = syscall(SYS_io_uring_setup, 4, &p);
    int r = fd >= 0 ? escaped("io_uring_setup -> fd %ld", fd) : blocked("io_uring_setup", errno);
    long e = syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
    r = combine(r, reach("io_uring_enter(-1)", e, errno));
    long g = syscall(SYS_io_uring_register, -1, 0, NULL, 0);
    r = combine(r, reach("io_uring_register(-1)", g, errno));
    return r;
}

// bpf: create an array map and load a trivial socket filter.
static int cmd_bpf(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("bpf");
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 1;
    long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
    int r = fd >= 0 ? escaped("bpf(BPF_MAP_CREATE) -> fd %ld", fd) : blocked("bpf(BPF_MAP_CREATE)", errno);
    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = (uint64_t)(uintptr_t)prog;
    a.insn_cnt = 2;
    a.license = (uint64_t)(uintptr_t)"GPL";
    fd = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
    r = combine(r, fd >= 0 ? escaped("bpf(BPF_PROG_LOAD) -> fd %ld", fd) : blocked("bpf(BPF_PROG_LOAD)", errno));
    return r;
}

// perf: perf_event_open of a user-space-only software counter on ourselves (allowed to ordinary
// users at perf_event_paranoid <= 2, so only the sandbox's filter refuses it).
static int cmd_perf(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("perf");
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    if (fd >= 0)
        return escaped("perf_event_open -> fd %ld", fd);
    return blocked("perf_event_open", errno);
}

// userfaultfd: with UFFD_USER_MODE_ONLY (allowed to ordinary users) and without.
static int cmd_userfaultfd(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("userfaultfd");
    int r = PROBE_BLOCKED;
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    r = combine(r, fd >= 0 ? escaped("userfaultfd(UFFD_USER_MODE_ONLY) -> fd %ld", fd)
                           : blocked("userfaultfd(UFFD_USER_MODE_ONLY)", errno));
    fd = syscall(SYS_userfaultfd, O_CLOEXEC);
    r = combine(r, fd >= 0 ? escaped("userfaultfd(0) -> fd %ld", fd) : blocked("userfaultfd(0)", errno));
    return r;
}

// keyctl: add_key, keyctl(GET_KEYRING_ID of the user keyring), request_key.
static int cmd_keyctl(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("keyctl");
    int r = PROBE_BLOCKED;
    long k = syscall(SYS_add_key, "user", "agentrun-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
    r = combine(r, k >= 0 ? escaped("add_key -> %ld", k) : blocked("add_key", errno));
    long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
    r = combine(r, id >= 0 ? escaped("keyctl(GET_KEYRING_ID, user keyring) -> %ld", id)
                           : blocked("keyctl(GET_KEYRING_ID)", errno));
    long q = syscall(SYS_request_key, "user", "agentrun-probe-missing", NULL, 0);
    r = combine(r, reach("request_key", q, errno));
    return r;
}

// kexec: kexec_load and kexec_file_load with an invalid flag (EINVAL right after the
// CAP_SYS_BOOT check: nothing is loaded or unloaded).
static int cmd_kexec(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("kexec");
    long a = syscall(SYS_kexec_load, 0, 0, NULL, 0x8000UL);
    int r = reach("kexec_load(invalid flag)", a, errno);
    long b = syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0x80000000UL);
    return combine(r, reach("kexec_file_load(invalid flag)", b, errno));
}

// modules: init_module (empty image), finit_module(-1), delete_module(missing).
static int cmd_modules(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("modules");
    char img[4] = {0};
    long a = syscall(SYS_init_module, img, 0, "");
    int r = reach("init_module(empty image)", a, errno);
    long b = syscall(SYS_finit_module, -1, "", 0);
    r = combine(r, reach("finit_module(-1)", b, errno));
    long c = syscall(SYS_delete_module, "agentrun_probe_no_such_module", O_NONBLOCK);
    return combine(r, reach("delete_module(missing)", c, errno));
}

// reboot: bad magic numbers (EINVAL right after the CAP_SYS_BOOT check).
static int cmd_reboot(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("reboot");
    long a = syscall(SYS_reboot, 0, 0, 0, NULL);
    return reach("reboot(bad magic)", a, errno);
}

// swap: swapon/swapoff of a missing path.
static int cmd_swap(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("swap");
    long a = syscall(SYS_swapon, "/nonexistent-agentrun-probe", 0);
    int r = reach("swapon(missing)", a, errno);
    long b = syscall(SYS_swapoff, "/nonexistent-agentrun-probe");
    return combine(r, reach("swapoff(missing)", b, errno));
}

// acct: process accounting to a missing path.
static int cmd_acct(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("acct");
    long a = syscall(SYS_acct, "/nonexistent-agentrun-probe/acct");
    return reach("acct(missing)", a, errno);
}

// quotactl: Q_GETFMT on a missing device, and quotactl_fd(-1).
static int cmd_quotactl(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("quotactl");
    uint32_t fmt = 0;
    long a = syscall(SYS_quotactl, QCMD(Q_GETFMT, USRQUOTA), "/nonexistent-agentrun-probe", 0, &fmt);
    int r = reach("quotactl(Q_GETFMT, missing)", a, errno);
    long b = syscall(SYS_quotactl_fd, -1, QCMD(Q_GETFMT, USRQUOTA), 0, &fmt);
    return combine(r, reach("quotactl_fd(-1)", b, errno));
}

// time: settimeofday(NULL, NULL) (no change), clock_settime(CLOCK_MONOTONIC) (EINVAL),
// adjtimex and clock_adjtime with modes 0 (read only).
static int cmd_time(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("time");
    long a = syscall(SYS_settimeofday, NULL, NULL);
    int r = reach("settimeofday(NULL, NULL)", a, errno);
    struct timespec ts = {0, 0};
    long b = syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts);
    r = combine(r, reach("clock_settime(CLOCK_MONOTONIC)", b, errno));
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    long c = syscall(SYS_adjtimex, &tx);
    r = combine(r, reach("adjtimex(modes=0)", c, errno));
    memset(&tx, 0, sizeof tx);
    long d = syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx);
    return combine(r, reach("clock_adjtime(CLOCK_REALTIME, modes=0)", d, errno));
}

// syslog: read the kernel log buffer size and contents.
static int cmd_syslog(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("syslog");
    long a = syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
    int r = a >= 0 ? escaped("syslog(SIZE_BUFFER) -> %ld", a) : blocked("syslog(SIZE_BUFFER)", errno);
    static char buf[4096];
    long b = syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf);
    return combine(r, b >= 0 ? escaped("syslog(READ_ALL) read %ld bytes of the kernel log", b)
                             : blocked("syslog(READ_ALL)", errno));
}

static int do_personality(void *unused)
{
    (void)unused;
    int r = PROBE_BLOCKED;
    const unsigned long flags[] = {ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, PER_LINUX32};
    const char *names[] = {"ADDR_NO_RANDOMIZE", "READ_IMPLIES_EXEC", "PER_LINUX32"};
    for (int i = 0; i < 3; i++) {
        errno = 0;
        long old = syscall(SYS_personality, 0xffffffffUL);
        if (old < 0)
            note("personality(query): %s", strerror(errno));
        long set = syscall(SYS_personality, (old < 0 ? 0 : (unsigned long)old) | flags[i]);
        if (set < 0) {
            char what[64];
            snprintf(what, sizeof what, "personality(%s)", names[i]);
            r = combine(r, blocked(what, errno));
            continue;
        }
        long now = syscall(SYS_personality, 0xffffffffUL);
        if (now >= 0 && (now & (long)flags[i]))
            r = combine(r, escaped("personality(%s) took effect (0x%lx)", names[i], now));
        else
            r = combine(r, blockedf("personality(%s) had no effect", names[i]));
        syscall(SYS_personality, old < 0 ? 0UL : (unsigned long)old);
    }
    return r;
}

// personality: change the execution domain (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, PER_LINUX32).
static int cmd_personality(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("personality");
    return in_child(do_personality, NULL);
}

struct handle8 {
    unsigned int handle_bytes;
    int handle_type;
    unsigned char f_handle[8];
};

// shocker [DIR]: open_by_handle_at with a forged handle for inode 2 (the root directory of an
// ext4 filesystem) through a mount fd of DIR: the 2014 Docker "shocker" escape.
static int cmd_shocker(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int mfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mfd < 0)
        return misuse("open(%s): %s", dir, strerror(errno));
    struct handle8 h;
    memset(&h, 0, sizeof h);
    h.handle_bytes = 8;
    h.handle_type = 1; // FILEID_INO32_GEN
    h.f_handle[0] = 2; // inode 2, generation 0
    long fd = syscall(SYS_open_by_handle_at, mfd, &h, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        char link[64], target[256] = "";
        snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0)
            target[n] = '\0';
        return escaped("open_by_handle_at opened the filesystem root (%s)", target);
    }
    return blocked("open_by_handle_at(forged handle, inode 2)", errno);
}

// name-to-handle PATH: the escape is obtaining a file handle (the first step of shocker-style
// attacks, refused by the sandbox's filter).
static int cmd_name_to_handle(int argc, char **argv)
{
    if (argc != 2)
        return misuse("name-to-handle PATH");
    struct {
        unsigned int handle_bytes;
        int handle_type;
        unsigned char f_handle[128];
    } h;
    memset(&h, 0, sizeof h);
    h.handle_bytes = 128;
    int mount_id = 0;
    long r = syscall(SYS_name_to_handle_at, AT_FDCWD, argv[1], &h, &mount_id, 0);
    if (r == 0)
        return escaped("name_to_handle_at(%s): type %d, %u bytes, mount %d", argv[1], h.handle_type,
                       h.handle_bytes, mount_id);
    return reach("name_to_handle_at", r, errno);
}

// kallsyms: the escape is /proc/kallsyms showing real (non-zero) kernel addresses.
static int cmd_kallsyms(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("kallsyms");
    FILE *f = fopen("/proc/kallsyms", "r");
    if (f == NULL)
        return blocked("open(/proc/kallsyms)", errno);
    char line[512];
    int lines = 0, nonzero = 0;
    while (fgets(line, sizeof line, f) != NULL && lines < 200000) {
        lines++;
        if (strtoull(line, NULL, 16) != 0)
            nonzero++;
    }
    fclose(f);
    if (nonzero > 0)
        return escaped("/proc/kallsyms shows %d real kernel addresses", nonzero);
    return blockedf("/proc/kallsyms shows only zero addresses (%d lines)", lines);
}

static long int80(long nr, long a1, long a2, long a3)
{
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(nr), "b"(a1), "c"(a2), "d"(a3)
                     : "memory", "r8", "r9", "r10", "r11");
    return ret;
}

static int do_int80(void *arg)
{
    const char *what = arg;
    if (strcmp(what, "getpid") == 0) {
        long r = int80(20 /* i386 getpid */, 0, 0, 0);
        if (r == getpid())
            return escaped("int 0x80 getpid -> %ld", r);
        if (r < 0)
            return blocked("int 0x80 getpid", (int)-r);
        return blockedf("int 0x80 getpid returned %ld", r);
    }
    if (strcmp(what, "unshare") == 0) {
        long r = int80(310 /* i386 unshare */, 0x10000000 /* CLONE_NEWUSER */, 0, 0);
        if (r == 0)
            return escaped("int 0x80 unshare(CLONE_NEWUSER)");
        return blocked("int 0x80 unshare(CLONE_NEWUSER)", (int)-r);
    }
    if (strcmp(what, "ptrace") == 0) {
        long r = int80(26 /* i386 ptrace */, 0 /* PTRACE_TRACEME */, 0, 0);
        if (r == 0)
            return escaped("int 0x80 ptrace(PTRACE_TRACEME)");
        return blocked("int 0x80 ptrace(PTRACE_TRACEME)", (int)-r);
    }
    return misuse("int80 getpid|unshare|ptrace");
}

// int80 getpid|unshare|ptrace: system calls through the i386 ABI (int 0x80), in a child.
static int cmd_int80(int argc, char **argv)
{
    if (argc != 2)
        return misuse("int80 getpid|unshare|ptrace");
    return in_child(do_int80, argv[1]);
}

static int do_x32(void *arg)
{
    const char *what = arg;
    const long bit = 0x40000000L; // __X32_SYSCALL_BIT
    if (strcmp(what, "getpid") == 0) {
        long r = syscall(bit | SYS_getpid);
        if (r == getpid())
            return escaped("x32 getpid -> %ld", r);
        return blocked("x32 getpid", errno);
    }
    if (strcmp(what, "unshare") == 0) {
        long r = syscall(bit | SYS_unshare, 0x10000000L);
        if (r == 0)
            return escaped("x32 unshare(CLONE_NEWUSER)");
        return blocked("x32 unshare(CLONE_NEWUSER)", errno);
    }
    if (strcmp(what, "native-getpid") == 0) {
        long r = syscall(SYS_getpid);
        return r == getpid() ? escaped("native getpid -> %ld", r) : blocked("getpid", errno);
    }
    return misuse("x32 getpid|unshare|native-getpid");
}

// x32 getpid|unshare|native-getpid: system calls with the x32 bit (0x40000000) set.
static int cmd_x32(int argc, char **argv)
{
    if (argc != 2)
        return misuse("x32 getpid|unshare|native-getpid");
    return in_child(do_x32, argv[1]);
}

static int do_hibits(void *unused)
{
    (void)unused;
    const unsigned long HI = 1UL << 32;
    int r = PROBE_BLOCKED;
    struct {
        const char *what;
        long a, b, c;
    } socks[] = {
        {"socket((1<<32)|AF_PACKET, SOCK_RAW, ETH_P_ALL)", (long)(HI | 17), 3, 0x0300},
        {"socket((1<<32)|AF_VSOCK, SOCK_STREAM)", (long)(HI | 40), 1, 0},
        {"socket(AF_NETLINK, SOCK_RAW, (1<<32)|NETLINK_AUDIT)", 16, 3, (long)(HI | 9)},
        {"socket(AF_NETLINK, (1<<32)|SOCK_RAW, NETLINK_AUDIT)", 16, (long)(HI | 3), 9},
    };
    for (size_t i = 0; i < sizeof socks / sizeof socks[0]; i++) {
        long fd = syscall(SYS_socket, socks[i].a, socks[i].b, socks[i].c);
        if (fd >= 0) {
            close((int)fd);
            r = combine(r, escaped("%s opened", socks[i].what));
        } else {
            note("%s: %s", socks[i].what, strerror(errno));
        }
    }
    char before[128] = "", after[128] = "";
    ssize_t n = readlink("/proc/self/ns/user", before, sizeof before - 1);
    before[n > 0 ? n : 0] = '\0';
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (syscall(SYS_unshare, (long)(HI | 0x10000000L)) != 0)
            _exit(errno & 0x7f);
        n = readlink("/proc/self/ns/user", after, sizeof after - 1);
        after[n > 0 ? n : 0] = '\0';
        _exit(strcmp(before, after) != 0 ? 0 : 126);
    }
    int st = wait_status(pid);
    if (st == 0)
        r = combine(r, escaped("unshare((1<<32)|CLONE_NEWUSER)"));
    else
        note("unshare((1<<32)|CLONE_NEWUSER): %s", st < 126 ? strerror(st) : "no effect");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        long c = syscall(SYS_clone, (long)(HI | 0x10000000L | SIGCHLD), NULL, NULL, NULL, 0);
        if (c == 0) {
            n = readlink("/proc/self/ns/user", after, sizeof after - 1);
            after[n > 0 ? n : 0] = '\0';
            syscall(SYS_exit_group, strcmp(before, after) != 0 ? 0 : 126);
        }
        if (c < 0)
            _exit(errno & 0x7f);
        int cs = 0;
        waitpid((pid_t)c, &cs, 0);
        _exit(WIFEXITED(cs) ? WEXITSTATUS(cs) : 125);
    }
    st = wait_status(pid);
    if (st == 0)
        r = combine(r, escaped("clone((1<<32)|CLONE_NEWUSER)"));
    else
        note("clone((1<<32)|CLONE_NEWUSER): %s", st < 126 ? strerror(st) : "no effect");
    long old = syscall(SYS_personality, 0xffffffffUL);
    long set = syscall(SYS_personality, (long)(HI | (unsigned long)(old < 0 ? 0 : old) | ADDR_NO_RANDOMIZE));
    long now = syscall(SYS_personality, 0xffffffffUL);
    if (set >= 0 && now >= 0 && (now & ADDR_NO_RANDOMIZE) && !(old & ADDR_NO_RANDOMIZE))
        r = combine(r, escaped("personality((1<<32)|ADDR_NO_RANDOMIZE) took effect"));
    else
        note("personality((1<<32)|ADDR_NO_RANDOMIZE): %s", set < 0 ? strerror(errno) : "no effect");
    if (r == PROBE_BLOCKED)
        return blockedf("no call with high argument bits got past the filter");
    return r;
}

// hibits: denied calls with bits above 31 set in int arguments, which the kernel truncates but a
// filter comparing 64-bit values might not (the CVE-2019-10063 pattern beyond ioctl).
static int cmd_hibits(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("hibits");
    return in_child(do_hibits, NULL);
}

// syscall NR [ARG...]: any system call with integer arguments, judged like `reach` (for ad-hoc
// checks of what the filter lets through).
static int do_syscall(void *p)
{
    char **argv = p;
    long nr = strtol(argv[1], NULL, 0);
    long a[6] = {0};
    for (int i = 0; i < 6 && argv[i + 2]; i++)
        a[i] = strtol(argv[i + 2], NULL, 0);
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    char what[32];
    snprintf(what, sizeof what, "syscall %ld", nr);
    return reach(what, r, errno);
}

static int cmd_syscall(int argc, char **argv)
{
    if (argc < 2 || argc > 8)
        return misuse("syscall NR [ARG...]");
    return in_child(do_syscall, argv);
}

const struct probe_command kern_commands[] = {
    {"syscall", cmd_syscall, "NR [ARG...]"},
    {"hibits", cmd_hibits, ""},
    {"io-uring", cmd_io_uring, ""},
    {"bpf", cmd_bpf, ""},
    {"perf", cmd_perf, ""},
    {"userfaultfd", cmd_userfaultfd, ""},
    {"keyctl", cmd_keyctl, ""},
    {"kexec", cmd_kexec, ""},
    {"modules", cmd_modules, ""},
    {"reboot", cmd_reboot, ""},
    {"swap", cmd_swap, ""},
    {"acct", cmd_acct, ""},
    {"quotactl", cmd_quotactl, ""},
    {"time", cmd_time, ""},
    {"syslog", cmd_syslog, ""},
    {"personality", cmd_personality, ""},
    {"shocker", cmd_shocker, "[DIR]"},
    {"name-to-handle", cmd_name_to_handle, "PATH"},
    {"kallsyms", cmd_kallsyms, ""},
    {"int80", cmd_int80, "getpid|unshare|ptrace"},
    {"x32", cmd_x32, "getpid|unshare|native-getpid"},
    {NULL, NULL, NULL},
};

/* Thin wrappers for kernel interfaces that Swift's Glibc module does not expose. */
#include "agentrun_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/vfs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "internal.h"

int ar_landlock_abi(void) {
    long r = syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */);
    return r < 0 ? -errno : (int)r;
}

int ar_pidfd_send_signal(int pidfd, int sig) {
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int ar_pidfd_wait(int pidfd, int *status_code, int *status_kind, int nohang) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do {
        r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | (nohang ? WNOHANG : 0));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    if (info.si_pid == 0) return 0;
    *status_code = info.si_status;
    *status_kind = info.si_code; /* CLD_EXITED, CLD_KILLED, CLD_DUMPED */
    return 1;
}

int ar_memfd(const char *name) {
    int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static void fill_set(sigset_t *set, const int *signals, size_t count) {
    sigemptyset(set);
    for (size_t i = 0; i < count; i++) sigaddset(set, signals[i]);
}

int ar_block_signals(const int *signals, size_t count) {
    sigset_t set;
    fill_set(&set, signals, count);
    int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
    return r ? -r : 0;
}

int ar_signalfd(const int *signals, size_t count) {
    sigset_t set;
    fill_set(&set, signals, count);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int ar_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n < 0) return errno == EAGAIN ? 0 : -errno;
    if (n != sizeof info) return 0;
    return (int)info.ssi_signo;
}

int ar_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int ar_epoll_add(int epfd, int fd, uint64_t tag) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int ar_epoll_del(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int ar_epoll_wait(int epfd, uint64_t *tags, int max, int timeout_ms) {
    struct epoll_event events[16];
    if (max > 16) max = 16;
    int n = epoll_wait(epfd, events, max, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) tags[i] = events[i].data.u64;
    return n;
}

static void to_timespec(double seconds, struct timespec *ts) {
    if (seconds < 0.000001) seconds = 0.000001;
    ts->tv_sec = (time_t)seconds;
    ts->tv_nsec = (long)((seconds - (double)ts->tv_sec) * 1e9);
}

int ar_timerfd_oneshot(double seconds) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0) return -errno;
    int r = ar_timerfd_rearm(fd, seconds);
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

int ar_timerfd_rearm(int fd, double seconds) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    to_timespec(seconds, &spec.it_value);
    return timerfd_settime(fd, 0, &spec, NULL) < 0 ? -errno : 0;
}

int ar_wifexited(int status) { return WIFEXITED(status); }
int ar_wexitstatus(int status) { return WEXITSTATUS(status); }
int ar_wifsignaled(int status) { return WIFSIGNALED(status); }
int ar_wtermsig(int status) { return WTERMSIG(status); }

int ar_is_cgroup2(const char *path) {
    struct statfs fs;
    return statfs(path, &fs) == 0 && fs.f_type == 0x63677270 /* CGROUP2_SUPER_MAGIC */;
}

int ar_isatty(int fd) { return isatty(fd); }

size_t ar_termios_size(void) { return sizeof(struct termios); }

int ar_term_raw(int fd, void *saved, size_t saved_len) {
    if (saved_len < sizeof(struct termios)) return -EINVAL;
    struct termios t;
    if (tcgetattr(fd, &t) < 0) return -errno;
    memcpy(saved, &t, sizeof t);
    cfmakeraw(&t);
    return tcsetattr(fd, TCSADRAIN, &t) < 0 ? -errno : 0;
}

int ar_term_restore(int fd, const void *saved, size_t saved_len) {
    if (saved_len < sizeof(struct termios)) return -EINVAL;
    struct termios t;
    memcpy(&t, saved, sizeof t);
    return tcsetattr(fd, TCSADRAIN, &t) < 0 ? -errno : 0;
}

int ar_winsize(int fd, uint16_t *rows, uint16_t *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -errno;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int ar_set_winsize(int fd, uint16_t rows, uint16_t cols) {
    struct winsize ws = {rows, cols, 0, 0};
    return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int ar_socketpair_cloexec(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}

int ar_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -errno;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -errno : 0;
}

int ar_is_cgroup1(const char *path) {
    struct statfs fs;
    return statfs(path, &fs) == 0 && fs.f_type == 0x27e0eb /* CGROUP_SUPER_MAGIC */;
}

int ar_pidfd_wait_rusage(int pidfd, int *status_code, int *status_kind, struct ar_rusage *usage) {
    siginfo_t info;
    struct rusage ru;
    memset(&info, 0, sizeof info);
    memset(&ru, 0, sizeof ru);
    long r;
    do {
        r = syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, &ru);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    *status_code = info.si_status;
    *status_kind = info.si_code;
    usage->utime_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_utime.tv_usec * 1000ULL;
    usage->stime_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_stime.tv_usec * 1000ULL;
    usage->maxrss_kb = (uint64_t)ru.ru_maxrss;
    return 1;
}

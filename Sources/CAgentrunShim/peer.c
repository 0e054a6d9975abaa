/* Peer identity for the broker socket (include/ar_peer.h). */
#include "ar_peer.h"

#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* include/uapi/linux/pidfd.h: PIDFS_IOCTL_MAGIC 0xFF, PIDFD_GET_PID_NAMESPACE _IO(0xFF, 5) (10 is the UTS namespace). */
#define AR_PIDFD_GET_PID_NAMESPACE _IO(0xFF, 5)

int ar_pidfd_pid_namespace(int pidfd) {
    int fd = ioctl(pidfd, AR_PIDFD_GET_PID_NAMESPACE, 0);
    return fd >= 0 ? fd : -errno;
}

int ar_peer_pidfd_open(int32_t pid) {
    long fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
    return fd >= 0 ? (int)fd : -errno;
}

int ar_peer_pidfd_alive(int pidfd) {
    return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 ? 0 : -errno;
}

int ar_fd_dev_ino(int fd, uint64_t *dev, uint64_t *ino) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -errno;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

int ar_path_dev_ino(const char *path, uint64_t *dev, uint64_t *ino) {
    struct stat st;
    if (stat(path, &st) != 0) return -errno;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

/*
 * Kernel identity of a Unix-socket peer, for the broker's accept-time check (AgentrunBroker
 * PeerIdentity.swift). Debian 12's glibc and kernel headers predate SO_PEERPIDFD (6.5) and
 * PIDFD_GET_PID_NAMESPACE (6.11), so their values and the ucred layout are defined here.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* getsockopt(SOL_SOCKET, ...) names. */
#define AR_SO_PEERCRED 17
#define AR_SO_PEERPIDFD 77

/* struct ucred of SO_PEERCRED (the connecting process at connect() time, host pid namespace view). */
struct ar_peer_cred {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
};

/* ioctl(pidfd, PIDFD_GET_PID_NAMESPACE): a new O_CLOEXEC fd of the process's pid namespace, or -errno. */
int ar_pidfd_pid_namespace(int pidfd);
/* pidfd_open(pid, 0) (the fd is close-on-exec), or -errno. */
int ar_peer_pidfd_open(int32_t pid);
/* 0 while the pidfd's process has not been reaped-or-exited (pidfd_send_signal(0)), else -errno. */
int ar_peer_pidfd_alive(int pidfd);
/* fstat/stat st_dev and st_ino: 0 or -errno. */
int ar_fd_dev_ino(int fd, uint64_t *dev, uint64_t *ino);
int ar_path_dev_ino(const char *path, uint64_t *dev, uint64_t *ino);

#ifdef __cplusplus
}
#endif

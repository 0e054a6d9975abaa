/*
 * notify-loop: the reference points of bench/mediation.sh, built on libseccomp.
 *
 * Mediated modes (unlink-missing, ptrace, kill1): a minimal seccomp user-notification supervisor.
 * The process forks; the child sets no_new_privs, loads a filter (default allow) whose only rule
 * sends the mode's syscall to a listener (SCMP_ACT_NOTIFY), passes the listener fd to the parent
 * over a socketpair (SCM_RIGHTS) and execs PROGRAM. The parent loops on seccomp_notify_receive /
 * seccomp_notify_respond and answers each notification the way agentrun's default profile does:
 *
 *   unlink-missing   unlink                 CONTINUE (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
 *   ptrace           ptrace                 error EPERM
 *   kill1            kill                   CONTINUE
 *
 * Nothing else happens per notification (no memory read, no record) unless -r is given: then the
 * supervisor also reads the first pointer argument (256 bytes) of each call as seccomp_unotify(2)
 * says to: open /proc/PID/mem, SECCOMP_IOCTL_NOTIF_ID_VALID, pread, NOTIF_ID_VALID again — the
 * least a supervisor that records path arguments must do. -p waits in poll(2) on the listener before each receive, as an event loop does.
 * -s sets SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP on the listener (Linux 6.6+), as agentrun does: the
 * caller and the supervisor hand the CPU to each other instead of waking across CPUs.
 *
 * Baseline mode `filter`: no fork, no listener: sets no_new_privs, loads a one-rule filter
 * (default allow; SCMP_ACT_ERRNO(EPERM) for acct(2), which nobody calls) and execs PROGRAM.
 *
 *   gcc -O2 -pthread -o notify-loop bench/notify-loop.c -lseccomp
 *   notify-loop [-p] [-r] unlink-missing|ptrace|kill1|filter -- PROGRAM [ARGS...]
 *
 * Exit status: PROGRAM's (128+N if killed by signal N); 1 on a setup error. On exit, the
 * mediated modes print `notify-loop: answered N notifications` on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/seccomp.h>

static const struct {
    const char *mode;
    const char *syscall;
    int error;  /* 0: CONTINUE; else the errno answered */
} modes[] = {
    {"unlink-missing", "unlink", 0},
    {"ptrace", "ptrace", EPERM},
    {"kill1", "kill", 0},
};

static void die(const char *what, int error) {
    fprintf(stderr, "notify-loop: %s: %s\n", what, strerror(error));
    exit(1);
}

static void usage(void) {
    fprintf(stderr, "usage: notify-loop [-p] [-r] unlink-missing|ptrace|kill1|filter -- PROGRAM [ARGS...]\n");
    exit(1);
}

static void set_no_new_privs(void) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("PR_SET_NO_NEW_PRIVS", errno);
}

static void exec_program(char **program) {
    execvp(program[0], program);
    fprintf(stderr, "notify-loop: exec %s: %s\n", program[0], strerror(errno));
    _exit(127);
}

static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

/* The one-rule filter: default allow, acct(2) refused. */
static void run_filter(char **program) {
    set_no_new_privs();
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL) die("seccomp_init", ENOMEM);
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(acct), 0);
    if (rc < 0) die("seccomp_rule_add", -rc);
    rc = seccomp_load(ctx);
    if (rc < 0) die("seccomp_load", -rc);
    seccomp_release(ctx);
    exec_program(program);
}

static void send_fd(int socket, int fd) {
    char byte = 0;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = control.space, .msg_controllen = sizeof control.space};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    if (sendmsg(socket, &message, 0) != 1) die("sendmsg", errno);
}

static int receive_fd(int socket) {
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = control.space, .msg_controllen = sizeof control.space};
    ssize_t n = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (n < 0) die("recvmsg", errno);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
    if (n != 1 || cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS) {
        fprintf(stderr, "notify-loop: the child sent no listener fd\n");
        exit(1);
    }
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return fd;
}

/* Child exit: a thread reaps the child, then interrupts the receive loop with SIGUSR1 (no
 * SA_RESTART, so the blocking ioctl returns EINTR) until the loop notices. */
static atomic_int child_done;
static atomic_int loop_done;
static int child_status;
static pid_t child_pid;
static pthread_t loop_thread;

static void on_sigusr1(int signal) { (void)signal; }

static void *reaper(void *unused) {
    (void)unused;
    int status;
    while (waitpid(child_pid, &status, 0) < 0) {
        if (errno != EINTR) die("waitpid", errno);
    }
    child_status = status;
    atomic_store(&child_done, 1);
    while (!atomic_load(&loop_done)) {
        pthread_kill(loop_thread, SIGUSR1);
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

static int run_mediated(int index, int use_poll, int read_memory, int sync_wakeup, char **program) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) die("socketpair", errno);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigusr1;  /* no SA_RESTART */
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGUSR1, &action, NULL) != 0) die("sigaction", errno);

    child_pid = fork();
    if (child_pid < 0) die("fork", errno);
    if (child_pid == 0) {
        close(pair[0]);
        set_no_new_privs();
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (ctx == NULL) die("seccomp_init", ENOMEM);
        int number = seccomp_syscall_resolve_name(modes[index].syscall);
        if (number == __NR_SCMP_ERROR) die("seccomp_syscall_resolve_name", EINVAL);
        int rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, number, 0);
        if (rc < 0) die("seccomp_rule_add", -rc);
        rc = seccomp_load(ctx);
        if (rc < 0) die("seccomp_load", -rc);
        int listener = seccomp_notify_fd(ctx);
        if (listener < 0) die("seccomp_notify_fd", -listener);
        send_fd(pair[1], listener);
        close(listener);
        close(pair[1]);
        seccomp_release(ctx);
        exec_program(program);
    }
    close(pair[1]);
    int listener = receive_fd(pair[0]);
    close(pair[0]);
    if (sync_wakeup && ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, 1UL) != 0) die("SECCOMP_IOCTL_NOTIF_SET_FLAGS", errno);

    loop_thread = pthread_self();
    pthread_t reaper_thread;
    int rc = pthread_create(&reaper_thread, NULL, reaper, NULL);
    if (rc != 0) die("pthread_create", rc);

    struct seccomp_notif *request;
    struct seccomp_notif_resp *response;
    rc = seccomp_notify_alloc(&request, &response);
    if (rc < 0) die("seccomp_notify_alloc", -rc);
    struct seccomp_notif_sizes sizes;
    if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) die("SECCOMP_GET_NOTIF_SIZES", errno);

    long answered = 0, lost = 0, unreadable = 0;
    char buffer[256];
    while (!atomic_load(&child_done)) {
        if (use_poll) {
            struct pollfd pfd = {.fd = listener, .events = POLLIN};
            int ready = poll(&pfd, 1, -1);
            if (ready < 0) {
                if (errno == EINTR) continue;
                die("poll", errno);
            }
            if (pfd.revents & (POLLHUP | POLLERR)) break;
        }
        memset(request, 0, sizes.seccomp_notif);
        rc = seccomp_notify_receive(listener, request);
        if (rc < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOENT) continue;  /* the caller was interrupted before we received it */
            die("seccomp_notify_receive", errno);
        }
        if (read_memory) {
            /* The seccomp_unotify(2) recipe: open the caller's memory, check the request is still
             * alive (the pid is the caller's), read, check again. */
            char path[64];
            snprintf(path, sizeof path, "/proc/%u/mem", request->pid);
            int memory = open(path, O_RDONLY | O_CLOEXEC);
            if (memory < 0) die("open /proc/PID/mem", errno);
            if (seccomp_notify_id_valid(listener, request->id) != 0) {
                close(memory);
                lost++;
                continue;
            }
            if (pread(memory, buffer, sizeof buffer, (off_t)request->data.args[0]) <= 0) unreadable++;
            close(memory);
            if (seccomp_notify_id_valid(listener, request->id) != 0) {
                lost++;
                continue;
            }
        }
        memset(response, 0, sizes.seccomp_notif_resp);
        response->id = request->id;
        if (modes[index].error == 0) {
            response->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        } else {
            response->error = -modes[index].error;
        }
        rc = seccomp_notify_respond(listener, response);
        if (rc < 0) {
            if (errno == ENOENT) { lost++; continue; }  /* the caller went away */
            die("seccomp_notify_respond", errno);
        }
        answered++;
    }
    atomic_store(&loop_done, 1);
    pthread_join(reaper_thread, NULL);
    seccomp_notify_free(request, response);
    close(listener);
    fprintf(stderr, "notify-loop: answered %ld notifications (%ld lost", answered, lost);
    if (read_memory) fprintf(stderr, ", %ld with unreadable memory", unreadable);
    fprintf(stderr, ")\n");
    return exit_code(child_status);
}

int main(int argc, char **argv) {
    int use_poll = 0, read_memory = 0, sync_wakeup = 0, option;
    while ((option = getopt(argc, argv, "+prs")) != -1) {
        switch (option) {
        case 'p': use_poll = 1; break;
        case 'r': read_memory = 1; break;
        case 's': sync_wakeup = 1; break;
        default: usage();
        }
    }
    if (argc - optind < 3 || strcmp(argv[optind + 1], "--") != 0) usage();
    const char *mode = argv[optind];
    char **program = &argv[optind + 2];
    if (strcmp(mode, "filter") == 0) {
        if (use_poll || read_memory || sync_wakeup) usage();
        run_filter(program);
    }
    for (int i = 0; i < (int)(sizeof modes / sizeof modes[0]); i++)
        if (strcmp(mode, modes[i].mode) == 0) return run_mediated(i, use_poll, read_memory, sync_wakeup, program);
    usage();
}

/// The syscall policy of every sandbox, as data. `SeccompFilter` turns it into BPF with libseccomp.
///
/// Why an allow-list: a deny-list silently allows every syscall added to the kernel after it was
/// written (the new mount API, clone3 and io_uring each bypassed deny-lists in turn). Here a syscall
/// the list does not name gets ENOSYS, which libc treats as "kernel too old" and falls back from;
/// the known-dangerous ones get an explicit EPERM so the agent (and the provenance log, later)
/// sees a refusal rather than a missing feature. The allowed set is what ordinary programs use
/// (Python, git, shells, compilers, Node, the JVM); everything in it is either harmless without
/// capabilities or confined by the namespaces, the mount view and Landlock.
public enum SeccompPolicy {
    /// Syscalls allowed with any arguments.
    public static let allowed: [String] = [
        // files and descriptors
        "read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek", "pread64",
        "pwrite64", "readv", "writev", "access", "pipe", "select", "dup", "dup2", "dup3", "pipe2",
        "sendfile", "fcntl", "flock", "fsync", "fdatasync", "truncate", "ftruncate", "getdents",
        "getdents64", "getcwd", "chdir", "fchdir", "rename", "mkdir", "rmdir", "creat", "link",
        "unlink", "symlink", "readlink", "chmod", "fchmod", "chown", "fchown", "lchown", "umask",
        "utime", "utimes", "futimesat", "utimensat", "mknod", "mknodat", "statfs", "fstatfs", "sync",
        "syncfs", "readahead", "openat", "mkdirat", "fchownat", "newfstatat", "unlinkat",
        "renameat", "renameat2", "linkat", "symlinkat", "readlinkat", "fchmodat", "fchmodat2",
        "faccessat", "faccessat2", "pselect6", "ppoll", "splice", "tee", "sync_file_range",
        "vmsplice", "fallocate", "preadv", "pwritev", "preadv2", "pwritev2", "copy_file_range",
        "statx", "close_range", "fadvise64", "cachestat",
        "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
        "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
        "setxattrat", "getxattrat", "listxattrat", "removexattrat", "file_getattr", "file_setattr",
        "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
        "memfd_create", "memfd_secret",
        // memory
        "mmap", "mprotect", "munmap", "brk", "mremap", "msync", "mincore", "madvise", "mlock",
        "munlock", "mlockall", "munlockall", "mlock2", "remap_file_pages", "mbind", "set_mempolicy",
        "get_mempolicy", "set_mempolicy_home_node", "pkey_mprotect", "pkey_alloc", "pkey_free",
        "membarrier", "map_shadow_stack", "mseal",
        // processes, threads, signals
        "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "kill",
        "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgrp", "getpgid", "setpgid", "getsid",
        "setsid", "set_tid_address", "set_robust_list", "get_robust_list", "futex", "futex_waitv",
        "futex_wake", "futex_wait", "futex_requeue", "rseq", "restart_syscall", "arch_prctl",
        "prctl", "set_thread_area", "get_thread_area", "rt_sigaction", "rt_sigprocmask",
        "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
        "rt_sigsuspend", "sigaltstack", "pause", "signalfd", "signalfd4", "pidfd_open",
        "pidfd_send_signal", "uretprobe",
        // credentials (without capabilities these can only keep or drop what the agent has)
        "getuid", "getgid", "geteuid", "getegid", "getresuid", "getresgid", "getgroups", "setuid",
        "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
        "setgroups", "capget", "capset",
        // scheduling, limits, time
        "sched_yield", "sched_setparam", "sched_getparam", "sched_setscheduler",
        "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
        "sched_rr_get_interval", "sched_setaffinity", "sched_getaffinity", "sched_setattr",
        "sched_getattr", "getpriority", "setpriority", "ioprio_set", "ioprio_get", "getrlimit",
        "setrlimit", "prlimit64", "getrusage", "times", "sysinfo", "uname", "getcpu", "getrandom",
        "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
        "getitimer", "setitimer", "alarm", "timer_create", "timer_settime", "timer_gettime",
        "timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime", "timerfd_gettime",
        // event loops and asynchronous I/O (not io_uring)
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
        "eventfd", "eventfd2", "io_setup", "io_destroy", "io_getevents", "io_submit", "io_cancel",
        "io_pgetevents",
        // sockets (families are checked separately in `socket`)
        "connect", "accept", "accept4", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
        "recvmmsg", "shutdown", "bind", "listen", "getsockname", "getpeername", "socketpair",
        "setsockopt", "getsockopt",
        // System V and POSIX IPC (private to the sandbox's IPC namespace)
        "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget",
        "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
        "mq_notify", "mq_getsetattr",
        // self-restriction: an agent may sandbox itself further, never less
        "seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    ]

    /// Refused with EPERM whatever the arguments: escape and kernel-attack surface.
    public static let denied: [String] = [
        // io_uring runs operations in kernel workers that seccomp and user-notify never see
        "io_uring_setup", "io_uring_enter", "io_uring_register",
        // other processes' memory and file descriptors
        "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "process_madvise",
        "process_mrelease", "kcmp", "migrate_pages", "move_pages",
        // kernel programmability and observation
        "bpf", "perf_event_open", "userfaultfd", "fanotify_init", "lookup_dcookie", "syslog",
        // keyrings (not namespaced)
        "keyctl", "add_key", "request_key",
        // kernel, modules, power, swap, accounting, quotas
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
        "create_module", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
        "nfsservctl", "_sysctl", "sysfs", "ustat", "uselib", "vhangup",
        // mounts and namespaces, including the new mount API
        "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "move_mount",
        "open_tree", "fspick", "mount_setattr", "open_tree_attr", "setns",
        // clocks and host identity
        "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "sethostname",
        "setdomainname",
        // file handles bypass path-based checks (the "shocker" escape)
        "open_by_handle_at", "name_to_handle_at",
        // raw hardware access
        "iopl", "ioperm", "modify_ldt",
    ]

    /// Refused with ENOSYS so libc falls back to an older call: glibc retries clone3 as clone;
    /// openat2 passes its mode through a pointer the setid rule below cannot see, and callers
    /// fall back to openat.
    public static let unimplemented: [String] = ["clone3", "openat2"]

    /// x86_64 numbers of syscalls newer than the libseccomp this was built against may know.
    /// Only consulted when libseccomp cannot resolve the name for the native architecture.
    public static let x86_64Numbers: [String: Int32] = [
        "uretprobe": 335, "futex_waitv": 449, "set_mempolicy_home_node": 450, "cachestat": 451,
        "fchmodat2": 452, "map_shadow_stack": 453, "futex_wake": 454, "futex_wait": 455,
        "futex_requeue": 456, "statmount": 457, "listmount": 458, "lsm_get_self_attr": 459,
        "lsm_set_self_attr": 460, "lsm_list_modules": 461, "mseal": 462, "setxattrat": 463,
        "getxattrat": 464, "listxattrat": 465, "removexattrat": 466, "open_tree_attr": 467,
        "file_getattr": 468, "file_setattr": 469,
    ]

    /// Socket families are refused one by one below this bound (AF_MAX is 46 today); the kernel
    /// itself rejects families at or above AF_MAX.
    public static let familyBound: UInt64 = 64

    // MARK: argument rules

    /// `CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET`.
    public static let namespaceFlags: UInt64 = 0x7E02_0000
    /// `CLONE_NEWTIME`, which only `unshare` and `clone3` accept.
    public static let cloneNewTime: UInt64 = 0x80

    /// Socket families allowed: AF_UNIX, AF_INET, AF_INET6; AF_NETLINK only with NETLINK_ROUTE.
    public static let socketFamilies: [UInt64] = [1, 2, 10]
    public static let netlinkFamily: UInt64 = 16
    public static let netlinkRoute: UInt64 = 0

    /// `personality` may only query (0xffffffff) or set PER_LINUX (0).
    public static let personalityAllowed: [UInt64] = [0, 0xFFFF_FFFF]

    /// Syscalls that set a file's mode, with the index of the mode argument. Setting S_ISUID or
    /// S_ISGID is refused: files the agent creates belong to the invoking user on the host (root,
    /// through the idmapped workspace), so a set-id file planted there would run with that user's
    /// privileges for anyone on the host.
    public static let modeArguments: [(name: String, mode: UInt32)] = [
        ("chmod", 1), ("fchmod", 1), ("fchmodat", 2), ("fchmodat2", 2), ("creat", 1),
        ("mknod", 1), ("mknodat", 2), ("mkdir", 1), ("mkdirat", 2),
    ]
    /// open/openat take a mode only with O_CREAT or O_TMPFILE: (name, flags argument, mode argument).
    public static let createModeArguments: [(name: String, flags: UInt32, mode: UInt32)] = [
        ("open", 1, 2), ("openat", 2, 3),
    ]
    public static let setidBits: [UInt64] = [0o4000, 0o2000]
    public static let createFlags: [UInt64] = [0o100, 0o20000000]  // O_CREAT, __O_TMPFILE

    /// With no writable place allowed to execute (`filesystem.exec` without workspace, tmp and
    /// read_write), programs written into memory must not run either: memfd files live on an
    /// internal mount that Landlock and noexec do not cover. memfd_create must ask for
    /// MFD_NOEXEC_SEAL (and not MFD_EXEC), and execveat(fd, "", AT_EMPTY_PATH) is refused.
    public static let mfdNoexecSeal: UInt64 = 0x0008
    public static let mfdExec: UInt64 = 0x0010
    public static let atEmptyPath: UInt64 = 0x1000

    /// ioctl requests refused on the low 32 bits (the kernel truncates the request to an
    /// `unsigned int`, so high bits must not hide it: CVE-2019-10063).
    public static let ioctlDenied: [(name: String, request: UInt64)] = [
        ("TIOCSTI", 0x5412),
        ("TIOCLINUX", 0x541C),
    ]
}

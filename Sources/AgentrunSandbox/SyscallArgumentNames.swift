import CAgentrunShim

/// Names for the numbers a decoded syscall carries: open and `AT_` flags, clone flags,
/// signals, errnos, socket families, ptrace requests. Records show `["O_WRONLY","O_CREAT"]`,
/// not 577, so a person reading the log and a SIEM query agree on what happened.
enum SyscallArgumentNames {
    /// Open flags (x86_64 / generic values), the access mode first.
    static func openFlags(_ value: UInt64) -> [String] {
        var names: [String] = []
        switch value & 0o3 {
        case 0o1: names.append("O_WRONLY")
        case 0o2: names.append("O_RDWR")
        case 0o3: names.append("O_ACCMODE")
        default: names.append("O_RDONLY")
        }
        var rest = value & ~UInt64(0o3)
        if rest & 0o20200000 == 0o20200000 {
            names.append("O_TMPFILE")
            rest &= ~UInt64(0o20200000)
        }
        let table: [(UInt64, String)] = [
            (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"), (0o2000, "O_APPEND"),
            (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"), (0o20000, "O_ASYNC"), (0o40000, "O_DIRECT"),
            (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
            (0o2000000, "O_CLOEXEC"), (0o4010000, "O_SYNC"), (0o10000000, "O_PATH"),
        ]
        for (bit, name) in table where rest & bit == bit {
            names.append(name)
            rest &= ~bit
        }
        if rest != 0 { names.append(hex(rest)) }
        return names
    }

    static func atFlags(_ value: UInt64) -> [String] {
        bits(value, [
            (0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"), (0x400, "AT_SYMLINK_FOLLOW"),
            (0x800, "AT_NO_AUTOMOUNT"), (0x1000, "AT_EMPTY_PATH"),
        ])
    }

    static func renameFlags(_ value: UInt64) -> [String] {
        bits(value, [(1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT")])
    }

    static func cloneFlags(_ value: UInt64) -> [String] {
        bits(value & ~UInt64(0xFF), [
            (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"), (0x800, "CLONE_SIGHAND"),
            (0x1000, "CLONE_PIDFD"), (0x2000, "CLONE_PTRACE"), (0x4000, "CLONE_VFORK"), (0x8000, "CLONE_PARENT"),
            (0x10000, "CLONE_THREAD"), (0x20000, "CLONE_NEWNS"), (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"),
            (0x100000, "CLONE_PARENT_SETTID"), (0x200000, "CLONE_CHILD_CLEARTID"), (0x400000, "CLONE_DETACHED"),
            (0x800000, "CLONE_UNTRACED"), (0x1000000, "CLONE_CHILD_SETTID"), (0x2000000, "CLONE_NEWCGROUP"),
            (0x4000000, "CLONE_NEWUTS"), (0x8000000, "CLONE_NEWIPC"), (0x10000000, "CLONE_NEWUSER"),
            (0x20000000, "CLONE_NEWPID"), (0x40000000, "CLONE_NEWNET"), (0x80000000, "CLONE_IO"),
        ]) + (value & 0x80 != 0 ? ["CLONE_NEWTIME"] : [])
    }

    static func bits(_ value: UInt64, _ table: [(UInt64, String)]) -> [String] {
        var names: [String] = []
        var rest = value
        for (bit, name) in table where rest & bit == bit {
            names.append(name)
            rest &= ~bit
        }
        if rest != 0 { names.append(hex(rest)) }
        return names
    }

    static func hex(_ value: UInt64) -> String {
        "0x" + String(value, radix: 16)
    }

    static func mode(_ value: UInt64) -> String {
        let digits = String(value & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    static let signals: [String] = [
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
        "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
        "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
        "SIGSYS",
    ]

    static func signal(_ value: UInt64) -> String {
        let n = Int(truncatingIfNeeded: Int32(truncatingIfNeeded: value))
        if n >= 0 && n < signals.count { return signals[n] }
        if n >= 34 && n <= 64 { return "SIGRTMIN+\(n - 34)" }
        return String(n)
    }

    /// The errno's symbolic name from the C library ("ENOTEMPTY"), else "E<number>".
    static func errno(_ value: Int32) -> String {
        guard let name = ar_errno_name(value) else { return "E\(value)" }
        return String(cString: name)
    }

    static func family(_ value: UInt64) -> String {
        switch value {
        case 1: "unix"
        case 2: "inet"
        case 10: "inet6"
        case 16: "netlink"
        case 17: "packet"
        default: String(value)
        }
    }

    static let ptraceRequests: [UInt64: String] = [
        0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSER", 4: "PTRACE_POKETEXT",
        5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSER", 7: "PTRACE_CONT", 8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP",
        12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH", 24: "PTRACE_SYSCALL",
        0x4200: "PTRACE_SETOPTIONS", 0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT",
    ]

    static let ioctlRequests: [UInt64: String] = [0x5412: "TIOCSTI", 0x541C: "TIOCLINUX"]
}

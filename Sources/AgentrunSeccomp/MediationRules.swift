/// Which syscalls the mediation filter sends to the supervisor. Built by the sandbox from the
/// profile's `syscalls.mediate` groups; turned into BPF by `SeccompFilter.build`.
public struct MediationRules: Sendable, Equatable, Hashable {
    /// Syscalls notified whatever their arguments.
    public var always: Set<String>
    /// open/openat only with a write or create flag (read-only opens stay in the kernel).
    public var writeOpens: Bool
    /// sendto only with a destination address.
    public var addressedSends: Bool
    /// kill & co. only when aimed at pid 1, at -1 or at a process group.
    public var signalsBeyond: Bool
    /// The calls the filter refuses (built-in deny list, `syscalls.deny`, argument rules) go to
    /// the supervisor, which refuses them with the same errno and records them.
    public var denied: Bool
    /// Every syscall (record_all).
    public var all: Bool

    public init(
        always: Set<String> = [], writeOpens: Bool = false, addressedSends: Bool = false, signalsBeyond: Bool = false,
        denied: Bool = false, all: Bool = false
    ) {
        self.always = always
        self.writeOpens = writeOpens
        self.addressedSends = addressedSends
        self.signalsBeyond = signalsBeyond
        self.denied = denied
        self.all = all
    }

    public var isEmpty: Bool { always.isEmpty && !writeOpens && !addressedSends && !signalsBeyond && !denied && !all }

    /// (mask, value) pairs on open flags, any of which makes an open one that writes:
    /// O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, __O_TMPFILE (O_APPEND alone cannot write).
    public static let writeOpenConditions: [(UInt64, UInt64)] = [
        (0o3, 0o1), (0o3, 0o2), (0o3, 0o3), (0o100, 0o100), (0o1000, 0o1000), (0o20000000, 0o20000000),
    ]

    public static let signalSyscalls = ["kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"]

    /// What the built-in profiles record (`record: [exec, network, file-write, denied, signals]`),
    /// compiled at build time. A test checks that the profile groups produce exactly this.
    public static let recordingDefault = MediationRules(
        always: [
            "execve", "execveat", "connect", "bind", "creat", "rename", "renameat", "renameat2", "link", "linkat",
            "symlink", "symlinkat", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "mknod", "mknodat", "chmod",
            "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "truncate",
        ],
        writeOpens: true, addressedSends: true, signalsBeyond: true, denied: true)
}

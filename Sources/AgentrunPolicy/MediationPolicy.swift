/// `syscalls.mediate:` — the syscalls the supervisor receives as seccomp user notifications,
/// records in the provenance log with decoded arguments, and decides.
///
/// Recording is the point: an escape attempt becomes evidence. Decisions are only ever made
/// where they are safe (docs/profiles.md): a deny is answered by the supervisor; an allow of a
/// call whose arguments live in the agent's memory is either still enforced by the kernel
/// (mount view, Landlock) or, with `exact_files`, performed by the supervisor itself.
public struct MediationPolicy: Sendable, Equatable {
    /// `record:` groups (`MediationGroup`) or individual syscall names whose calls are recorded.
    public var record: [String]
    /// `record_all:` every syscall of the agent goes through the supervisor (slow; for writing
    /// and debugging profiles).
    public var recordAll: Bool
    /// `exact_files:` the supervisor opens files for writing on the agent's behalf and hands it
    /// the descriptor (SECCOMP_IOCTL_NOTIF_ADDFD), so write decisions are exact.
    public var exactFiles: Bool
    /// `errno:` what a call denied by a `deny_exec`/`deny_write` rule fails with.
    public var errno: MediationErrno
    /// `deny_exec:` programs the agent may not execute.
    public var denyExec: [PathRule]
    /// `deny_write:` paths the agent may not create, write, rename, remove or change.
    public var denyWrite: [PathRule]

    public init(
        record: [String] = [], recordAll: Bool = false, exactFiles: Bool = false, errno: MediationErrno = .eperm,
        denyExec: [PathRule] = [], denyWrite: [PathRule] = []
    ) {
        self.record = record
        self.recordAll = recordAll
        self.exactFiles = exactFiles
        self.errno = errno
        self.denyExec = denyExec
        self.denyWrite = denyWrite
    }

    /// Whether anything is mediated at all (no notification filter is installed otherwise).
    public var isActive: Bool {
        recordAll || !record.isEmpty || exactFiles || !denyExec.isEmpty || !denyWrite.isEmpty
    }

    /// A rule with an id and path patterns.
    ///
    /// `deny_exec` patterns: an absolute glob (`/usr/bin/curl`, `/usr/bin/nc*`, `/opt/**/bin/ssh`)
    /// matched against the resolved path of the program (and of each `#!` interpreter), or a bare
    /// program name (`curl`) matched against the file name of any program the agent executes.
    /// `deny_write` patterns: absolute globs, or `**/NAME` patterns, matched against resolved paths.
    public struct PathRule: Sendable, Equatable {
        public var id: String
        public var paths: [String]

        public init(id: String, paths: [String]) {
            self.id = id
            self.paths = paths
        }
    }
}

/// The errno a rule's denial returns.
public enum MediationErrno: String, Sendable, Equatable, CaseIterable {
    case eperm = "EPERM"
    case eacces = "EACCES"

    public var value: Int32 { self == .eperm ? 1 : 13 }
}

/// Named sets of syscalls for `syscalls.mediate.record`.
public enum MediationGroup: String, Sendable, CaseIterable {
    /// execve, execveat: path, argv, environment keys.
    case exec
    /// connect, bind, and sendto with an address: the socket address.
    case network
    /// Opening with write or create flags, creat, rename, link, symlink, unlink, mkdir, rmdir,
    /// mknod, chmod, chown, truncate: paths and flags.
    case fileWrite = "file-write"
    /// The calls the built-in filter (and `syscalls.deny`) refuses: ptrace, mount, bpf, unshare
    /// with namespace flags, TIOCSTI... Recorded with decision deny and the rule id.
    case denied
    /// Signals aimed beyond the caller's own process group: at pid 1, at -1, at other groups.
    case signals

    public var syscalls: [String] {
        switch self {
        case .exec: ["execve", "execveat"]
        case .network: ["connect", "bind", "sendto"]
        case .fileWrite:
            ["open", "openat", "creat", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
             "symlinkat", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "mknod", "mknodat", "chmod",
             "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "truncate"]
        case .denied: []  // the built-in filter's refusals: resolved by AgentrunSeccomp
        case .signals: ["kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"]
        }
    }
}

extension MediationPolicy {
    /// Rule ids agentrun cites for decisions it makes itself (docs/profiles.md, "Rule ids"). A
    /// profile rule may not use them, nor any id starting with one of `reservedRulePrefixes`.
    public static let builtinRuleIDs: [String] = ["seccomp.denied", "syscalls.deny", "seccomp.arguments", "mediation.unreadable"]
    /// Prefixes of ids kept for agentrun's own rules.
    public static let reservedRulePrefixes: [String] = ["seccomp.", "mediation."]

    /// Whether a profile rule may not be called `id`.
    public static func isReservedRuleID(_ id: String) -> Bool {
        builtinRuleIDs.contains(id) || reservedRulePrefixes.contains { id.hasPrefix($0) }
    }

    /// The groups `record` names, in `record` order.
    public var recordedGroups: [MediationGroup] {
        record.compactMap(MediationGroup.init(rawValue:))
    }

    /// The syscall names `record` names, groups expanded (`denied` adds none: its calls are the
    /// filter's refusals), in `record` order, each once.
    public var recordedSyscalls: [String] {
        var names: [String] = []
        for entry in record {
            for name in MediationGroup(rawValue: entry)?.syscalls ?? [entry] where !names.contains(name) {
                names.append(name)
            }
        }
        return names
    }
}

extension MediationPolicy.PathRule {
    /// A `deny_exec` pattern without `/`: it matches the file name of a program, not its path.
    public static func isProgramName(_ pattern: String) -> Bool {
        !pattern.contains("/")
    }
}

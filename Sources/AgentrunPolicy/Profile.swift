/// A resolved, validated agentrun profile: what the operator approved for one agent run.
///
/// Profiles are YAML files (see docs/profiles.md). They are decoded strictly: an unknown key,
/// a wrong type or an out-of-range value is an error that names the file, line, key path and
/// what is allowed. `extends:` is resolved before a `Profile` exists, so every value here is final.
///
/// ```yaml
/// name: my-agent
/// extends: default
/// filesystem:
///   read_only+: [/opt/toolchain]     # `KEY+:` appends to the inherited list
/// network: none
/// limits:
///   wall: 30m
///   memory: 2GiB
/// ```
public struct Profile: Sendable, Equatable {
    /// The profile's name (`name:` or, when absent, the file name without `.yaml`).
    public var name: String
    /// One line for `agentrun profile list`.
    public var description: String
    /// Where the top-level profile came from.
    public var source: ProfileSource
    /// The chain of profiles this one was built from, outermost first (e.g. `["default", "python-agent"]`).
    public var lineage: [String]
    /// Every file of that chain (built-in profiles have none): agentrun keeps them read-only when
    /// they lie in the workspace, so an agent cannot rewrite the policy of the next run.
    public var sourceFiles: [String] = []

    public var filesystem: FilesystemPolicy
    public var network: NetworkMode
    public var process: ProcessPolicy
    public var limits: Limits
    public var syscalls: SyscallPolicy
    public var landlock: LandlockMode
    public var provenance: ProvenancePolicy = .init()
    /// `credentials:`, `tools:`, `mcp_servers:` — what the broker socket serves (BrokerPolicy.swift).
    public var broker: BrokerPolicy = .init()

    public init(
        name: String,
        description: String = "",
        source: ProfileSource = .builtin,
        lineage: [String] = [],
        filesystem: FilesystemPolicy = .init(),
        network: NetworkMode = .none,
        process: ProcessPolicy = .init(),
        limits: Limits = .init(),
        syscalls: SyscallPolicy = .init(),
        landlock: LandlockMode = .bestEffort
    ) {
        self.name = name
        self.description = description
        self.source = source
        self.lineage = lineage
        self.filesystem = filesystem
        self.network = network
        self.process = process
        self.limits = limits
        self.syscalls = syscalls
        self.landlock = landlock
    }
}

public enum ProfileSource: Sendable, Equatable, CustomStringConvertible {
    /// Embedded in the agentrun binary.
    case builtin
    /// Loaded from a file on disk (absolute path).
    case file(String)

    public var description: String {
        switch self {
        case .builtin: "built-in"
        case .file(let path): path
        }
    }
}

/// `filesystem:` — the mount view and the Landlock rules that mirror it.
public struct FilesystemPolicy: Sendable, Equatable {
    /// `workspace:` how the workspace (default: the current directory, or `--workspace`) is mounted.
    public var workspace: WorkspaceAccess
    /// `system:` host paths mounted read-only at the same place. A path missing on this host is
    /// skipped (profiles are shared across distributions); a symlink is recreated as a symlink.
    public var system: [String]
    /// `read_only:` extra host paths mounted read-only. Each must exist.
    public var readOnly: [String]
    /// `read_write:` extra host paths mounted read-write. Each must exist.
    public var readWrite: [String]
    /// `tmpfs:` extra empty, private, writable directories (absolute paths inside the sandbox).
    public var tmpfs: [String]
    /// `protected:` paths relative to the workspace that stay read-only inside it, even when they
    /// are symlinks or do not exist yet. A trailing `/` means "a directory" when it must be created.
    public var protected: [String]
    /// `exec:` where programs may be executed from. Everything else is mounted `noexec` and,
    /// with Landlock, lacks the execute right.
    public var exec: Set<ExecLocation>
    /// `tmp_size:` size of the private `/tmp` (and of the agent's home) in bytes.
    public var tmpSize: UInt64

    public init(
        workspace: WorkspaceAccess = .readWrite,
        system: [String] = [],
        readOnly: [String] = [],
        readWrite: [String] = [],
        tmpfs: [String] = [],
        protected: [String] = [],
        exec: Set<ExecLocation> = [.system, .workspace, .tmp],
        tmpSize: UInt64 = 1 << 30
    ) {
        self.workspace = workspace
        self.system = system
        self.readOnly = readOnly
        self.readWrite = readWrite
        self.tmpfs = tmpfs
        self.protected = protected
        self.exec = exec
        self.tmpSize = tmpSize
    }
}

public enum WorkspaceAccess: String, Sendable, Equatable, CaseIterable {
    case readWrite = "read-write"
    case readOnly = "read-only"
    /// No workspace is mounted; the agent starts in its home directory.
    case none = "none"
}

/// Places `filesystem.exec` can name.
public enum ExecLocation: String, Sendable, Equatable, Hashable, CaseIterable, Comparable {
    /// `system` and `read_only` paths.
    case system
    /// The workspace.
    case workspace
    /// `/tmp`, the agent's home and `tmpfs` directories.
    case tmp
    /// `read_write` paths.
    case readWrite = "read_write"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// `network:` none (loopback only, the default), host (unsafe: the host's network stack).
/// `proxy` is reserved for the egress proxy and rejected until it exists.
public enum NetworkMode: String, Sendable, Equatable, CaseIterable {
    case none
    case host
}

/// `landlock:` whether Landlock must be enforced.
public enum LandlockMode: String, Sendable, Equatable, CaseIterable {
    /// Refuse to start when the kernel has no Landlock.
    case required
    /// Use the highest ABI the kernel offers; run without it (and say so) when there is none.
    case bestEffort = "best-effort"
}

/// `process:`
public struct ProcessPolicy: Sendable, Equatable {
    /// `env.pass:` host variables passed through when set. Exact names, or a prefix ending in `*`
    /// (`LC_*`). Everything else is scrubbed.
    public var envPass: [String]
    /// `env.set:` variables set to fixed values (they win over passed ones).
    public var envSet: [String: String]

    public init(envPass: [String] = [], envSet: [String: String] = [:]) {
        self.envPass = envPass
        self.envSet = envSet
    }
}

/// `limits:` — `nil` means unlimited. Sizes are bytes, durations seconds (fractions allowed).
public struct Limits: Sendable, Equatable {
    /// `wall:` wall-clock timeout for the whole run (the process tree is killed; exit 124).
    public var wall: Double?
    /// `kill_grace:` after the timeout, time between SIGTERM to the agent and SIGKILL to the tree.
    public var killGrace: Double
    /// `cpu:` RLIMIT_CPU, rounded up to whole seconds.
    public var cpu: Double?
    /// `memory:` cgroup v2 memory.max, when agentrun can create a cgroup.
    public var memory: UInt64?
    /// `address_space:` RLIMIT_AS.
    public var addressSpace: UInt64?
    /// `processes:` RLIMIT_NPROC (processes of the sandbox's uid) and cgroup pids.max.
    public var processes: UInt64?
    /// `open_files:` RLIMIT_NOFILE.
    public var openFiles: UInt64?
    /// `file_size:` RLIMIT_FSIZE.
    public var fileSize: UInt64?

    public init(
        wall: Double? = nil,
        killGrace: Double = 2,
        cpu: Double? = nil,
        memory: UInt64? = nil,
        addressSpace: UInt64? = nil,
        processes: UInt64? = nil,
        openFiles: UInt64? = nil,
        fileSize: UInt64? = nil
    ) {
        self.wall = wall
        self.killGrace = killGrace
        self.cpu = cpu
        self.memory = memory
        self.addressSpace = addressSpace
        self.processes = processes
        self.openFiles = openFiles
        self.fileSize = fileSize
    }
}

/// `syscalls:`
public struct SyscallPolicy: Sendable, Equatable {
    /// `deny:` extra syscall names refused with EPERM, on top of the built-in filter.
    /// Each name must be a syscall this agentrun knows for the native architecture.
    public var deny: [String]
    /// `mediate:` which syscalls the supervisor sees (seccomp user notification), records and
    /// decides (docs/profiles.md, "syscalls.mediate").
    public var mediate: MediationPolicy

    public init(deny: [String] = [], mediate: MediationPolicy = .init()) {
        self.deny = deny
        self.mediate = mediate
    }
}

/// `provenance:` — where the run's tamper-evident log goes and how it is sealed (docs/provenance.md).
public struct ProvenancePolicy: Sendable, Equatable {
    /// `dir:` base directory of run directories (`<dir>/<run id>/log.jsonl`); nil: the state directory.
    public var dir: String?
    /// `sign_key:` an operator Ed25519 private key that certifies each run's key.
    public var signKey: String?
    /// `checkpoint_every:` a signed checkpoint after this many records.
    public var checkpointEvery: Int
    /// `checkpoint_interval:` ...or after this many seconds, whichever comes first.
    public var checkpointInterval: Double
    /// `durability:` fsync at checkpoints (default) or after every record.
    public var durability: ProvenanceDurability
    /// `secrets:` host environment variables whose values never appear in the log (each
    /// occurrence becomes `hmac-sha256:<hex>`).
    public var secrets: [String]

    public init(
        dir: String? = nil, signKey: String? = nil, checkpointEvery: Int = 1000, checkpointInterval: Double = 5,
        durability: ProvenanceDurability = .checkpoint, secrets: [String] = []
    ) {
        self.dir = dir
        self.signKey = signKey
        self.checkpointEvery = checkpointEvery
        self.checkpointInterval = checkpointInterval
        self.durability = durability
        self.secrets = secrets
    }
}

public enum ProvenanceDurability: String, Sendable, Equatable, CaseIterable {
    case checkpoint
    case record
}

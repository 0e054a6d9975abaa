import AgentrunOS
import AgentrunSeccomp
import AgentrunPolicy

#if canImport(Glibc)
import Glibc
#endif

/// What the operator asked for: a command, a resolved profile and the command-line overrides.
public struct LaunchRequest: Sendable {
    public var command: [String]
    public var profile: Profile
    /// `--workspace`; nil means the current directory.
    public var workspace: String?
    /// `--timeout`, overriding `limits.wall`.
    public var timeout: Double?
    /// `--env KEY[=VALUE]`, in order.
    public var environmentOverrides: [String]
    public var runID: String
    public var hostEnvironment: [String: String]
    public var currentDirectory: String
    /// Where profiles are looked up by name: kept read-only when inside the workspace.
    public var profileSearchPaths: [String]

    public init(
        command: [String], profile: Profile, workspace: String? = nil, timeout: Double? = nil,
        environmentOverrides: [String] = [], runID: String, hostEnvironment: [String: String], currentDirectory: String,
        profileSearchPaths: [String] = []
    ) {
        self.profileSearchPaths = profileSearchPaths
        self.command = command
        self.profile = profile
        self.workspace = workspace
        self.timeout = timeout
        self.environmentOverrides = environmentOverrides
        self.runID = runID
        self.hostEnvironment = hostEnvironment
        self.currentDirectory = currentDirectory
    }
}

/// Everything the launch needs, decided before the clone: the child only executes it.
public struct LaunchPlan: Sendable {
    public var runID: String
    public var profileName: String
    public var cloneFlags: UInt64
    public var namespaces: [String]
    public var identity: Identity
    /// Host directory the new root is assembled on (inside the child's private mount namespace).
    public var staging: String
    public var mounts: [MountOp]
    public var created: [CreatedPath]
    public var workspace: String?
    public var hostname: String
    public var loopbackUp: Bool
    public var cwd: String
    public var rlimits: [ResourceLimit]
    public var lastCapability: Int32
    public var securebits: UInt32
    public var landlock: LandlockPolicy?
    public var seccomp: SeccompFilter
    public var execCandidates: [String]
    public var argv: [String]
    public var environment: [String: String]
    public var wallTimeout: Double?
    public var killGrace: Double
    public var limits: Limits
    public var execLocations: String
    public var notes: [String]
    /// The profile's `syscalls.mediate` (empty: no mediation filter, no notifier).
    public var mediation: MediationPolicy = .init()
    /// Syscall numbers of the profile's `syscalls.deny` (their refusals cite that rule).
    public var profileDenied: Set<Int32> = []
    /// The files deny_exec names, found when the run was planned (by inode and content too).
    public var execDenied: [ExecDenial.DeniedFile] = []

    // CLONE_* flags.
    static let newNS: UInt64 = 0x0002_0000
    static let newCgroup: UInt64 = 0x0200_0000
    static let newUTS: UInt64 = 0x0400_0000
    static let newIPC: UInt64 = 0x0800_0000
    static let newUser: UInt64 = 0x1000_0000
    static let newPID: UInt64 = 0x2000_0000
    static let newNet: UInt64 = 0x4000_0000

    /// SECBIT_NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE and the locks of those and KEEP_CAPS:
    /// even a uid 0 inside could never regain capabilities by exec or setuid.
    static let securebits: UInt32 = 0xEF
}

/// Builds a `LaunchPlan` from a request, the profile and the host.
public enum LaunchPlanner {
    public static let hostname = "agentrun"

    public static func plan(_ request: LaunchRequest, host: HostInfo, seed: UInt32) throws(LaunchError) -> LaunchPlan {
        let profile = request.profile
        guard let program = request.command.first, !program.isEmpty else {
            throw LaunchError(stage: "command", cause: "no command given", fix: "agentrun -- COMMAND [ARGS...]")
        }

        let workspace = try resolveWorkspace(request, host: host)
        let identity = Identity.make(invokingUID: host.uid, invokingGID: host.gid, seed: seed)

        var filesystem = profile.filesystem
        if let workspace { filesystem.protected += policyFiles(request, workspace: workspace) }
        let view = try MountPlanner(
            filesystem: filesystem, network: profile.network, workspace: workspace, identity: identity,
            hostname: hostname
        ).plan()
        var notes = view.notes

        var landlock: LandlockPolicy?
        if host.landlockABI > 0 {
            landlock = LandlockPolicy(abi: Int(host.landlockABI), rules: view.landlockRules)
        } else if profile.landlock == .required {
            throw LaunchError(
                stage: "landlock", cause: "this kernel offers no Landlock (\(Errno.describe(-host.landlockABI)))",
                fix: "the profile requires Landlock: use a kernel with CONFIG_SECURITY_LANDLOCK=y and 'landlock' in the lsm= boot parameter, or a profile with `landlock: best-effort`")
        } else {
            notes.append("landlock: unavailable on this kernel (\(Errno.describe(-host.landlockABI))); running without it (profile says best-effort)")
        }

        let seccomp = try seccompFilter(for: profile)
        var execDenied: [ExecDenial.DeniedFile] = []
        if !profile.syscalls.mediate.denyExec.isEmpty, let current = landlock {
            let denied = ExecDenial.deniedFiles(
                profile.syscalls.mediate.denyExec,
                searchPath: (request.hostEnvironment["PATH"] ?? "").split(separator: ":").map(String.init).filter { $0.hasPrefix("/") })
            // Read-only host paths mounted at the same place (see ExecDenial for why not others).
            landlock = ExecDenial.apply(to: current, denied: denied, systemPaths: profile.filesystem.system + profile.filesystem.readOnly)
            execDenied = denied
            notes.append("deny_exec: Landlock refuses \(denied.count) program files (\(denied.prefix(6).map(\.path).joined(separator: ", "))\(denied.count > 6 ? ", ..." : ""))")
        }

        let environment: [String: String]
        do {
            environment = try SandboxEnvironment.build(
                process: profile.process, overrides: request.environmentOverrides, host: request.hostEnvironment,
                runID: request.runID, profileName: profile.name, home: MountPlanner.home)
        } catch {
            throw LaunchError(stage: "environment", cause: error.description)
        }

        let cwd: String
        if let workspace {
            cwd = Paths.isWithin(request.currentDirectory, workspace) ? request.currentDirectory : workspace
        } else {
            cwd = MountPlanner.home
        }

        var flags = LaunchPlan.newUser | LaunchPlan.newPID | LaunchPlan.newNS | LaunchPlan.newIPC | LaunchPlan.newUTS
            | LaunchPlan.newCgroup
        var namespaces = ["user", "pid", "mount", "ipc", "uts", "cgroup"]
        if profile.network == .none {
            flags |= LaunchPlan.newNet
            namespaces.append("net")
        }

        let (rlimits, limitNotes) = ResourceLimit.plan(profile.limits)
        notes.append(contentsOf: limitNotes)

        var plan = LaunchPlan(
            runID: request.runID,
            profileName: profile.name,
            cloneFlags: flags,
            namespaces: namespaces,
            identity: identity,
            staging: Files.kind("/tmp") == .directory ? "/tmp" : "/mnt",
            mounts: view.mounts,
            created: view.created,
            workspace: workspace,
            hostname: hostname,
            loopbackUp: profile.network == .none,
            cwd: cwd,
            rlimits: rlimits,
            lastCapability: host.lastCapability,
            securebits: LaunchPlan.securebits,
            landlock: landlock,
            seccomp: seccomp,
            execCandidates: execCandidates(program, path: environment["PATH"] ?? SandboxEnvironment.defaultPath, cwd: cwd),
            argv: request.command,
            environment: environment,
            wallTimeout: request.timeout ?? profile.limits.wall,
            killGrace: profile.limits.killGrace,
            limits: profile.limits,
            execLocations: profile.filesystem.exec.sorted().map(\.rawValue).joined(separator: ", "),
            notes: notes)
        plan.mediation = profile.syscalls.mediate
        plan.execDenied = execDenied
        plan.profileDenied = Set(profile.syscalls.deny.compactMap(SeccompFilter.resolve))
        if !profile.syscalls.mediate.denyExec.isEmpty && landlock == nil {
            // deny_exec is exact only because Landlock refuses the files too.
            throw LaunchError(
                stage: "syscalls.mediate.deny_exec", cause: "this kernel offers no Landlock, which deny_exec needs to be exact",
                fix: "use a kernel with Landlock, or remove deny_exec from the profile")
        }
        return plan
    }

    /// The seccomp filters a profile loads: compiled at build time unless the profile adds denies.
    public static func seccompFilter(for profile: Profile, withPseudoCode: Bool = false) throws(LaunchError) -> SeccompFilter {
        let exec = profile.filesystem.exec
        let noFilelessExec = !exec.contains(.workspace) && !exec.contains(.tmp) && !exec.contains(.readWrite)
        let mediation = mediationRules(profile.syscalls.mediate)
        if profile.syscalls.deny.isEmpty && !withPseudoCode {
            if mediation.isEmpty { return noFilelessExec ? PrebuiltSeccomp.noFilelessExec : PrebuiltSeccomp.standard }
            if mediation == PrebuiltSeccomp.defaultMediation {
                return noFilelessExec ? PrebuiltSeccomp.noFilelessExecMediated : PrebuiltSeccomp.standardMediated
            }
        }
        do {
            return try SeccompFilter.build(
                extraDenied: profile.syscalls.deny, noFilelessExec: noFilelessExec, mediation: mediation, withPseudoCode: withPseudoCode)
        } catch {
            throw LaunchError(stage: "profile \(profile.name)", cause: error.description, fix: "use syscall names as in `man 2 syscalls`")
        }
    }

    /// The profile's `syscalls.mediate` as filter rules. Deny rules need their calls mediated
    /// whether or not the profile records them; exact_files needs every file-write call.
    public static func mediationRules(_ policy: MediationPolicy) -> MediationRules {
        var rules = MediationRules(all: policy.recordAll)
        var groups = Set(policy.recordedGroups)
        if !policy.denyExec.isEmpty { groups.insert(.exec) }
        if !policy.denyWrite.isEmpty || policy.exactFiles { groups.insert(.fileWrite) }
        for group in groups {
            switch group {
            case .exec: rules.always.formUnion(group.syscalls)
            case .network:
                rules.always.formUnion(["connect", "bind"])
                rules.addressedSends = true
            case .fileWrite:
                rules.always.formUnion(group.syscalls.filter { $0 != "open" && $0 != "openat" })
                rules.writeOpens = true
            case .denied: rules.denied = true
            case .signals: rules.signalsBeyond = true
            }
        }
        for name in policy.record where MediationGroup(rawValue: name) == nil {
            rules.always.insert(name)
        }
        // Only syscalls this architecture has (e.g. no `open` on arm64).
        rules.always = rules.always.filter { SeccompFilter.resolve($0) != nil || !MediationGroup.allCases.flatMap(\.syscalls).contains($0) }
        return rules
    }

    /// What decides the next run and lies in the workspace stays read-only: the profile files of
    /// this run, the profile search directories (an agent must not plant a `default.yaml`), and
    /// the agentrun binary itself.
    static func policyFiles(_ request: LaunchRequest, workspace: String) -> [String] {
        var entries: [String] = []
        func add(_ path: String, directory: Bool) {
            let real = Files.realPath(path) ?? Paths.normalize(path)
            guard Paths.isWithin(real, workspace), real != workspace else { return }
            entries.append(String(real.dropFirst(workspace.count + 1)) + (directory ? "/" : ""))
        }
        for file in request.profile.sourceFiles { add(file, directory: false) }
        for directory in request.profileSearchPaths where directory.hasPrefix("/") { add(directory, directory: true) }
        if let executable = Files.realPath("/proc/self/exe") { add(executable, directory: false) }
        return entries
    }

    /// The workspace must be a directory that is not the root or a parent of system paths: an
    /// idmapped workspace makes everything the invoking user owns beneath it writable. Nor may it
    /// contain the user's home: SSH keys, cloud credentials and shell start-up files live there.
    static func resolveWorkspace(_ request: LaunchRequest, host: HostInfo? = nil) throws(LaunchError) -> String? {
        let profile = request.profile
        guard profile.filesystem.workspace != .none else { return nil }
        let requested = request.workspace.map { Paths.join(request.currentDirectory, $0) } ?? request.currentDirectory
        guard let real = Files.realPath(requested) else {
            throw LaunchError(stage: "workspace \(requested)", cause: "does not exist", fix: "pass an existing directory with --workspace")
        }
        guard Files.kind(real) == .directory else {
            throw LaunchError(stage: "workspace \(real)", cause: "not a directory", fix: "pass a directory with --workspace")
        }
        let forbidden = ["/proc", "/sys", "/dev"]
        if real == "/" || forbidden.contains(where: { Paths.isWithin(real, $0) }) {
            throw LaunchError(stage: "workspace \(real)", cause: "this directory cannot be a workspace", fix: "run agentrun in a project directory or pass --workspace DIR")
        }
        var homes = [request.hostEnvironment["HOME"]].compactMap { $0 }
        if let host, let entry = getpwuid(host.uid), let dir = entry.pointee.pw_dir { homes.append(String(cString: dir)) }
        for home in homes where home.hasPrefix("/") && home != "/" {
            let realHome = Files.realPath(home) ?? home
            if Paths.isWithin(realHome, real) {
                throw LaunchError(
                    stage: "workspace \(real)", cause: "it contains your home directory \(realHome) (credentials, shell start-up files)",
                    fix: "run agentrun in a project directory or pass --workspace DIR")
            }
        }
        if let system = (profile.filesystem.system + profile.filesystem.readOnly).first(where: {
            Paths.isWithin($0, real) && Files.kind($0) != .missing
        }) {
            throw LaunchError(
                stage: "workspace \(real)", cause: "it contains the read-only system path \(system)",
                fix: "run agentrun in a project directory or pass --workspace DIR")
        }
        return real
    }

    /// PATH search happens here, against the sandbox's PATH; the child tries each candidate.
    static func execCandidates(_ program: String, path: String, cwd: String) -> [String] {
        if program.contains("/") { return [Paths.join(cwd, program)] }
        return path.split(separator: ":").filter { $0.hasPrefix("/") }.map { "\($0)/\(program)" }
    }
}

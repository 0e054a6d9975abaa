import AgentrunOS
import AgentrunSeccomp
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// A started sandbox: its init (pid 1 inside) as a pidfd, and the pipe on which the init reports
/// the agent's wait status.
public struct SandboxProcess: Sendable {
    public var pid: Int32
    public var pidfd: Int32
    public var statusFD: Int32
    /// The master of the sandbox's pty when the agent got a terminal, else -1.
    public var ptyMaster: Int32
    /// How the pty is wired, when there is one.
    public var terminal: TerminalPlan? = nil
    /// The agent's host pid and executable, read from /proc right after the launch.
    public var agent: (pid: Int32, exe: String)? = nil
    /// The broker's listening socket (bound inside the sandbox), or -1 when the plan has none.
    public var brokerListener: Int32 = -1
    /// The sandbox's pid namespace (st_dev, st_ino of /proc/<init>/ns/pid): the broker serves
    /// only peers inside it.
    public var pidNamespace: (device: UInt64, inode: UInt64) = (0, 0)

    /// Kills the whole sandbox (its init is pid 1 of the namespace) and reaps init; closes every fd.
    func kill() {
        _ = ar_pidfd_send_signal(pidfd, SIGKILL)
        var info = siginfo_t()
        while waitid(idtype_t(rawValue: 3 /* P_PIDFD */), id_t(pidfd), &info, WEXITED) < 0 && errno == EINTR {}
        for fd in [pidfd, statusFD, ptyMaster, brokerListener] where fd >= 0 { close(fd) }
    }

    /// Finds the agent: init's child in /proc/<init>/task/<init>/children, and its exe link.
    mutating func identifyAgent() {
        guard let children = Files.readText("/proc/\(pid)/task/\(pid)/children"),
            let first = children.split(separator: " ").first, let child = Int32(first),
            let exe = Files.readLink("/proc/\(child)/exe")
        else { return }
        agent = (child, exe)
    }
}

/// Whether the agent gets its own terminal: a pty inside the sandbox, relayed by the supervisor.
public struct TerminalPlan: Sendable, Equatable {
    /// Bit N set: fd N of the agent is the pty (the others pass through unchanged).
    public var fds: UInt32
    public var rows: UInt16
    public var cols: UInt16

    /// A pty whenever agentrun writes to a terminal: the agent then never holds the host terminal
    /// for output (a terminal fd is usually open read-write, so holding it would also let the agent
    /// read what the user types meanwhile). Input is relayed too when stdin is that terminal.
    public static func detect() -> TerminalPlan? {
        guard ar_isatty(1) == 1 || ar_isatty(2) == 1 else { return nil }
        var fds: UInt32 = 0
        for fd: Int32 in 0...2 where ar_isatty(fd) == 1 { fds |= 1 << UInt32(fd) }
        var rows: UInt16 = 0
        var cols: UInt16 = 0
        _ = ar_winsize(ar_isatty(1) == 1 ? 1 : 2, &rows, &cols)
        return TerminalPlan(fds: fds, rows: rows, cols: cols)
    }

    public var relaysInput: Bool { fds & 1 != 0 }
    /// Where the pty's output goes on the host.
    public var outputFD: Int32 { fds & 2 != 0 ? 1 : 2 }
}

/// Calls `ar_spawn` with a `LaunchPlan`: copies every string and array into C memory that lives
/// for the duration of the call, prepares the idmapped workspace when running as root, and maps
/// a failure report to a `LaunchError`.
///
/// Must run on the main thread: the sandbox's PR_SET_PDEATHSIG follows the thread that cloned it.
public enum SandboxLauncher {
    /// - Parameter mediation: when the plan mediates syscalls, starts serving the listener the
    ///   agent hands over (before its execve, which may itself be mediated), given the init's
    ///   pidfd (borrowed) and the agent's known initial-exec memory; returns 0 or -errno. It owns
    ///   the listener.
    public static func spawn(
        _ plan: LaunchPlan, cgroup: RunCgroup? = nil, terminal: TerminalPlan? = nil,
        mediation: ((Int32, Int32, SyscallNotifier.InitialExec) -> Int32)? = nil
    ) throws(LaunchError) -> SandboxProcess {
        let arena = CArena()
        defer { arena.free() }

        // The agent sends its mediation listener over this pair.
        var notifySocket: [Int32] = [-1, -1]
        let mediating = !plan.seccomp.notifyProgram.isEmpty
        if mediating {
            guard mediation != nil else {
                throw LaunchError(stage: "syscall mediation", cause: "the profile mediates syscalls but nothing would answer them")
            }
            if ar_socketpair_cloexec(&notifySocket) != 0 {
                throw LaunchError(stage: "create the mediation channel", cause: Errno.describe(errno))
            }
        }
        defer { for fd in notifySocket where fd >= 0 { close(fd) } }

        var ptySocket: [Int32] = [-1, -1]
        if terminal != nil, ar_socketpair_cloexec(&ptySocket) != 0 {
            throw LaunchError(stage: "create the terminal channel", cause: Errno.describe(errno))
        }
        defer { for fd in ptySocket where fd >= 0 { close(fd) } }

        // Init sends the broker's listening socket over this pair while it builds the mount view.
        var brokerSocket: [Int32] = [-1, -1]
        if plan.mounts.contains(where: { $0.kind == .socket }), ar_socketpair_cloexec(&brokerSocket) != 0 {
            throw LaunchError(stage: "create the broker channel", cause: Errno.describe(errno))
        }
        defer { for fd in brokerSocket where fd >= 0 { close(fd) } }

        var workspaceTree: Int32 = -1
        defer { if workspaceTree >= 0 { close(workspaceTree) } }
        if let idmap = plan.identity.workspaceIdmap,
            let op = plan.mounts.first(where: { $0.kind == .bindDescriptor })
        {
            workspaceTree = try idmappedWorkspace(op, idmap: idmap)
        }

        let mounts = arena.array(of: ar_mount_op.self, count: plan.mounts.count)
        for (i, op) in plan.mounts.enumerated() {
            var data = op.data
            if op.kind == .tmpfs || op.kind == .devpts || op.kind == .mqueue || op.kind == .proc {
                data.append(0)  // options are a C string
            }
            mounts[i] = ar_mount_op(
                kind: op.kind.rawValue,
                flags: op.flags.rawValue,
                source: op.source.map(arena.string),
                target: arena.string(op.target),
                data: arena.bytes(data),
                data_len: op.data.count,
                mode: op.mode,
                fd: op.kind == .bindDescriptor ? workspaceTree : op.kind == .socket ? brokerSocket[1] : -1)
        }

        let rlimits = arena.array(of: ar_rlimit.self, count: plan.rlimits.count)
        for (i, limit) in plan.rlimits.enumerated() {
            rlimits[i] = ar_rlimit(resource: limit.resource, soft: limit.soft, hard: limit.hard)
        }

        let landlockRules = arena.array(of: ar_landlock_rule.self, count: plan.landlock?.rules.count ?? 0)
        for (i, rule) in (plan.landlock?.rules ?? []).enumerated() {
            landlockRules[i] = ar_landlock_rule(path: arena.string(rule.path), access: rule.access, optional: rule.optional ? 1 : 0)
        }

        let environment = plan.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let argv = arena.stringArray(plan.argv)
        let envp = arena.stringArray(environment)
        let candidates = arena.stringArray(plan.execCandidates)
        let syscallFilter = arena.bytes(plan.seccomp.syscallProgram)
        let argumentFilter = arena.bytes(plan.seccomp.argumentProgram)

        var config = ar_spawn_config()
        config.clone_flags = plan.cloneFlags
        config.cgroup_fd = cgroup?.cloneFD ?? -1
        let procsFDs = arena.array(of: Int32.self, count: cgroup?.procsFDs.count ?? 0)
        for (i, fd) in (cgroup?.procsFDs ?? []).enumerated() { procsFDs[i] = fd }
        config.cgroup_procs_fds = UnsafePointer(procsFDs)
        config.n_cgroup_procs_fds = cgroup?.procsFDs.count ?? 0
        config.uid_map = arena.string(plan.identity.uidMap)
        config.gid_map = arena.string(plan.identity.gidMap)
        config.deny_setgroups = plan.identity.denySetgroups ? 1 : 0
        config.uid = plan.identity.insideUID
        config.gid = plan.identity.insideGID
        config.clear_groups = plan.identity.clearGroups ? 1 : 0
        config.staging = arena.string(plan.staging)
        config.mounts = UnsafePointer(mounts)
        config.n_mounts = plan.mounts.count
        config.hostname = arena.string(plan.hostname)
        config.loopback_up = plan.loopbackUp ? 1 : 0
        config.cwd = arena.string(plan.cwd)
        config.rlimits = UnsafePointer(rlimits)
        config.n_rlimits = plan.rlimits.count
        config.last_cap = plan.lastCapability
        config.securebits = plan.securebits
        if let landlock = plan.landlock {
            config.landlock_abi = Int32(landlock.abi)
            config.landlock_handled_fs = landlock.handledFS
            config.landlock_handled_net = landlock.handledNet
            config.landlock_scoped = landlock.scoped
            config.landlock_rules = UnsafePointer(landlockRules)
            config.n_landlock_rules = landlock.rules.count
        }
        config.seccomp_bpf = UnsafeRawPointer(syscallFilter)
        config.seccomp_bpf_len = plan.seccomp.syscallProgram.count / 8
        config.seccomp_bpf2 = UnsafeRawPointer(argumentFilter)
        config.seccomp_bpf2_len = plan.seccomp.argumentProgram.count / 8
        config.exec_candidates = UnsafeRawPointer(candidates).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
        config.n_exec_candidates = plan.execCandidates.count
        config.pty_socket = -1
        config.pty_socket_parent = -1
        if let terminal {
            config.pty_socket = ptySocket[1]
            config.pty_socket_parent = ptySocket[0]
            config.pty_fds = terminal.fds
            config.pty_rows = terminal.rows
            config.pty_cols = terminal.cols
        }
        config.argv = UnsafePointer(argv)
        config.envp = UnsafePointer(envp)

        config.notify_socket = -1
        config.notify_socket_parent = -1
        var listenerBox: Unmanaged<ListenerCallback>?
        defer { listenerBox?.release() }
        if mediating, let mediation {
            let notifyFilter = arena.bytes(plan.seccomp.notifyProgram)
            config.seccomp_notify_bpf = UnsafeRawPointer(notifyFilter)
            config.seccomp_notify_bpf_len = plan.seccomp.notifyProgram.count / 8
            config.notify_socket = notifySocket[1]
            config.notify_socket_parent = notifySocket[0]
            let known = initialExec(candidates: candidates, count: plan.execCandidates.count, argv: argv, envp: envp)
            let box = Unmanaged.passRetained(ListenerCallback { listener, pidfd in mediation(listener, pidfd, known) })
            listenerBox = box
            config.on_listener = { listener, pidfd, context in
                Unmanaged<ListenerCallback>.fromOpaque(context!).takeUnretainedValue().body(listener, pidfd)
            }
            config.on_listener_context = box.toOpaque()
        }

        // The contiguous block of the supervisor's argv strings (as the kernel laid them out).
        let args = CommandLine.unsafeArgv
        if CommandLine.argc > 0, let first = args[0], let last = args[Int(CommandLine.argc) - 1] {
            config.argv_area = first
            config.argv_area_len = (UnsafeRawPointer(last) - UnsafeRawPointer(first)) + strlen(last)
        }
        var result = ar_spawn_result()
        guard ar_spawn(&config, &result) == 0 else {
            throw LaunchFailure.describe(result.error, plan: plan)
        }
        var process = SandboxProcess(pid: result.pid, pidfd: result.pidfd, statusFD: result.status_fd, ptyMaster: result.pty_master, terminal: terminal)
        if brokerSocket[0] >= 0 {
            // The listener, then init's pid namespace (an fd: init is non-dumpable, so an
            // unprivileged supervisor could not read /proc/<init>/ns/pid).
            let listener = ar_receive_fd(brokerSocket[0])
            let namespace = listener >= 0 ? ar_receive_fd(brokerSocket[0]) : -1
            var ns = stat()
            let statted = namespace >= 0 && fstat(namespace, &ns) == 0
            if namespace >= 0 { close(namespace) }
            guard listener >= 0, statted else {
                let cause = listener < 0 ? Errno.describe(-listener) : "cannot learn the sandbox's pid namespace: \(Errno.describe(namespace < 0 ? -namespace : errno))"
                if listener >= 0 { close(listener) }
                process.kill()
                throw LaunchError(stage: "receive the broker socket from the sandbox", cause: cause)
            }
            process.brokerListener = listener
            process.pidNamespace = (UInt64(ns.st_dev), UInt64(ns.st_ino))
        }
        process.identifyAgent()
        return process
    }

    /// Root only: a detached clone of the workspace whose on-disk owner (the invoking user) appears
    /// as the agent's unprivileged host id, so the agent can write there and its files stay the user's.
    static func idmappedWorkspace(_ op: MountOp, idmap: (uidMap: String, gidMap: String)) throws(LaunchError) -> Int32 {
        let userns = ar_userns_fd(idmap.uidMap, idmap.gidMap)
        guard userns >= 0 else {
            throw LaunchError(stage: "create the id mapping for the workspace", cause: Errno.describe(-userns), fix: "run `agentrun doctor`")
        }
        defer { close(userns) }
        let source = op.source ?? op.target
        var tree = ar_idmapped_tree(source, userns, op.flags.rawValue, 1)
        if tree == -EINVAL {
            tree = ar_idmapped_tree(source, userns, op.flags.rawValue, 0)  // kernels without recursive idmaps
        }
        guard tree >= 0 else {
            throw LaunchError(
                stage: "idmapped mount of the workspace \(source)", cause: Errno.describe(-tree),
                fix: "as root, agentrun maps the workspace to the sandbox's unprivileged uid with an idmapped mount; "
                    + "this filesystem does not support it. Use a workspace on ext4, xfs, btrfs or tmpfs, or run agentrun as an ordinary user")
        }
        return tree
    }
}

/// The Swift side of `ar_spawn_config.on_listener`.
final class ListenerCallback {
    let body: (Int32, Int32) -> Int32
    init(_ body: @escaping (Int32, Int32) -> Int32) { self.body = body }
}

extension SandboxLauncher {
    /// The agent's first execve arguments as they sit in memory (the same addresses in the
    /// child, whose memory is a copy of ours): the exec candidates, argv and envp arrays.
    static func initialExec(
        candidates: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, count: Int,
        argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    ) -> SyscallNotifier.InitialExec {
        var strings: [UInt64: String] = [:]
        var words: [UInt64: UInt64] = [:]
        for i in 0..<count { if let p = candidates[i] { strings[UInt64(UInt(bitPattern: p))] = String(cString: p) } }
        for array in [argv, envp] {
            var i = 0
            while true {
                let slot = UInt64(UInt(bitPattern: array + i))
                guard let p = array[i] else {
                    words[slot] = 0
                    break
                }
                words[slot] = UInt64(UInt(bitPattern: p))
                strings[UInt64(UInt(bitPattern: p))] = String(cString: p)
                i += 1
            }
        }
        return SyscallNotifier.InitialExec(strings: strings, words: words)
    }
}

/// C allocations that live until `free()`: strings, byte buffers and arrays passed to the shim.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    func string(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        allocations.append(UnsafeMutableRawPointer(p))
        return UnsafePointer(p)
    }

    func bytes(_ b: [UInt8]) -> UnsafePointer<CChar> {
        let p = malloc(max(b.count, 1))!
        b.withUnsafeBytes { if let base = $0.baseAddress { memcpy(p, base, b.count) } }
        allocations.append(p)
        return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
    }

    func array<T>(of: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        allocations.append(UnsafeMutableRawPointer(p))
        return p
    }

    /// A NULL-terminated `char *const[]`.
    func stringArray(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
        allocations.append(UnsafeMutableRawPointer(p))
        for (i, s) in strings.enumerated() {
            p[i] = UnsafeMutablePointer(mutating: string(s))
        }
        p[strings.count] = nil
        return p
    }

    func free() {
        for p in allocations { Glibc.free(p) }
        allocations.removeAll()
    }
}

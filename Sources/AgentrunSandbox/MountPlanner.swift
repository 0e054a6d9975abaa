import AgentrunBroker
import AgentrunOS
import AgentrunPolicy

#if canImport(Glibc)
import Glibc
#endif

/// Plans the sandbox's filesystem from nothing: a fresh tmpfs root, read-only system paths, the
/// workspace, private /tmp and home, a fresh /proc, a minimal /dev, protected paths, and the
/// Landlock rules that mirror it. Nothing of the host appears unless the profile names it.
///
/// The plan is computed here, on the host, with lstat; the child then executes it without ever
/// following a symlink (see spawn.c), so a path that changes in between fails the launch.
public struct MountPlanner {
    public var filesystem: FilesystemPolicy
    public var network: NetworkMode
    /// The canonical host path of the workspace, or nil for `workspace: none`.
    public var workspace: String?
    public var identity: Identity
    public var hostname: String

    public init(filesystem: FilesystemPolicy, network: NetworkMode, workspace: String?, identity: Identity, hostname: String) {
        self.filesystem = filesystem
        self.network = network
        self.workspace = workspace
        self.identity = identity
        self.hostname = hostname
    }

    public static let home = "/home/agent"

    /// The result: mounts in execution order, and what else the launch and the cleanup need.
    public struct View: Sendable {
        public var mounts: [MountOp] = []
        public var landlockRules: [LandlockPolicy.Rule] = []
        public var created: [CreatedPath] = []
        /// System paths missing on this host (skipped) and other remarks, for `--verbose`.
        public var notes: [String] = []
    }

    private func noExec(_ location: ExecLocation) -> MountOp.Flags {
        filesystem.exec.contains(location) ? [] : .noExec
    }

    public func plan() throws(LaunchError) -> View {
        var view = View()
        var tree: [MountOp] = []  // sorted by depth before use: parents before children
        var execRules: [LandlockPolicy.Rule] = []
        var writeRules: [LandlockPolicy.Rule] = []
        let systemExec = filesystem.exec.contains(.system) ? LandlockPolicy.execute : 0
        let bound = Set(filesystem.system + filesystem.readOnly + filesystem.readWrite)

        // System paths: read-only, missing ones skipped, symlinks recreated. Small world-readable
        // files (most of the /etc allow-list) are copied into the read-only root instead of
        // bind-mounted: the same read-only content for the agent, with a fraction of the mounts to
        // set up and tear down. Anything else, and everything not world-readable, is bound, so
        // host permissions keep applying.
        let systemFlags = MountOp.Flags([.readOnly, .noSuid, .noDev, .create, .recursive]).union(noExec(.system))
        let kinds = Dictionary(filesystem.system.map { ($0, Files.kind($0)) }, uniquingKeysWith: { first, _ in first })
        let realSystemPaths = filesystem.system.filter { kinds[$0] != .symlink && kinds[$0] != .missing }
        var realDirectories: [String] = []
        for path in filesystem.system.sorted() {
            if realDirectories.contains(where: { Paths.isWithin(path, $0) }) { continue }  // already inside a bind
            switch kinds[path] ?? .missing {
            case .missing:
                view.notes.append("system path \(path) does not exist on this host; skipped")
            case .symlink:
                guard let link = Files.readLink(path), let resolved = Files.realPath(path) else {
                    view.notes.append("system path \(path) is a dangling symlink; skipped")
                    continue
                }
                if realSystemPaths.contains(where: { Paths.isWithin(resolved, $0) }) {
                    tree.append(MountOp(.symlink, target: path, source: link, purpose: "system"))
                } else {
                    // The link points outside the view (e.g. /etc/resolv.conf -> /run/...): its target appears here.
                    tree.append(systemEntry(path, source: resolved, flags: systemFlags))
                    execRules.append(.init(path: path, access: systemExec, optional: false))
                }
            case let kind:
                guard let real = Files.realPath(path) else { continue }
                if real != path {
                    view.notes.append("system path \(path) lies under a symlink (\(real)); skipped")
                    continue
                }
                if kind == .directory { realDirectories.append(path) }
                tree.append(systemEntry(path, source: path, flags: systemFlags))
                execRules.append(.init(path: path, access: systemExec, optional: false))
            }
        }

        // Extra read-only and read-write paths: each must exist.
        for (paths, writable) in [(filesystem.readOnly, false), (filesystem.readWrite, true)] {
            for path in paths {
                guard let real = Files.realPath(path) else {
                    throw LaunchError(
                        stage: "filesystem.\(writable ? "read_write" : "read_only")", cause: "\(path) does not exist",
                        fix: "create it, or remove it from the profile (system paths may be missing; these may not)")
                }
                var flags: MountOp.Flags = [.noSuid, .noDev, .create, .recursive]
                flags.formUnion(writable ? noExec(.readWrite) : noExec(.system))
                if !writable { flags.insert(.readOnly) }
                tree.append(MountOp(.bind, target: path, source: real, flags: flags, purpose: writable ? "read_write" : "read_only"))
                let exec = writable ? (filesystem.exec.contains(.readWrite) ? LandlockPolicy.execute : 0) : systemExec
                if writable {
                    writeRules.append(.init(path: path, access: LandlockPolicy.write | exec, optional: false))
                } else {
                    execRules.append(.init(path: path, access: exec, optional: false))
                }
            }
        }

        // Synthetic identity and name files, unless the profile binds the host's.
        let passwd = """
            root:x:0:0:root:/root:/usr/sbin/nologin
            agent:x:\(identity.insideUID):\(identity.insideGID):agentrun agent:\(Self.home):/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

            """
        let group = """
            root:x:0:
            agent:x:\(identity.insideGID):
            nogroup:x:65534:

            """
        let hosts = """
            127.0.0.1\tlocalhost \(hostname)
            ::1\tlocalhost ip6-localhost ip6-loopback \(hostname)

            """
        for (path, text) in [("/etc/passwd", passwd), ("/etc/group", group), ("/etc/hostname", hostname + "\n"), ("/etc/hosts", hosts)]
        where !bound.contains(path) {
            tree.append(MountOp(.file, target: path, data: Array(text.utf8), mode: 0o644, purpose: "synthetic"))
        }
        if network == .host, !bound.contains("/etc/resolv.conf"), let resolv = Files.realPath("/etc/resolv.conf") {
            tree.append(MountOp(.bind, target: "/etc/resolv.conf", source: resolv, flags: systemFlags, purpose: "network: host"))
        }

        // Private, writable, empty: /tmp, the agent's home, and the profile's tmpfs directories.
        let tmpFlags = MountOp.Flags([.noSuid, .noDev]).union(noExec(.tmp))
        let tmpExec = filesystem.exec.contains(.tmp) ? LandlockPolicy.execute : 0
        tree.append(MountOp(.tmpfs, target: "/tmp", flags: tmpFlags, data: MountOp.options("size=\(filesystem.tmpSize),mode=1777"), purpose: "private /tmp"))
        tree.append(MountOp(.tmpfs, target: Self.home, flags: tmpFlags, data: MountOp.options("size=\(filesystem.tmpSize),mode=0700"), purpose: "home"))
        writeRules.append(.init(path: "/tmp", access: LandlockPolicy.write | tmpExec, optional: false))
        writeRules.append(.init(path: Self.home, access: LandlockPolicy.write | tmpExec, optional: false))
        for path in filesystem.tmpfs {
            tree.append(MountOp(.tmpfs, target: path, flags: tmpFlags, data: MountOp.options("size=\(filesystem.tmpSize),mode=1777"), purpose: "tmpfs"))
            writeRules.append(.init(path: path, access: LandlockPolicy.write | tmpExec, optional: false))
        }

        // The workspace, at the same path.
        var workspaceFlags = MountOp.Flags([.noSuid, .noDev]).union(noExec(.workspace))
        if let workspace {
            if filesystem.workspace == .readOnly { workspaceFlags.insert(.readOnly) }
            let kind: MountOp.Kind = identity.workspaceIdmap == nil ? .bind : .bindDescriptor
            tree.append(MountOp(kind, target: workspace, source: workspace, flags: workspaceFlags.union([.create, .recursive]), purpose: "workspace"))
            let exec = filesystem.exec.contains(.workspace) ? LandlockPolicy.execute : 0
            let write = filesystem.workspace == .readWrite ? LandlockPolicy.write : 0
            writeRules.append(.init(path: workspace, access: write | exec, optional: false))
        }

        view.mounts = tree.enumerated()
            .map { (depth: $0.element.depth, offset: $0.offset, op: $0.element) }
            .sorted { ($0.depth, $0.offset) < ($1.depth, $1.offset) }
            .map(\.op)

        view.mounts.append(contentsOf: procMounts())
        view.mounts.append(contentsOf: devMounts())

        if let workspace, filesystem.workspace == .readWrite, !filesystem.protected.isEmpty {
            let protected = ProtectedPathPlanner(workspace: workspace, entries: filesystem.protected, workspaceFlags: workspaceFlags)
                .plan()
            view.mounts.append(contentsOf: protected.ops)
            view.created = protected.created
            view.notes.append(contentsOf: protected.notes)
        }

        // The broker's socket, in a tmpfs of its own that is read-only once the socket exists:
        // the agent can connect to it but never remove, replace or re-mode it.
        view.mounts.append(MountOp(.tmpfs, target: BrokerEndpoint.directory, flags: [.noSuid, .noDev, .noExec], data: MountOp.options("size=65536,mode=0755"), purpose: "broker"))
        view.mounts.append(MountOp(.socket, target: BrokerEndpoint.path, mode: 0o600, purpose: "broker"))
        view.mounts.append(MountOp(.setAttributes, target: BrokerEndpoint.directory, flags: [.readOnly, .noSuid, .noDev, .noExec], purpose: "broker"))

        // Finally the root itself becomes read-only: nothing new can appear outside writable mounts.
        view.mounts.append(MountOp(.setAttributes, target: "/", flags: [.readOnly, .noSuid, .noDev], purpose: "root"))

        // Landlock mirrors the view: read everything visible, write and execute only where allowed.
        view.landlockRules = [.init(path: "/", access: LandlockPolicy.read, optional: false)]
        // Execute rights go to system directories, not to configuration under /etc.
        view.landlockRules += execRules.filter { $0.access != 0 && !Paths.isWithin($0.path, "/etc") }
        view.landlockRules += writeRules.filter { $0.access != 0 }
        view.landlockRules += [
            .init(path: "/dev", access: LandlockPolicy.writeFile | LandlockPolicy.ioctlDev, optional: false),
            .init(path: "/dev/shm", access: LandlockPolicy.write, optional: false),
            .init(path: "/proc", access: LandlockPolicy.writeFile, optional: false),
        ]
        return view
    }

    /// Files up to this size are copied into the sandbox's root instead of bind-mounted.
    static let copyLimit = 256 << 10

    /// A read-only bind of `source` at `path`, or a copy when `source` is a small regular file that
    /// everyone may read (its mode is kept, without set-id bits).
    private func systemEntry(_ path: String, source: String, flags: MountOp.Flags) -> MountOp {
        if let st = Files.status(source), st.st_mode & S_IFMT == S_IFREG, st.st_mode & 0o004 != 0,
            st.st_size <= Self.copyLimit, UInt64(st.st_size) < ResourceLimit.currentSoft(ResourceLimit.fileSize), let content = try? Files.read(source, limit: Self.copyLimit + 1),
            content.count == Int(st.st_size)
        {
            return MountOp(.file, target: path, source: source, data: content, mode: UInt32(st.st_mode & 0o777), purpose: "system (copy)")
        }
        return MountOp(.bind, target: path, source: source, flags: flags, purpose: "system")
    }

    /// A fresh procfs of the sandbox's pid namespace, with the kernel-wide knobs read-only and the
    /// files that leak host-wide information masked (as container runtimes do).
    private func procMounts() -> [MountOp] {
        var ops = [MountOp(.proc, target: "/proc", flags: [.noSuid, .noDev, .noExec], purpose: "proc")]
        for path in ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"] {
            ops.append(MountOp(.rebind, target: path, flags: [.readOnly, .noSuid, .noDev, .noExec, .optional], purpose: "proc (read-only)"))
        }
        for path in ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats", "/proc/timer_stats", "/proc/kallsyms"] {
            ops.append(MountOp(.bind, target: path, source: "/dev/null", flags: [.readOnly, .noSuid, .noExec, .optional], purpose: "proc (masked)"))
        }
        for path in ["/proc/acpi", "/proc/scsi", "/proc/asound"] {
            ops.append(MountOp(.tmpfs, target: path, flags: [.readOnly, .noSuid, .noDev, .noExec, .optional], data: MountOp.options("size=4096,mode=0555"), purpose: "proc (masked)"))
        }
        return ops
    }

    /// A minimal /dev: a few host device nodes, a private devpts and shm. (POSIX message queues work
/// without /dev/mqueue; they live in the sandbox's own IPC namespace.)
    private func devMounts() -> [MountOp] {
        var ops = [MountOp(.tmpfs, target: "/dev", flags: [.noSuid, .noExec], data: MountOp.options("size=64k,mode=0755"), purpose: "dev")]
        for name in ["null", "zero", "full", "random", "urandom", "tty"] {
            ops.append(MountOp(.bind, target: "/dev/\(name)", source: "/dev/\(name)", flags: [.noSuid, .noExec, .create], purpose: "dev"))
        }
        ops.append(MountOp(.devpts, target: "/dev/pts", flags: [.noSuid, .noExec], data: MountOp.options("newinstance,ptmxmode=0666,mode=0620"), purpose: "dev"))
        ops.append(MountOp(.symlink, target: "/dev/ptmx", source: "pts/ptmx", purpose: "dev"))
        ops.append(MountOp(.tmpfs, target: "/dev/shm", flags: [.noSuid, .noDev, .noExec], data: MountOp.options("size=\(filesystem.tmpSize),mode=1777"), purpose: "dev"))
        for (name, link) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")] {
            ops.append(MountOp(.symlink, target: "/dev/\(name)", source: link, purpose: "dev"))
        }
        ops.append(MountOp(.setAttributes, target: "/dev", flags: [.readOnly, .noSuid, .noExec], purpose: "dev"))
        return ops
    }
}

extension MountOp {
    /// Number of path components of the target (`/` is 0): mounts are applied parents first.
    var depth: Int { Paths.components(target).count }
}

import AgentrunOS
import AgentrunPolicy
import AgentrunProvenance
import AgentrunSeccomp
import CAgentrunShim
import CSeccomp
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's side of syscall mediation: one thread that receives the sandbox's seccomp
/// notifications, decodes each call, decides it, records it, and answers.
///
/// Safety rules (DESIGN.md §2): a deny is always safe; an allow is SECCOMP_USER_NOTIF_FLAG_CONTINUE
/// only where the kernel still holds the boundary (mount view, Landlock, network namespace), and
/// such a record says `exact: false` when pointer arguments were read, because the kernel reads
/// them again after us. With `exact_files` the supervisor opens files itself and injects the
/// descriptor. NOTIF_ID_VALID is checked after every read of the agent's memory: a notification
/// that is gone (the caller died or was interrupted) is neither answered nor recorded, and no
/// /proc read about a recycled pid is trusted.
///
/// The loop waits with epoll on the listener, the sandbox init's pidfd and an eventfd (stop), on
/// its own pthread: never the Swift concurrency pool. Every notification is answered before the
/// next is received; a notified caller waits only for this thread.
public final class SyscallNotifier: @unchecked Sendable {
    /// The agent's first execve runs before its memory is readable by an unprivileged
    /// supervisor (its mm is still init's, non-dumpable). Its arguments are the supervisor's own
    /// strings at the same addresses (the child's memory is a copy of the supervisor's), so they
    /// are known exactly; used only while the launch is under way, only for those addresses.
    public struct InitialExec: Sendable {
        var strings: [UInt64: String]
        var words: [UInt64: UInt64]

        public init(strings: [UInt64: String], words: [UInt64: UInt64]) {
            self.strings = strings
            self.words = words
        }

        func string(at address: UInt64) -> String? { strings[address] }
        func word(at address: UInt64) -> UInt64? { words[address] }
    }

    public struct Configuration: Sendable {
        public var policy: MediationPolicy
        public var filter: SeccompFilter
        public var profileDenied: Set<Int32>
        /// Host ids of the agent (for files opened on its behalf).
        public var agentHostUID: UInt32
        public var agentHostGID: UInt32
        /// Where Landlock lets the agent write (sandbox paths); nil without Landlock.
        public var writableRoots: [String]?
        public var initialExec: InitialExec?
        /// The files deny_exec names (found at launch): matched by inode and by content too.
        public var execDenied: [ExecDenial.DeniedFile] = []

        public init(
            policy: MediationPolicy, filter: SeccompFilter, profileDenied: Set<Int32>, agentHostUID: UInt32, agentHostGID: UInt32,
            writableRoots: [String]?, initialExec: InitialExec?, execDenied: [ExecDenial.DeniedFile] = []
        ) {
            self.execDenied = execDenied
            self.policy = policy
            self.filter = filter
            self.profileDenied = profileDenied
            self.agentHostUID = agentHostUID
            self.agentHostGID = agentHostGID
            self.writableRoots = writableRoots
            self.initialExec = initialExec
        }
    }

    private let listener: Int32
    private let stopFD: Int32
    private let configuration: Configuration
    private let decider: MediationDecider
    private let writer: ProvenanceWriter?
    private var thread = pthread_t()
    private var started = false
    /// Set once the launch is over: the initial exec's known memory no longer applies.
    private let launchOver = Atomic<Bool>(false)

    // Loop-thread state.
    private var names: [Int32: String] = [:]
    private let scratch = UnsafeMutablePointer<CChar>.allocate(capacity: SyscallDecoder.scratchSize)
    private var actors: [pid_t: Actor] = [:]

    struct Actor {
        var tgid: pid_t
        var innerPID: Int64?
        var exe: String?
        var pidfd: Int32
        var json: [String: JSONValue] = [:]
    }

    deinit { scratch.deallocate() }

    public init(listener: Int32, configuration: Configuration, writer: ProvenanceWriter?) {
        self.listener = listener
        self.configuration = configuration
        self.writer = writer
        self.stopFD = ar_eventfd()
        self.decider = MediationDecider(filter: configuration.filter, policy: configuration.policy, profileDenied: configuration.profileDenied)
    }

    /// Starts the loop thread; -errno when it cannot (the launch then fails: nothing may run
    /// unanswered).
    public func start(initPidfd: Int32) -> Int32 {
        if stopFD < 0 { return stopFD }
        let sizes = ar_notif_check_sizes()
        if sizes < 0 { return sizes }
        // Its own copy: the sandbox's pidfd is closed by its owner on its own schedule.
        self.initPidfd = initPidfd >= 0 ? fcntl(initPidfd, F_DUPFD_CLOEXEC, 3) : -1
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            let notifier = Unmanaged<SyscallNotifier>.fromOpaque(context!).takeRetainedValue()
            notifier.run()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<SyscallNotifier>.fromOpaque(context).release()
            return -rc
        }
        started = true
        return 0
    }

    private var initPidfd: Int32 = -1

    /// The launch finished: known initial-exec memory is no longer trusted.
    public func launchFinished() { launchOver.store(true, ordering: .releasing) }

    /// Stops the loop and waits for it. Pending callers (if any are left) get ENOSYS from the
    /// kernel once the listener closes.
    public func stop() {
        if started {
            var one: UInt64 = 1
            _ = write(stopFD, &one, 8)
            pthread_join(thread, nil)
            started = false
        }
        close(listener)
        if stopFD >= 0 { close(stopFD) }
        if initPidfd >= 0 { close(initPidfd) }
    }

    // MARK: the loop

    private enum Tag: UInt64 {
        case listener = 1
        case stop = 2
        case initExit = 3
    }

    private func run() {
        // Files opened for the agent are opened with its identity (exact_files).
        let identity = ar_notifier_thread_identity(configuration.agentHostUID, configuration.agentHostGID)
        let canOpen = identity == 0
        // The caller and this thread hand the CPU to each other (Linux 6.6+; ignored before).
        _ = ar_notif_sync_wakeup(listener)
        let epoll = ar_epoll_create()
        guard epoll >= 0 else { return }
        defer { close(epoll) }
        _ = ar_epoll_add(epoll, listener, Tag.listener.rawValue)
        _ = ar_epoll_add(epoll, stopFD, Tag.stop.rawValue)
        if initPidfd >= 0 { _ = ar_epoll_add(epoll, initPidfd, Tag.initExit.rawValue) }
        var tags = [UInt64](repeating: 0, count: 4)
        var events = [UInt32](repeating: 0, count: 4)
        var listening = true
        while listening {
            let n = ar_epoll_wait_events(epoll, &tags, &events, 4, -1)
            if n == -EINTR { continue }
            if n < 0 { break }
            for i in 0..<Int(n) {
                switch Tag(rawValue: tags[i]) {
                case .listener:
                    // RECV blocks when nothing is pending, so receive only on EPOLLIN; a hang-up
                    // alone means the filter has no users left (every sandboxed task is gone).
                    if events[i] & 0x1 != 0 {
                        var notification = ar_notif()
                        if ar_notif_recv(listener, &notification) == 0 {
                            handle(notification, canOpen: canOpen)
                        }
                    } else if events[i] & (0x8 | 0x10) != 0 {
                        listening = false
                    }
                case .stop, .initExit:
                    // Answer what is already queued, then go.
                    drain(canOpen: canOpen)
                    listening = false
                case nil:
                    break
                }
            }
        }
        for actor in actors.values where actor.pidfd >= 0 { close(actor.pidfd) }
        actors.removeAll()
    }

    private func drain(canOpen: Bool) {
        var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        while poll(&pfd, 1, 0) > 0, pfd.revents & Int16(POLLIN) != 0 {
            var notification = ar_notif()
            guard ar_notif_recv(listener, &notification) == 0 else { break }
            handle(notification, canOpen: canOpen)
        }
    }

    // MARK: one notification

    private func handle(_ n: ar_notif, canOpen: Bool) {
        let args = [n.args.0, n.args.1, n.args.2, n.args.3, n.args.4, n.args.5]
        let tid = pid_t(bitPattern: n.pid)
        let name = syscallName(n.nr)
        let decoder = SyscallDecoder(
            tid: tid, initialExec: launchOver.load(ordering: .acquiring) ? nil : configuration.initialExec, scratch: scratch)

        // 1. What the sandbox's own filters say.
        if let refusal = decider.reference(nr: n.nr, arch: n.arch, ip: n.ip, args: args) {
            let call = decoder.decode(name: name, args: args)
            let actor = actor(tid)
            guard ar_notif_id_valid(listener, n.id) == 0 else { return }
            answer(n.id, error: refusal.errno)
            record(call, actor: actor, decision: refusal, exact: true)
            return
        }

        // 2. Decode, then decide on what was read.
        var call = decoder.decode(name: name, args: args)
        let actor = actor(tid)
        var decision = MediationDecider.Decision.allowed
        var resolvedPaths: [String] = []
        var programMissing: Int32?
        if call.unreadable != nil {
            decision = .init(allow: false, rule: "mediation.unreadable", errno: EPERM)
        } else {
            switch call.category {
            case .exec:
                var (paths, interpreter, sameFile, missing) = execPaths(call, tid: tid)
                call.interpreter = interpreter
                programMissing = missing
                // The dynamic loader run as a program maps the program named in its arguments
                // without an execve (and Landlock checks no mmap): judge that program too.
                if let loaded = Self.loadedProgram(paths: paths, argv: call.argv ?? []) {
                    let decoder = SyscallDecoder(tid: tid, initialExec: nil, scratch: scratch)
                    let path = decoder.resolve(loaded, dirfd: SyscallDecoder.atFDCWD)
                    call.args["loader_program"] = .string(path)
                    paths.append(path)
                    if case .found(let program) = resolveProgram(path, tid: tid) {
                        if program.resolved != path { paths.append(program.resolved) }
                        sameFile = sameFile ?? program.deniedBy
                    }
                }
                resolvedPaths = paths
                if let denied = decider.execRule(paths: resolvedPaths) {
                    decision = denied
                } else if let denied = sameFile {
                    // Another name (hard link, rename) or a copy of a denied program.
                    decision = .init(allow: false, rule: denied.rule, errno: decider.errno)
                    call.args["same_file_as"] = .string(denied.path)
                }
            case .fileWrite where call.writes:
                if !decider.denyWrite.isEmpty {
                    resolvedPaths = writePaths(call, tid: tid)
                    if let denied = decider.writeRule(paths: resolvedPaths) { decision = denied }
                }
            default:
                break
            }
        }
        guard ar_notif_id_valid(listener, n.id) == 0 else { return }
        if resolvedPaths.count > 1, let path = call.path, let real = resolvedPaths.dropFirst().first(where: { $0 != path }) {
            call.args["resolved"] = .string(real)
        }

        if !decision.allow {
            answer(n.id, error: decision.errno)
            record(call, actor: actor, decision: decision, exact: true)
            return
        }

        // A program that does not exist (a shell trying each PATH directory) fails here as it
        // would in the kernel, and its record says so instead of an allow that did nothing.
        if let missing = programMissing {
            answer(n.id, error: missing)
            record(call, actor: actor, decision: decision, exact: true, errno: missing)
            return
        }

        // 3. Exact files: the supervisor opens the file and hands over the descriptor, or
        // performs the other file-write calls itself and returns their result.
        if configuration.policy.exactFiles, case .fileWrite(let isOpen) = call.category, call.writes, let path = call.path {
            if isOpen {
                performOpen(n, call: call, path: path, actor: actor, tid: tid, canOpen: canOpen)
            } else {
                performPathCall(n, call: call, args: args, actor: actor, tid: tid, canOpen: canOpen)
            }
            return
        }

        // 4. Allowed: recorded first (a call never runs unrecorded), then continued.
        if !record(call, actor: actor, decision: decision, exact: !call.readMemory) {
            answer(n.id, error: EPERM)
            return
        }
        answerContinue(n.id)
        if call.category == .exec { forgetProcess(of: tid) }
    }

    private func performOpen(_ n: ar_notif, call: DecodedCall, path: String, actor: [String: JSONValue], tid: pid_t, canOpen: Bool) {
        var call = call
        guard canOpen else { return refuseUnavailable(n.id, call, actor: actor) }
        let umask = Self.umask(of: tid)
        let result: Result<ExactOpen.Opened, ExactOpen.Failure>
        if case .string(let raw)? = call.args["pathname"], let fd = SyscallDecoder.ownDescriptor(raw) {
            result = reopen(tid: tid, fd: fd, flags: call.openFlags)
        } else {
            result = ExactOpen(tid: tid, writableRoots: configuration.writableRoots).open(
                path: path, flags: call.openFlags, mode: call.openMode, umask: umask
            ) { resolved in self.decider.writeRule(paths: [resolved]) }
        }
        guard ar_notif_id_valid(listener, n.id) == 0 else {
            if case .success(let opened) = result { close(opened.fd) }
            return
        }
        switch result {
        case .success(let opened):
            if opened.resolvedPath != path { call.args["resolved"] = .string(opened.resolvedPath) }
            guard record(call, actor: actor, decision: .allowed, exact: true, via: true) else {
                close(opened.fd)
                answer(n.id, error: EPERM)
                return
            }
            let injected = ar_notif_addfd_send(listener, n.id, opened.fd, call.openFlags & ExactOpen.oCloexec != 0 ? 1 : 0)
            close(opened.fd)
            if injected < 0 { answer(n.id, error: -injected == ENOENT ? EINTR : EMFILE) }
        case .failure(let failure):
            answerExactFailure(n.id, call, actor: actor, failure)
        }
    }

    private func performPathCall(_ n: ar_notif, call: DecodedCall, args: [UInt64], actor: [String: JSONValue], tid: pid_t, canOpen: Bool) {
        guard canOpen else { return refuseUnavailable(n.id, call, actor: actor) }
        let umask = call.name.hasPrefix("mk") ? Self.umask(of: tid) : 0
        let result = ExactPathCall(tid: tid, writableRoots: configuration.writableRoots).perform(call, umask: umask, args: args) { resolved in
            self.decider.writeRule(paths: [resolved])
        }
        guard ar_notif_id_valid(listener, n.id) == 0 else { return }
        switch result {
        case .success(let value):
            guard record(call, actor: actor, decision: .allowed, exact: true, via: true) else {
                answer(n.id, error: EPERM)
                return
            }
            _ = ar_notif_respond(listener, n.id, value, 0, 0)
        case .failure(let failure):
            answerExactFailure(n.id, call, actor: actor, failure)
        }
    }

    /// exact_files without the thread identity it needs (ar_notifier_thread_identity failed).
    private func refuseUnavailable(_ id: UInt64, _ call: DecodedCall, actor: [String: JSONValue]) {
        answer(id, error: EPERM)
        record(call, actor: actor, decision: .init(allow: false, rule: "mediation.unavailable", errno: EPERM), exact: true)
    }

    /// A call the supervisor was to perform: refused by a rule on its resolved path, or failed
    /// as the agent's own would have. Answered, then recorded.
    private func answerExactFailure(_ id: UInt64, _ call: DecodedCall, actor: [String: JSONValue], _ failure: ExactOpen.Failure) {
        var call = call
        switch failure {
        case .denied(let decision, let resolved):
            call.args["resolved"] = .string(resolved)
            answer(id, error: decision.errno)
            record(call, actor: actor, decision: decision, exact: true, via: true)
        case .failed(let code):
            answer(id, error: code)
            record(call, actor: actor, decision: .allowed, exact: true, via: true, errno: code)
        }
    }

    /// Reopens the caller's own descriptor with new flags, as the kernel would for it.
    private func reopen(tid: pid_t, fd: Int32, flags: UInt64) -> Result<ExactOpen.Opened, ExactOpen.Failure> {
        let target = "/proc/\(tid)/fd/\(fd)"
        let resolved = Files.readLink(target) ?? target
        if let denied = decider.writeRule(paths: [resolved]) { return .failure(.denied(denied, resolvedPath: resolved)) }
        let reopenFlags = (flags & ~(ExactOpen.oCreat | ExactOpen.oExcl)) | ExactOpen.oNoctty | ExactOpen.oCloexec
        let opened = open(target, Int32(truncatingIfNeeded: reopenFlags))
        guard opened >= 0 else { return .failure(.failed(errno)) }
        return .success(.init(fd: opened, resolvedPath: resolved))
    }

    static func umask(of tid: pid_t) -> UInt64 {
        guard let status = Files.readText("/proc/\(tid)/status") else { return 0o022 }
        for line in status.split(separator: "\n") where line.hasPrefix("Umask:") {
            let value = line.dropFirst(6).trimmingPrefix { $0 == " " || $0 == "\t" }
            return UInt64(value, radix: 8) ?? 0o022
        }
        return 0o022
    }

    // MARK: paths the rules look at

    /// The program as named, as resolved (symlinks, /proc/self/fd, execveat fds), and its `#!`
    /// interpreters, up to the kernel's 4 levels; a denied file it is another name or a copy
    /// of; and ENOENT/ENOTDIR when a program named by path does not exist.
    private func execPaths(_ call: DecodedCall, tid: pid_t) -> ([String], String?, ExecDenial.DeniedFile?, Int32?) {
        guard let path = call.path else { return ([], nil, nil, nil) }
        var paths = [path]
        var current = path
        var descriptor = call.programFD
        var first: String?
        var sameFile: ExecDenial.DeniedFile?
        for level in 0..<5 {
            let program: Program
            switch resolveProgram(current, descriptor: descriptor, tid: tid) {
            case .found(let found): program = found
            case .missing(let code):
                // Only a name the agent gave: a magic path we could not follow is not "missing".
                let named = level == 0 && call.programFD == nil && !current.hasPrefix("/proc/")
                return (paths, first, sameFile, named ? code : nil)
            case .unresolved: return (paths, first, sameFile, nil)
            }
            descriptor = nil
            sameFile = sameFile ?? program.deniedBy
            if !paths.contains(program.resolved) { paths.append(program.resolved) }
            guard let interpreter = program.interpreter else { break }
            if first == nil { first = interpreter }
            if !paths.contains(interpreter) { paths.append(interpreter) }
            current = interpreter
        }
        return (paths, first, sameFile, nil)
    }

    /// When the program is the dynamic loader (`ld-linux-x86-64.so.2 PROGRAM ARGS`), the program
    /// it will load: the first argument that is not one of ld.so's options.
    static func loadedProgram(paths: [String], argv: [String]) -> String? {
        let isLoader = paths.contains { path in
            let name = path.split(separator: "/").last.map(String.init) ?? path
            return name.hasPrefix("ld-linux") || name.hasPrefix("ld64.so") || name == "ld.so" || (name.hasPrefix("ld-") && name.contains(".so"))
        }
        guard isLoader else { return nil }
        let withValue: Set<String> = [
            "--library-path", "--preload", "--audit", "--argv0", "--inhibit-rpath", "--glibc-hwcaps-prepend", "--glibc-hwcaps-mask",
        ]
        var i = 1
        while i < argv.count {
            let arg = argv[i]
            if withValue.contains(arg) {
                i += 2
            } else if arg.hasPrefix("--") {
                if arg == "--" { return i + 1 < argv.count ? argv[i + 1] : nil }
                i += 1
            } else {
                return arg
            }
        }
        return nil
    }

    struct Program {
        var resolved: String
        var interpreter: String?
        var deniedBy: ExecDenial.DeniedFile?
    }

    enum ProgramLookup {
        case found(Program)
        /// ENOENT or ENOTDIR: nothing at that path inside the sandbox.
        case missing(Int32)
        case unresolved
    }

    /// A program inside the sandbox, by path or as one of the caller's descriptors: its
    /// resolved path, the interpreter its `#!` names, and the denied file it is the same as.
    private func resolveProgram(_ path: String, descriptor: Int32? = nil, tid: pid_t) -> ProgramLookup {
        let file: SandboxRoot.File
        if let descriptor {
            let fd = ar_open_path("/proc/\(tid)/fd/\(descriptor)", 0)
            guard fd >= 0 else { return .unresolved }
            file = SandboxRoot.File(fd: fd, path: path)
        } else {
            guard let root = SandboxRoot(tid: tid) else { return .unresolved }
            do throws(ExactOpen.Failure) {
                file = try root.file(path)
            } catch .failed(let code) where code == ENOENT || code == ENOTDIR {
                return .missing(code)
            } catch {
                return .unresolved
            }
        }
        var program = Program(resolved: file.path)
        // Only regular files are read: opening a device here would open the supervisor's own
        // (/dev/tty is the opener's terminal), and a FIFO could block.
        var st = stat()
        guard fstat(file.fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return .found(program) }
        let readable = file.reopen(UInt64(O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY))
        defer { if readable >= 0 { close(readable) } }
        for denied in configuration.execDenied where denied.size == Int64(st.st_size) {
            if (denied.device == UInt64(st.st_dev) && denied.inode == UInt64(st.st_ino)) || (readable >= 0 && Self.sameContent(readable, denied.path)) {
                program.deniedBy = denied
                break
            }
        }
        if readable >= 0 {
            var head = [UInt8](repeating: 0, count: 256)
            let n = pread(readable, &head, head.count, 0)
            if n > 2, head[0] == UInt8(ascii: "#"), head[1] == UInt8(ascii: "!") {
                let line = head[2..<n].prefix { $0 != UInt8(ascii: "\n") }
                let words = line.split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
                if let first = words.first { program.interpreter = String(decoding: first, as: UTF8.self) }
            }
        }
        return .found(program)
    }

    /// Whether the open file `fd` has the same bytes as the host file `path` (sizes are equal).
    /// A copy of a denied program is the same program under another inode.
    static func sameContent(_ fd: Int32, _ path: String) -> Bool {
        let other = open(path, O_RDONLY | O_CLOEXEC)
        guard other >= 0 else { return false }
        defer { close(other) }
        var a = [UInt8](repeating: 0, count: 65536)
        var b = [UInt8](repeating: 0, count: 65536)
        var offset: Int = 0
        while true {
            let n = pread(fd, &a, a.count, off_t(offset))
            let m = pread(other, &b, b.count, off_t(offset))
            if n != m || n < 0 { return false }
            if n == 0 { return true }
            if memcmp(a, b, n) != 0 { return false }
            offset += n
        }
    }

    /// Paths of a file-write call as named and with symlinks resolved inside the sandbox: the
    /// file itself for calls that follow a final symlink, else its directory plus its name.
    private func writePaths(_ call: DecodedCall, tid: pid_t) -> [String] {
        guard let root = SandboxRoot(tid: tid) else { return [call.path, call.secondPath].compactMap { $0 } }
        let followsLast = call.name.hasPrefix("open") || ["creat", "truncate", "chmod", "fchmodat", "fchmodat2", "chown"].contains(call.name)
        var paths: [String] = []
        for path in [call.path, call.secondPath].compactMap({ $0 }) {
            paths.append(path)
            var resolved = followsLast ? try? root.file(path).path : nil
            if resolved == nil { resolved = try? root.entry(path) { _ in EINVAL }.path }
            if let resolved, resolved != path { paths.append(resolved) }
        }
        return paths
    }

    // MARK: answers and records

    private func answer(_ id: UInt64, error: Int32) {
        _ = ar_notif_respond(listener, id, 0, error > 0 ? error : EPERM, 0)
    }

    private func answerContinue(_ id: UInt64) {
        _ = ar_notif_respond(listener, id, 0, 0, 1)
    }

    /// Appends the record; false when it could not be (the call is then refused).
    @discardableResult
    private func record(
        _ call: DecodedCall, actor: [String: JSONValue], decision: MediationDecider.Decision, exact: Bool, via: Bool = false,
        errno: Int32? = nil
    ) -> Bool {
        guard let writer else { return true }
        var args = call.args
        if let second = call.secondPath { args["newpath"] = .string(second) }
        var fields: [String: JSONValue] = [
            "actor": .object(actor),
            "decision": .string(decision.allow ? "allow" : "deny"),
            "exact": .bool(exact),
            "args": .object(args),
        ]
        if let rule = decision.rule { fields["rule"] = .string(rule) }
        if !decision.allow { fields["errno"] = .string(SyscallArgumentNames.errno(decision.errno)) }
        if let errno { fields["errno"] = .string(SyscallArgumentNames.errno(errno)) }
        if let path = call.path { fields["path"] = .string(path) }
        if let argv = call.argv { fields["argv"] = .array(argv.map(JSONValue.string)) }
        if let keys = call.envKeys { fields["env_keys"] = .array(keys.map(JSONValue.string)) }
        if let interpreter = call.interpreter { fields["interpreter"] = .string(interpreter) }
        if let addr = call.addr { fields["addr"] = .object(addr) }
        if !call.truncated.isEmpty { fields["truncated"] = .object(call.truncated) }
        if let reason = call.unreadable { fields["unreadable"] = .string(reason) }
        if via { fields["via"] = "supervisor" }
        do {
            _ = try writer.append("syscall." + call.name, fields)
            return true
        } catch {
            return false  // the writer has failed: the supervisor's next tick stops the run
        }
    }

    // MARK: names and actors

    private func syscallName(_ nr: Int32) -> String {
        if let name = names[nr] { return name }
        var name = "syscall_\(nr)"
        if let raw = seccomp_syscall_resolve_num_arch(0, nr) {
            name = String(cString: raw)
            free(raw)
        }
        names[nr] = name
        return name
    }

    /// {pid, inner_pid, exe} of the calling thread, cached while its pidfd shows it alive
    /// (a live task's tid cannot be reused) and until it executes something new.
    private func actor(_ tid: pid_t) -> [String: JSONValue] {
        if let cached = actors[tid] {
            if cached.pidfd >= 0, ar_pidfd_send_signal(cached.pidfd, 0) == 0 {
                return cached.json
            }
            if cached.pidfd >= 0 { close(cached.pidfd) }
            actors[tid] = nil
        }
        var entry = Actor(tgid: tid, innerPID: nil, exe: Files.readLink("/proc/\(tid)/exe"), pidfd: -1)
        if let status = Files.readText("/proc/\(tid)/status") {
            for line in status.split(separator: "\n") {
                if line.hasPrefix("Tgid:") {
                    entry.tgid = pid_t(line.dropFirst(5).trimmingPrefix { $0 == " " || $0 == "\t" }) ?? tid
                } else if line.hasPrefix("NSpid:") {
                    entry.innerPID = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.flatMap { Int64($0) }
                }
            }
        }
        // PIDFD_THREAD (O_EXCL) for threads that are not the leader.
        entry.pidfd = ar_pidfd_open_task(tid, entry.tgid == tid ? 0 : 1)
        entry.json = Self.actorJSON(tid, entry)
        if entry.pidfd >= 0 {
            if actors.count > 4096 { forgetAll() }
            actors[tid] = entry
        }
        return entry.json
    }

    static func actorJSON(_ tid: pid_t, _ actor: Actor) -> [String: JSONValue] {
        var out: [String: JSONValue] = ["pid": .int(Int64(tid))]
        if let inner = actor.innerPID { out["inner_pid"] = .int(inner) }
        if let exe = actor.exe { out["exe"] = .string(exe) }
        return out
    }

    /// After an exec the process has a new image (and, when a thread exec'd, a new leader).
    private func forgetProcess(of tid: pid_t) {
        let tgid = actors[tid]?.tgid ?? tid
        for (key, value) in actors where value.tgid == tgid || key == tid {
            if value.pidfd >= 0 { close(value.pidfd) }
            actors[key] = nil
        }
    }

    private func forgetAll() {
        for value in actors.values where value.pidfd >= 0 { close(value.pidfd) }
        actors.removeAll()
    }
}

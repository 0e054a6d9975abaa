// The integration-test harness: finds `agentrun` and `agentrun-probe`, makes a fresh workspace
// per test, runs processes (posix_spawn with a clean signal state, every inherited fd closed)
// with a timeout, and turns probe exit statuses into expectations.
//
// Probe contract (Sources/agentrun-probe/probe.h): exit 0 = the attack succeeded (an escape),
// 1 = blocked ("blocked: <call>: <strerror>" on stdout), 2 = probe misuse.

import Foundation
import Glibc
import Testing

// MARK: - Environment

enum Harness {
    static let environment = ProcessInfo.processInfo.environment

    /// The agentrun binary: $AGENTRUN_BIN, else next to the test runner (the scratch dir's debug/).
    static let agentrun: String = locate("agentrun", override: "AGENTRUN_BIN")
    /// A copy of agentrun in a fresh world-readable directory under /tmp, for runs as another user.
    static let agentrunForOtherUsers: String = {
        var template = Array("/tmp/agentrun-bin-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return agentrun }
        let path = String(cString: dir) + "/agentrun"
        chmod(String(cString: dir), 0o755)
        guard (try? FileManager.default.copyItem(atPath: agentrun, toPath: path)) != nil else { return agentrun }
        chmod(path, 0o755)
        return path
    }()

    /// The probe binary: $AGENTRUN_PROBE, else next to the test runner.
    static let probe: String = locate("agentrun-probe", override: "AGENTRUN_PROBE")

    static let isRoot = getuid() == 0
    /// CI sets AGENTRUN_REQUIRE_PRIVILEGED=1: a missing capability fails instead of skipping.
    static let requirePrivileged = environment["AGENTRUN_REQUIRE_PRIVILEGED"] == "1"
    /// An unprivileged user for the rootless tests (CI creates it).
    static let testUser: String? = environment["AGENTRUN_TEST_USER"].flatMap { $0.isEmpty ? nil : $0 }

    /// XDG_STATE_HOME for every process the harness starts, so run logs go to a scratch directory
    /// (sticky and world-writable like /tmp: the rootless tests' user writes its runs there too).
    static let stateHome: String = {
        var template = Array("/tmp/agentrun-test-state-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return "/tmp" }
        let path = String(cString: dir)
        for sub in ["", "/agentrun", "/agentrun/runs"] {
            mkdir(path + sub, 0o1777)
            chmod(path + sub, 0o1777)
        }
        return path
    }()

    /// Where the harness's runs keep their logs (`agentrun log list --dir`).
    static var runsRoot: String { stateHome + "/agentrun/runs" }

    /// PATH for every process the harness starts (the runner's own PATH may point into /root).
    static let standardPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Sandboxes need user namespaces: root, or an unprivileged userns that works. Checked in a
    /// fresh process (unshare(CLONE_NEWUSER) fails with EINVAL in the multithreaded runner).
    static let userNamespacesWork: Bool = {
        if isRoot { return true }
        return run([probe, "can-userns"], timeout: 10).status == 0
    }()

    private static let ignoreSIGPIPE: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    static func setUp() {
        _ = ignoreSIGPIPE
    }

    private static func locate(_ name: String, override key: String) -> String {
        if let v = environment[key], !v.isEmpty { return v }
        var dirs: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dirs.append((exe as NSString).deletingLastPathComponent)
        }
        if let arg0 = CommandLine.arguments.first {
            dirs.append(((arg0 as NSString).standardizingPath as NSString).deletingLastPathComponent)
        }
        dirs.append(Bundle.main.bundlePath)
        dirs.append((Bundle.main.bundlePath as NSString).deletingLastPathComponent)
        for dir in dirs {
            var d = dir
            for _ in 0..<4 {
                for candidate in [d + "/" + name, d + "/debug/" + name] where FileManager.default.isExecutableFile(atPath: candidate) {
                    return candidate
                }
                d = (d as NSString).deletingLastPathComponent
            }
        }
        return (dirs.first ?? ".") + "/" + name
    }

    /// Resolves a command name against the standard PATH.
    static func which(_ name: String) -> String {
        if name.contains("/") { return name }
        for dir in standardPath.split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return name
    }

    /// Runs argv to completion.
    static func run(
        _ argv: [String], env: [String: String] = [:], cwd: String? = nil, stdin: Stdin = .null,
        extraFDs: [Int32] = [], timeout: Double = 30
    ) -> RunResult {
        do {
            let child = try Child(argv: argv, env: env, cwd: cwd, stdin: stdin, extraFDs: extraFDs)
            return child.finish(timeout: timeout)
        } catch {
            return RunResult(argv: argv, status: -1, stdout: "", stderr: "spawn failed: \(error)")
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// Tests that start a sandbox: they need root or working unprivileged user namespaces. When
    /// AGENTRUN_REQUIRE_PRIVILEGED=1 the test runs anyway and fails (see TestDir.sandbox).
    static var needsSandbox: Self {
        .enabled("needs root or unprivileged user namespaces (AGENTRUN_REQUIRE_PRIVILEGED=1 turns the skip into a failure)") {
            Harness.userNamespacesWork || Harness.requirePrivileged
        }
    }
}

// MARK: - GNU libc functions the Glibc module does not import

enum LibC {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias IntToInt = @convention(c) (Int32) -> Int32
    typealias PtsnameR = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32

    private static func sym<T>(_ name: String, _: T.Type) -> T {
        guard let p = dlsym(nil, name) else { fatalError("dlsym(\(name)) failed") }
        return unsafeBitCast(p, to: T.self)
    }

    nonisolated(unsafe) static let pipe2 = sym("pipe2", Pipe2.self)
    nonisolated(unsafe) static let addCloseFrom = sym("posix_spawn_file_actions_addclosefrom_np", AddCloseFrom.self)
    nonisolated(unsafe) static let addChdir = sym("posix_spawn_file_actions_addchdir_np", AddChdir.self)
    nonisolated(unsafe) static let posixOpenpt = sym("posix_openpt", IntToInt.self)
    nonisolated(unsafe) static let grantpt = sym("grantpt", IntToInt.self)
    nonisolated(unsafe) static let unlockpt = sym("unlockpt", IntToInt.self)
    nonisolated(unsafe) static let ptsnameR = sym("ptsname_r", PtsnameR.self)

    static let POSIX_SPAWN_SETSID: Int32 = 0x80
}

/// A pseudo-terminal whose master the harness keeps; the slave becomes a child's controlling
/// terminal and stdin (Stdin.tty).
final class PseudoTerminal {
    let master: Int32
    let slavePath: String

    init() throws {
        let m = LibC.posixOpenpt(O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard m >= 0, LibC.grantpt(m) == 0, LibC.unlockpt(m) == 0 else { throw HarnessError.errno("posix_openpt", errno) }
        var buf = [CChar](repeating: 0, count: 128)
        guard LibC.ptsnameR(m, &buf, buf.count) == 0 else { throw HarnessError.errno("ptsname_r", errno) }
        master = m
        slavePath = Host.string(fromCString: buf)
        _ = fcntl(m, F_SETFL, O_NONBLOCK)
    }

    /// Drains what the terminal echoed (injected input shows up here).
    func drain() -> String {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buf, buf.count)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    deinit { close(master) }
}

enum HarnessError: Error, CustomStringConvertible {
    case errno(String, Int32)
    case message(String)

    var description: String {
        switch self {
        case let .errno(what, e): "\(what): \(String(cString: strerror(e)))"
        case let .message(m): m
        }
    }
}

// MARK: - Processes

enum Stdin {
    case null
    case bytes([UInt8])
    /// The slave of a pty, opened in the child after setsid (so it becomes the controlling tty).
    case tty(PseudoTerminal)
}

struct RunResult: CustomStringConvertible {
    var argv: [String]
    /// The exit code, or 128+N when killed by signal N; -1 when it never finished.
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut = false
    /// The process exited but something it started still held its stdout/stderr open.
    var pipesHeldOpen = false

    var description: String {
        var s = "$ \(argv.joined(separator: " "))\nstatus: \(status)"
        if timedOut { s += " (harness timeout: killed)" }
        if pipesHeldOpen { s += " (a leftover process still held stdout/stderr open)" }
        s += "\n--- stdout ---\n\(stdout.suffix(4000))"
        s += "\n--- stderr ---\n\(stderr.suffix(4000))"
        return s
    }
}

/// A running child. Not thread-safe: one test drives it.
final class Child {
    let argv: [String]
    let pid: pid_t
    private var outFD: Int32 = -1
    private var errFD: Int32 = -1
    private var inFD: Int32 = -1
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private(set) var stdoutBytes: [UInt8] = []
    private(set) var stderrBytes: [UInt8] = []
    private(set) var status: Int32?

    var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }
    var exited: Bool { status != nil }

    init(argv: [String], env: [String: String] = [:], cwd: String? = nil, stdin: Stdin = .null, extraFDs: [Int32] = []) throws {
        Harness.setUp()
        self.argv = argv
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1], inPipe: [Int32] = [-1, -1]
        guard LibC.pipe2(&outPipe, O_CLOEXEC) == 0, LibC.pipe2(&errPipe, O_CLOEXEC) == 0 else {
            throw HarnessError.errno("pipe2", errno)
        }
        var childIn: Int32 = -1
        var newSession = false
        switch stdin {
        case .null:
            childIn = open("/dev/null", O_RDONLY | O_CLOEXEC)
        case let .bytes(data):
            guard LibC.pipe2(&inPipe, O_CLOEXEC) == 0 else { throw HarnessError.errno("pipe2", errno) }
            childIn = inPipe[0]
            pending = data
        case .tty:
            childIn = open("/dev/null", O_RDONLY | O_CLOEXEC)
            newSession = true
        }

        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        // Move every source out of the way first, then into place: 0, 1, 2, then extras at 3, 4, ...
        let sources = [childIn, outPipe[1], errPipe[1]] + extraFDs
        for (i, src) in sources.enumerated() { posix_spawn_file_actions_adddup2(&fa, src, 300 + Int32(i)) }
        for i in sources.indices { posix_spawn_file_actions_adddup2(&fa, 300 + Int32(i), Int32(i)) }
        if case let .tty(pty) = stdin {
            posix_spawn_file_actions_addopen(&fa, 0, pty.slavePath, O_RDWR, 0)
        }
        _ = LibC.addCloseFrom(&fa, Int32(sources.count))
        if let cwd { _ = LibC.addChdir(&fa, cwd) }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        flags |= newSession ? LibC.POSIX_SPAWN_SETSID : Int32(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setflags(&attr, Int16(flags))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        if !newSession { posix_spawnattr_setpgroup(&attr, 0) }

        var environment = Harness.environment
        environment["PATH"] = Harness.standardPath
        environment["XDG_STATE_HOME"] = Harness.stateHome
        for (k, v) in env { environment[k] = v }
        let envStrings = environment.map { "\($0.key)=\($0.value)" }

        let path = Harness.which(argv[0])
        var cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &fa, &attr, &cArgv, &cEnv)
        close(childIn)
        close(outPipe[1])
        close(errPipe[1])
        guard rc == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            if inPipe[1] >= 0 { close(inPipe[1]) }
            throw HarnessError.errno("posix_spawn(\(path))", rc)
        }
        pid = child
        outFD = outPipe[0]
        errFD = errPipe[0]
        inFD = inPipe[1]
        for fd in [outFD, errFD, inFD] where fd >= 0 { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        if inFD >= 0 && pending.isEmpty { close(inFD); inFD = -1 }
    }

    deinit {
        if status == nil {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
        }
        for fd in [outFD, errFD, inFD] where fd >= 0 { close(fd) }
    }

    /// Reaps the child if it exited.
    @discardableResult
    func poll() -> Bool {
        if status == nil {
            var raw: Int32 = 0
            let r = waitpid(pid, &raw, WNOHANG)
            if r == pid {
                let sig = raw & 0x7f
                status = sig == 0 ? (raw >> 8) & 0xff : 128 + sig
            }
        }
        return status != nil
    }

    /// Moves data between the pipes for up to `timeout` seconds or until `until` holds.
    @discardableResult
    func pump(timeout: Double, until: (Child) -> Bool = { _ in false }) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if until(self) { return true }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return false }
            var fds: [pollfd] = []
            if outFD >= 0 { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if errFD >= 0 { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            if inFD >= 0 { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
            let wait = Int32(min(20, max(1, remaining * 1000)))
            if fds.isEmpty {
                usleep(UInt32(wait) * 1000)
            } else {
                _ = Glibc.poll(&fds, nfds_t(fds.count), wait)
            }
            drainOutput()
            feedInput()
            poll()
        }
    }

    private func drainOutput() {
        var buf = [UInt8](repeating: 0, count: 65536)
        for which in 0..<2 {
            let fd = which == 0 ? outFD : errFD
            guard fd >= 0 else { continue }
            while true {
                let n = read(fd, &buf, buf.count)
                if n > 0 {
                    if which == 0 { stdoutBytes.append(contentsOf: buf[0..<n]) } else { stderrBytes.append(contentsOf: buf[0..<n]) }
                    continue
                }
                if n == 0 {
                    close(fd)
                    if which == 0 { outFD = -1 } else { errFD = -1 }
                }
                break
            }
        }
    }

    private func feedInput() {
        guard inFD >= 0 else { return }
        while pendingOffset < pending.count {
            let n = pending[pendingOffset...].withUnsafeBytes { write(inFD, $0.baseAddress, $0.count) }
            if n > 0 { pendingOffset += n; continue }
            if n < 0 && errno == EAGAIN { return }
            break  // EPIPE or error: the child does not read any more
        }
        close(inFD)
        inFD = -1
    }

    /// Waits until the child printed `text` on stdout.
    func waitForOutput(_ text: String, timeout: Double = 10) -> Bool {
        pump(timeout: timeout) { $0.stdout.contains(text) || ($0.exited && $0.outFD < 0) }
        return stdout.contains(text)
    }

    func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits for exit and EOF on both pipes; kills the process group at the deadline.
    func finish(timeout: Double = 30) -> RunResult {
        var timedOut = false
        if !pump(timeout: timeout, until: { $0.exited && $0.outFD < 0 && $0.errFD < 0 }) {
            if !exited {
                timedOut = true
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                pump(timeout: 5) { $0.exited }
            }
        }
        var held = false
        if exited && (outFD >= 0 || errFD >= 0) {
            // Something the child started still holds the pipes: give it a moment, then give up.
            if !pump(timeout: 3, until: { $0.outFD < 0 && $0.errFD < 0 }) {
                held = true
                for fd in [outFD, errFD] where fd >= 0 { close(fd) }
                outFD = -1
                errFD = -1
            }
        }
        return RunResult(argv: argv, status: status ?? -1, stdout: stdout, stderr: stderr, timedOut: timedOut, pipesHeldOpen: held)
    }
}

// MARK: - Per-test directory

/// A fresh directory per test under /tmp: `ws/` is the workspace (with the probe copied in),
/// `host/` is a sibling the sandbox must not reach.
final class TestDir {
    let root: String
    let workspace: String
    let host: String
    /// The probe inside the workspace.
    let probe: String
    private var profileCount = 0

    init(_ label: String = "t") throws {
        Harness.setUp()
        var template = Array("/tmp/agentrun-it-\(label)-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw HarnessError.errno("mkdtemp", errno) }
        root = String(cString: p)
        chmod(root, 0o755)
        workspace = root + "/ws"
        host = root + "/host"
        probe = workspace + "/agentrun-probe"
        let fm = FileManager.default
        try fm.createDirectory(atPath: workspace, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try fm.createDirectory(atPath: host, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        guard fm.isExecutableFile(atPath: Harness.probe) else {
            throw HarnessError.message("agentrun-probe not found at \(Harness.probe) (set AGENTRUN_PROBE)")
        }
        try fm.copyItem(atPath: Harness.probe, toPath: probe)
        chmod(probe, 0o755)
    }

    deinit {
        if Harness.environment["AGENTRUN_TEST_KEEP"] == "1" { return }
        // Undo anything read-only or immutable-looking the test made, then remove.
        _ = Harness.run(["chmod", "-R", "u+rwX", root], timeout: 10)
        try? FileManager.default.removeItem(atPath: root)
    }

    func path(_ rel: String) -> String { workspace + "/" + rel }
    func hostPath(_ rel: String) -> String { host + "/" + rel }

    func write(_ path: String, _ content: String, mode: Int = 0o644) throws {
        let full = path.hasPrefix("/") ? path : self.path(path)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try content.write(toFile: full, atomically: false, encoding: .utf8)
        chmod(full, mode_t(mode))
    }

    func read(_ path: String) -> String? {
        let full = path.hasPrefix("/") ? path : self.path(path)
        return try? String(contentsOfFile: full, encoding: .utf8)
    }

    func exists(_ path: String) -> Bool {
        let full = path.hasPrefix("/") ? path : self.path(path)
        var st = stat()
        return lstat(full, &st) == 0
    }

    /// Writes a profile file outside the workspace and returns its path.
    func profile(_ yaml: String) throws -> String {
        profileCount += 1
        let p = hostPath("profile-\(profileCount).yaml")
        try write(p, yaml)
        return p
    }

    /// The agentrun command line for `command` in this workspace.
    func agentrunArgv(_ command: [String], profile: String? = nil, options: [String] = [], binary: String = Harness.agentrun) -> [String] {
        var argv = [binary]
        if let profile { argv += ["--profile", profile] }
        argv += ["--workspace", workspace] + options + ["--"] + command
        return argv
    }

    /// Runs `command` in a sandbox over this workspace (cwd = the workspace).
    func sandbox(
        _ command: [String], profile: String? = nil, options: [String] = [], env: [String: String] = [:],
        stdin: Stdin = .null, extraFDs: [Int32] = [], timeout: Double = 30, wrapper: [String] = []
    ) -> RunResult {
        checkCanSandbox()
        // Another user (setpriv) may not be able to reach the build directory (a clone under
        // /root, say): give it a world-readable copy of the binary.
        let binary = wrapper.isEmpty ? Harness.agentrun : Harness.agentrunForOtherUsers
        return Harness.run(wrapper + agentrunArgv(command, profile: profile, options: options, binary: binary), env: env, cwd: workspace,
                           stdin: stdin, extraFDs: extraFDs, timeout: timeout)
    }

    /// Starts `command` in a sandbox without waiting.
    func startSandbox(_ command: [String], profile: String? = nil, options: [String] = [], env: [String: String] = [:]) throws -> Child {
        checkCanSandbox()
        return try Child(argv: agentrunArgv(command, profile: profile, options: options), env: env, cwd: workspace)
    }

    /// Runs the probe in a sandbox.
    func probeIn(_ args: [String], profile: String? = nil, options: [String] = [], env: [String: String] = [:],
                 stdin: Stdin = .null, extraFDs: [Int32] = [], timeout: Double = 30) -> RunResult {
        sandbox([probe] + args, profile: profile, options: options, env: env, stdin: stdin, extraFDs: extraFDs, timeout: timeout)
    }

    /// Runs the probe on the host as a control (`--control`), optionally under a wrapper command
    /// (prlimit, setpriv, unshare ...), cwd = the workspace.
    func probeOnHost(_ args: [String], wrapper: [String] = [], env: [String: String] = [:], stdin: Stdin = .null,
                     extraFDs: [Int32] = [], control: Bool = true, timeout: Double = 30) -> RunResult {
        Harness.run(wrapper + [probe] + (control ? ["--control"] : []) + args, env: env, cwd: workspace, stdin: stdin,
                    extraFDs: extraFDs, timeout: timeout)
    }

    private func checkCanSandbox() {
        if !Harness.userNamespacesWork {
            Issue.record("user namespaces are unavailable here and AGENTRUN_REQUIRE_PRIVILEGED=1: the sandbox cannot start")
        }
        if !FileManager.default.isExecutableFile(atPath: Harness.agentrun) {
            Issue.record("agentrun not found at \(Harness.agentrun) (build it or set AGENTRUN_BIN)")
        }
    }
}

// MARK: - Host helper processes

/// A background host process (a listener, a sleeping target) killed when released.
final class HostProcess {
    let child: Child

    init(_ argv: [String], cwd: String? = nil, env: [String: String] = [:]) throws {
        child = try Child(argv: argv, env: env, cwd: cwd)
    }

    var pid: pid_t { child.pid }

    var isAlive: Bool {
        child.poll()
        return !child.exited
    }

    /// Waits for a line starting with `prefix` on stdout and returns the rest of it.
    func waitForLine(prefix: String, timeout: Double = 10) -> String? {
        child.pump(timeout: timeout) { c in c.stdout.split(separator: "\n").contains { $0.hasPrefix(prefix) } || c.exited }
        return child.stdout.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    func stop() {
        if isAlive {
            child.signal(SIGKILL)
            child.pump(timeout: 5) { $0.exited }
        }
    }

    deinit { stop() }
}

// MARK: - Expectations

/// The attack must be blocked: probe exit 1 ("blocked: ..."), or the probe killed by SIGSYS.
func expectBlocked(_ r: RunResult, _ attack: String, sourceLocation: SourceLocation = #_sourceLocation) {
    switch r.status {
    case 1 where r.stdout.contains("blocked:"):
        return
    case 128 + SIGSYS:
        return
    case 0:
        Issue.record("ESCAPE: \(attack) succeeded inside the sandbox\n\(r)", sourceLocation: sourceLocation)
    case 125:
        Issue.record("agentrun failed before running the attack (exit 125)\n\(r)", sourceLocation: sourceLocation)
    case 2:
        Issue.record("probe misuse while testing \(attack)\n\(r)", sourceLocation: sourceLocation)
    default:
        Issue.record("unexpected status while testing \(attack) (want 1 = blocked)\n\(r)", sourceLocation: sourceLocation)
    }
}

/// A control must show the primitive works where the protection is absent (exit 0).
func expectControlSucceeds(_ r: RunResult, _ attack: String, sourceLocation: SourceLocation = #_sourceLocation) {
    if r.status != 0 {
        Issue.record("CONTROL FAILED: \(attack) did not succeed without the sandbox's protection, so the test cannot tell a block from a broken probe\n\(r)",
                     sourceLocation: sourceLocation)
    }
}

/// Controls that run the primitive on the host mostly need root. Returns false (and fails under
/// AGENTRUN_REQUIRE_PRIVILEGED=1) when not root.
func controlNeedsRoot(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    if Harness.isRoot { return true }
    if Harness.requirePrivileged {
        Issue.record("this control needs root and AGENTRUN_REQUIRE_PRIVILEGED=1", sourceLocation: sourceLocation)
    }
    return false
}

/// A functional run must exit 0.
func expectSuccess(_ r: RunResult, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    if r.status != 0 {
        Issue.record("\(what) failed\n\(r)", sourceLocation: sourceLocation)
    }
}

// MARK: - Small host utilities

enum Host {
    static func stat(_ path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    static func isAlive(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    /// Whether this process has capability `cap` in its effective set.
    static func hasCapability(_ cap: Int) -> Bool {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let v = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return v & (1 << UInt64(cap)) != 0
    }

    /// Host pids whose command line mentions `needle` (e.g. a test's workspace path).
    static func pids(commandLineContaining needle: String) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out: [pid_t] = []
        for e in entries {
            guard let pid = pid_t(e), pid != getpid() else { continue }
            guard let data = FileManager.default.contents(atPath: "/proc/\(e)/cmdline") else { continue }
            let cmd = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            if cmd.contains(needle) { out.append(pid) }
        }
        return out
    }

    /// The first IPv4 address of a non-loopback interface that is up.
    static func externalIPv4() -> String? {
        var ifap: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&ifap) == 0, let first = ifap else { return nil }
        defer { freeifaddrs(ifap) }
        var cur: UnsafeMutablePointer<ifaddrs>? = first
        while let i = cur {
            defer { cur = i.pointee.ifa_next }
            guard let sa = i.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET),
                  i.pointee.ifa_flags & UInt32(IFF_UP) != 0, i.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
            var host = [CChar](repeating: 0, count: 64)
            if getnameinfo(sa, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 {
                return Host.string(fromCString: host)
            }
        }
        return nil
    }

    static func sleep(_ seconds: Double) { usleep(UInt32(seconds * 1_000_000)) }

    static func string(fromCString buf: [CChar]) -> String {
        String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

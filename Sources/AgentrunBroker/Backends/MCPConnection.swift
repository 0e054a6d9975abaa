#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AgentrunJSON
import AgentrunOS
import CAgentrunShim
import Synchronization

/// JSON-RPC 2.0 with one upstream MCP server over its stdin/stdout (newline-delimited messages,
/// the MCP stdio transport). One I/O thread per server polls its pipes: it writes queued
/// messages, matches responses to waiting calls by id, answers the server's own requests
/// (`ping`, `roots/list`; anything else "method not found") so the server never waits on us,
/// ignores its notifications, keeps the tail of its stderr, and expires calls at their
/// deadline. A server that dies fails every waiting and later call at once.
final class MCPConnection: Sendable {
    enum Outcome: Sendable, Equatable {
        case result(JSON)
        /// A JSON-RPC error object from the server.
        case error(code: Int64?, message: String)
        /// The server is gone or the response was unusable.
        case failed(String)
        case timeout
    }

    let serverName: String
    /// The longest line (one response) read from the server.
    let maxLine: Int
    private let process: ar_tool_process
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let state: Mutex<State>

    /// The kept end of the server's stderr, in bytes.
    static let stderrTailBytes = 8192

    private struct Pending {
        var continuation: CheckedContinuation<Outcome, Never>
        var deadline: UInt64
    }

    private struct State {
        var nextID: Int64 = 1
        var outbox: [UInt8] = []
        var pending: [Int64: Pending] = [:]
        /// Why calls fail (the server died, or was stopped).
        var dead: String?
        var stopping = false
        var stopped = false
        var ioFinished = false
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
        var stderrTail: [UInt8] = []
        var stderrTruncated = false
    }

    private init(serverName: String, maxLine: Int, process: ar_tool_process, wake: (Int32, Int32)) {
        self.serverName = serverName
        self.maxLine = maxLine
        self.process = process
        self.wakeRead = wake.0
        self.wakeWrite = wake.1
        self.state = Mutex(State())
    }

    /// Spawns the server and starts its I/O thread.
    static func start(serverName: String, commandLine: ToolCommandLine, maxLine: Int) -> Result<MCPConnection, ToolSpawnFailure> {
        var wake: [Int32] = [-1, -1]
        let wakeRC = wake.withUnsafeMutableBufferPointer { ar_tool_wake_pipe($0.baseAddress) }
        guard wakeRC == 0 else { return .failure(ToolSpawnFailure(program: commandLine.path, errno: -wakeRC)) }
        let process: ar_tool_process
        switch commandLine.spawn(stdinPipe: true) {
        case .failure(let failure):
            close(wake[0])
            close(wake[1])
            return .failure(failure)
        case .success(let started): process = started
        }
        _ = ar_tool_set_nonblocking(process.stdin_fd, 1)
        let connection = MCPConnection(serverName: serverName, maxLine: maxLine, process: process, wake: (wake[0], wake[1]))
        guard BackendThread.detach({ connection.runIO() }) else {
            // No I/O thread: stop the server right here (blocking briefly is acceptable at start-up).
            _ = ar_tool_signal_group(process.pidfd, process.pid, SIGKILL)
            var kind: Int32 = 0
            var code: Int32 = 0
            _ = ar_tool_reap(process.pidfd, 0, &kind, &code)
            for fd in [process.stdin_fd, process.stdout_fd, process.stderr_fd, process.pidfd, wake[0], wake[1]] { close(fd) }
            return .failure(ToolSpawnFailure(program: commandLine.path, errno: EAGAIN))
        }
        return .success(connection)
    }

    // MARK: Calls

    /// Sends a request and waits for its response, at most `timeout` seconds.
    func request(_ method: String, params: JSON, timeout: Double) async -> Outcome {
        let deadline = Monotonic.nanoseconds() &+ UInt64(max(0, min(timeout, 1e6)) * 1e9)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let refused: String? = state.withLock { state in
                if let dead = state.dead { return dead }
                let id = state.nextID
                state.nextID += 1
                let message: JSON = [
                    "jsonrpc": "2.0", "id": .number(JSONNumber(id)), "method": .string(method), "params": params,
                ]
                state.outbox += message.serialized()
                state.outbox.append(0x0A)
                state.pending[id] = Pending(continuation: continuation, deadline: deadline)
                return nil
            }
            if let refused {
                continuation.resume(returning: .failed(refused))
            } else {
                wake()
            }
        }
    }

    /// Sends a notification (no response).
    func notify(_ method: String, params: JSON) {
        let queued = state.withLock { state in
            guard state.dead == nil else { return false }
            let message: JSON = ["jsonrpc": "2.0", "method": .string(method), "params": params]
            state.outbox += message.serialized()
            state.outbox.append(0x0A)
            return true
        }
        if queued { wake() }
    }

    /// The end of the server's stderr (raw; scrub before showing it), and whether earlier bytes were dropped.
    var stderrTail: (bytes: [UInt8], truncated: Bool) {
        state.withLock { ($0.stderrTail, $0.stderrTruncated) }
    }

    /// Whether the server has died or been stopped.
    var isDead: Bool { state.withLock { $0.dead != nil } }

    // MARK: Stopping

    /// SIGTERM to the server's process group, SIGKILL after `grace` seconds, reap; then the I/O
    /// thread ends and every descriptor is closed. Waiting calls fail. Idempotent.
    func stop(grace: Double = 2) async {
        let first = state.withLock { state in
            if state.stopped { return false }
            state.stopped = true
            return true
        }
        guard first else {
            await waitForIO()
            return
        }
        let process = self.process
        _ = await BackendThread.run { () -> Bool in
            _ = ar_tool_signal_group(process.pidfd, process.pid, SIGTERM)
            var pfd = pollfd(fd: process.pidfd, events: Int16(POLLIN), revents: 0)
            let until = Monotonic.nanoseconds() &+ UInt64(grace * 1e9)
            while true {
                let now = Monotonic.nanoseconds()
                guard now < until else { break }
                let rc = poll(&pfd, 1, Int32(min((until - now) / 1_000_000 + 1, 60_000)))
                if rc > 0 || (rc < 0 && errno != EINTR) { break }
            }
            // The leader is unreaped here, so its group id is still its own: kill what is left.
            _ = ar_tool_signal_group(process.pidfd, process.pid, SIGKILL)
            var kind: Int32 = 0
            var code: Int32 = 0
            return ar_tool_reap(process.pidfd, 0, &kind, &code) == 1
        }
        let waiting = state.withLock { state in
            state.stopping = true
            if state.dead == nil { state.dead = "the upstream MCP server `\(serverName)` was stopped" }
            let waiting = state.pending.values.map(\.continuation)
            state.pending.removeAll()
            return waiting
        }
        for continuation in waiting { continuation.resume(returning: .failed("the upstream MCP server `\(serverName)` was stopped")) }
        wake()
        await waitForIO()
        for fd in [process.stdin_fd, process.stdout_fd, process.stderr_fd, process.pidfd, wakeRead, wakeWrite] { close(fd) }
    }

    private func waitForIO() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state in
                if state.ioFinished { return true }
                state.finishWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: The I/O thread

    private func runIO() {
        _ = ar_tool_block_sigpipe()
        var reader = LineReader(maxLine: maxLine)
        var stdoutOpen = true
        var stderrOpen = true
        var stdinOpen = true
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let now = Monotonic.nanoseconds()
            var expired: [(Int64, CheckedContinuation<Outcome, Never>)] = []
            let (stop, wantWrite, nextDeadline) = state.withLock { state -> (Bool, Bool, UInt64?) in
                for (id, pending) in state.pending where pending.deadline <= now {
                    expired.append((id, pending.continuation))
                }
                for (id, _) in expired { state.pending[id] = nil }
                if state.dead == nil {
                    // Tell the server to stop working on what nobody waits for any more.
                    for (id, _) in expired {
                        let message: JSON = [
                            "jsonrpc": "2.0", "method": "notifications/cancelled",
                            "params": ["requestId": .number(JSONNumber(id)), "reason": "timeout"],
                        ]
                        state.outbox += message.serialized()
                        state.outbox.append(0x0A)
                    }
                }
                return (state.stopping, !state.outbox.isEmpty, state.pending.values.map(\.deadline).min())
            }
            for (_, continuation) in expired { continuation.resume(returning: .timeout) }
            if stop { break }

            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            var stdoutIndex = -1
            var stderrIndex = -1
            var stdinIndex = -1
            if stdoutOpen {
                stdoutIndex = fds.count
                fds.append(pollfd(fd: process.stdout_fd, events: Int16(POLLIN), revents: 0))
            }
            if stderrOpen {
                stderrIndex = fds.count
                fds.append(pollfd(fd: process.stderr_fd, events: Int16(POLLIN), revents: 0))
            }
            if stdinOpen && wantWrite {
                stdinIndex = fds.count
                fds.append(pollfd(fd: process.stdin_fd, events: Int16(POLLOUT), revents: 0))
            }
            var timeoutMS: Int32 = -1
            if let nextDeadline {
                let now = Monotonic.nanoseconds()
                timeoutMS = nextDeadline <= now ? 0 : Int32(min((nextDeadline - now) / 1_000_000 + 1, 60_000))
            }
            let ready = poll(&fds, nfds_t(fds.count), timeoutMS)
            if ready < 0 {
                if errno == EINTR { continue }
                markDead("polling the upstream MCP server `\(serverName)` failed")
                break
            }
            if fds[0].revents != 0 {
                while chunk.withUnsafeMutableBytes({ read(wakeRead, $0.baseAddress, $0.count) }) > 0 {}
            }
            if stdinIndex >= 0 && fds[stdinIndex].revents != 0 {
                let failed = state.withLock { state -> Bool in
                    while !state.outbox.isEmpty {
                        let n = state.outbox.withUnsafeBytes { write(process.stdin_fd, $0.baseAddress, $0.count) }
                        if n > 0 {
                            state.outbox.removeFirst(n)
                        } else if n < 0 && errno == EINTR {
                            continue
                        } else if n < 0 && errno == EAGAIN {
                            return false
                        } else {
                            state.outbox.removeAll()
                            return true
                        }
                    }
                    return false
                }
                if failed {
                    stdinOpen = false
                    markDead("the upstream MCP server `\(serverName)` stopped reading its input")
                }
            }
            if stdoutIndex >= 0 && fds[stdoutIndex].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(process.stdout_fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    for event in reader.feed(chunk[0..<n]) {
                        switch event {
                        case .line(let line): handleLine(line)
                        case .overlong:
                            failAllPending("the upstream MCP server `\(serverName)` sent a response larger than max_output (\(maxLine) bytes)")
                        }
                    }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    stdoutOpen = false
                    markDead("the upstream MCP server `\(serverName)` is not running (it closed its output)")
                }
            }
            if stderrIndex >= 0 && fds[stderrIndex].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(process.stderr_fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    state.withLock { state in
                        state.stderrTail.append(contentsOf: chunk[0..<n])
                        if state.stderrTail.count > MCPConnection.stderrTailBytes {
                            state.stderrTail.removeFirst(state.stderrTail.count - MCPConnection.stderrTailBytes)
                            state.stderrTruncated = true
                        }
                    }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    stderrOpen = false
                }
            }
            if !stdoutOpen && !stderrOpen {
                // Nothing more can arrive; wait for stop() only.
                let stopping = state.withLock { $0.stopping }
                if stopping { break }
                var pfd = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, -1)
            }
        }
        let waiters = state.withLock { state in
            state.ioFinished = true
            let waiters = state.finishWaiters
            state.finishWaiters.removeAll()
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The server is unusable: fail what waits and refuse what comes.
    private func markDead(_ reason: String) {
        let waiting = state.withLock { state in
            if state.dead == nil { state.dead = reason }
            state.outbox.removeAll()
            let waiting = state.pending.values.map(\.continuation)
            state.pending.removeAll()
            return waiting
        }
        for continuation in waiting { continuation.resume(returning: .failed(reason)) }
    }

    private func failAllPending(_ reason: String) {
        let waiting = state.withLock { state in
            let waiting = state.pending.values.map(\.continuation)
            state.pending.removeAll()
            return waiting
        }
        for continuation in waiting { continuation.resume(returning: .failed(reason)) }
    }

    private func handleLine(_ line: ArraySlice<UInt8>) {
        guard let message = try? JSON.parse(line), case .object(let fields) = message else { return }
        if let method = fields["method"]?.stringValue {
            guard let id = fields["id"] else { return }  // a notification: nothing to do
            let reply: JSON
            switch method {
            case "ping": reply = ["jsonrpc": "2.0", "id": id, "result": [:]]
            case "roots/list": reply = ["jsonrpc": "2.0", "id": id, "result": ["roots": []]]
            default:
                reply = [
                    "jsonrpc": "2.0", "id": id,
                    "error": ["code": -32601, "message": .string("agentrun does not support \(method)")],
                ]
            }
            state.withLock { state in
                state.outbox += reply.serialized()
                state.outbox.append(0x0A)
            }
            return
        }
        guard let id = fields["id"]?.int64Value else { return }
        let outcome: Outcome
        if let result = fields["result"] {
            outcome = .result(result)
        } else if let error = fields["error"]?.objectValue {
            outcome = .error(code: error["code"]?.int64Value, message: error["message"]?.stringValue ?? "(no message)")
        } else {
            outcome = .failed("the upstream MCP server `\(serverName)` sent a response without result or error")
        }
        let pending = state.withLock { $0.pending.removeValue(forKey: id) }
        pending?.continuation.resume(returning: outcome)
    }
}

/// Splits a byte stream into lines (LF, an optional CR before it dropped), refusing lines over
/// `maxLine` bytes: the rest of such a line is skipped up to its newline.
struct LineReader {
    enum Event {
        case line(ArraySlice<UInt8>)
        case overlong
    }

    let maxLine: Int
    private var buffer: [UInt8] = []
    private var discarding = false

    init(maxLine: Int) { self.maxLine = maxLine }

    mutating func feed(_ bytes: ArraySlice<UInt8>) -> [Event] {
        var events: [Event] = []
        var rest = bytes
        while !rest.isEmpty {
            if let newline = rest.firstIndex(of: 0x0A) {
                let piece = rest[rest.startIndex..<newline]
                rest = rest[(newline + 1)...]
                if discarding {
                    discarding = false
                    continue
                }
                if buffer.count + piece.count > maxLine {
                    buffer.removeAll()
                    events.append(.overlong)
                    continue
                }
                buffer += piece
                var line = buffer[...]
                if line.last == 0x0D { line = line.dropLast() }
                if !line.isEmpty { events.append(.line(line)) }
                buffer.removeAll(keepingCapacity: true)
            } else {
                if !discarding {
                    if buffer.count + rest.count > maxLine {
                        buffer.removeAll()
                        discarding = true
                        events.append(.overlong)
                    } else {
                        buffer += rest
                    }
                }
                rest = rest[rest.endIndex...]
            }
        }
        return events
    }
}

import AgentrunOS
import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one ordered sink of a run's log. Any thread may call `append`; a lock orders the records,
/// so each gets the next `seq`, chains to the one before, and reaches the kernel (one `write`
/// per record) before the lock is released, hence in seq order.
///
/// Durability, by option:
/// - `checkpoint` (default): every record is in the kernel when `append` returns, so it
///   survives a crash of agentrun itself (`kill -9`); a checkpoint (every `checkpointEvery`
///   records, every `checkpointInterval` seconds through `append`/`tick`, and in `finish`)
///   starts an `fdatasync` on a background thread (`LogSync`) without waiting for it, so a host
///   crash loses at most the records since the last completed sync. `finish` syncs and waits.
/// - `record`: `append` returns only once its record is on disk (concurrent appends share syncs).
///
/// Failures are sticky: after the first failed write, sync or file check, every call throws
/// that error and nothing more is written. A partly written line is truncated away, so the file
/// stays a sequence of complete records. The supervisor must ignore SIGXFSZ for a file-size
/// limit to surface as EFBIG here rather than kill it.
public final class ProvenanceWriter: Sendable {
    public struct Options: Sendable {
        public var checkpointEvery: Int
        /// Seconds.
        public var checkpointInterval: Double
        public var durability: Durability

        public init(checkpointEvery: Int = 1000, checkpointInterval: Double = 5, durability: Durability = .checkpoint) {
            self.checkpointEvery = checkpointEvery
            self.checkpointInterval = checkpointInterval
            self.durability = durability
        }
    }

    public enum Durability: String, Sendable {
        case checkpoint
        case record
    }

    /// A written record: its seq and its `hash` member.
    public struct Receipt: Sendable, Equatable {
        public var seq: Int64
        public var hash: String
    }

    public let path: String
    public let runID: String
    private let runKey: RunKey
    private let redactor: Redactor
    private let options: Options
    private let intervalNanoseconds: UInt64
    /// The run id encoded once as a JSON string.
    private let runJSON: [UInt8]
    private let sync: LogSync
    private let state: Locked<State>

    private enum Status {
        case open
        case failed(ProvenanceError)
        case finished(Receipt)
    }

    private struct State {
        var fd: Int32
        var status = Status.open
        var seq: Int64 = 0
        /// Hex SHA-256 of the last line: the next record's `prev`.
        var prevHex = RecordFormat.zeroHash
        var sinceCheckpoint = 0
        var lastCheckpoint: UInt64
        /// Bytes of complete records in the file.
        var committed: Int64 = 0
        /// Scratch buffers reused by every record: the record without `hash`, then the line.
        var body: [UInt8] = []
        var line: [UInt8] = []
        /// `YYYY-MM-DDTHH:MM:SS` of `clockSecond`: most records share their second.
        var clockSecond = -1
        var clockText: [UInt8] = []
    }

    /// Creates the log file (it must not exist; mode 0600; the parent directory must exist).
    public static func create(
        path: String, runID: String, runKey: RunKey, redactor: Redactor, options: Options = Options()
    ) throws(ProvenanceError) -> ProvenanceWriter {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw ProvenanceError.system("create", path: path, errno: errno) }
        return try ProvenanceWriter(fd: fd, path: path, runID: runID, runKey: runKey, redactor: redactor, options: options)
    }

    /// Takes ownership of `fd` (closed on failure). Tests use it with /dev/full and tiny tmpfs files.
    init(fd: Int32, path: String, runID: String, runKey: RunKey, redactor: Redactor, options: Options) throws(ProvenanceError) {
        guard options.checkpointEvery >= 1, options.checkpointInterval > 0, options.checkpointInterval < 1e9 else {
            close(fd)
            throw ProvenanceError(
                op: "create", path: path,
                message: "checkpointEvery must be at least 1 and checkpointInterval a positive number of seconds")
        }
        do {
            sync = try LogSync(fd: fd, path: path)
        } catch {
            close(fd)
            throw error
        }
        self.path = path
        self.runID = runID
        self.runKey = runKey
        self.redactor = redactor
        self.options = options
        intervalNanoseconds = UInt64(options.checkpointInterval * 1e9)
        var run: [UInt8] = []
        CanonicalJSON.appendString(runID, to: &run)
        runJSON = run
        var initial = State(fd: fd, lastCheckpoint: Self.monotonicNanoseconds())
        initial.body.reserveCapacity(1024)
        initial.line.reserveCapacity(1024)
        state = Locked(initial)
    }

    deinit {
        // Without finish(): the log stays unsealed, as after a crash.
        state.withLock { state in
            if state.fd >= 0 { close(state.fd) }
            state.fd = -1
        }
        sync.stop()
    }

    /// Appends a record of `kind` with `fields` (secrets redacted first). The first record must be
    /// `session.start`; its `run_key` is filled in. Fields named like the common members, the
    /// kind `checkpoint` and nesting deeper than `CanonicalJSON.maxDepth` are refused without
    /// failing the writer.
    @discardableResult
    public func append(_ kind: String, _ fields: [String: JSONValue]) throws(ProvenanceError) -> Receipt {
        if kind.isEmpty || kind == RecordFormat.checkpoint {
            throw misuse("record kind '\(kind)' cannot be appended (checkpoints are written by the writer)")
        }
        for key in fields.keys where key.utf8.count <= 4 && RecordFormat.commonKeys.contains(key) {
            throw misuse("field '\(key)' is filled by the writer")
        }
        var fields = fields
        if kind == RecordFormat.sessionStart {
            if let given = fields["run_key"], given != .string(runKey.publicKeyHex) {
                throw misuse("session.start carries a run_key that is not this writer's")
            }
            fields["run_key"] = nil
        }
        // Sorting, redaction and encoding of the caller's members happen outside the lock.
        var members = Members(fields, redacting: redactor.snapshot())
        if kind == RecordFormat.sessionStart { members.insert(key: "run_key", value: .string(runKey.publicKeyHex)) }
        guard members.deepEnough else {
            throw misuse("a \(kind) record nests deeper than \(CanonicalJSON.maxDepth) levels")
        }
        let (receipt, mark) = try state.withLock { (state: inout State) throws(ProvenanceError) -> (Receipt, Int64) in
            try checkOpen(&state)
            if (state.seq == 0) != (kind == RecordFormat.sessionStart) {
                throw misuse(state.seq == 0 ? "the first record must be session.start" : "session.start was already written")
            }
            let receipt = try emit(&state, kind: kind, members: members)
            if state.sinceCheckpoint >= options.checkpointEvery || timeForCheckpoint(state) {
                _ = try checkpoint(&state, final: false)
            }
            return (receipt, state.committed)
        }
        if options.durability == .record { try waitDurable(mark) }
        return receipt
    }

    /// Called about once a second: writes a time-based checkpoint when one is due, and fails the
    /// writer if the log file was removed or replaced (an agent must not be able to make the
    /// supervisor log into a file nobody will read).
    public func tick() throws(ProvenanceError) {
        let mark = try state.withLock { (state: inout State) throws(ProvenanceError) -> Int64 in
            try checkOpen(&state)
            try checkFile(&state)
            if timeForCheckpoint(state) { _ = try checkpoint(&state, final: false) }
            return state.committed
        }
        if options.durability == .record { try waitDurable(mark) }
    }

    /// Appends the final checkpoint, syncs and closes the file. Returns the final checkpoint;
    /// calling it again returns the same receipt.
    public func finish() throws(ProvenanceError) -> Receipt {
        let result = state.withLock { (state: inout State) -> Result<Receipt, ProvenanceError> in
            if case .finished(let receipt) = state.status { return .success(receipt) }
            do throws(ProvenanceError) {
                try checkOpen(&state)
                let receipt = try checkpoint(&state, final: true)
                var rc: Int32
                repeat { rc = fdatasync(state.fd) } while rc != 0 && errno == EINTR
                if rc != 0 { try fail(&state, ProvenanceError.system("fdatasync", path: path, errno: errno)) }
                let closed = close(state.fd)
                let closeErrno = errno
                state.fd = -1
                if closed != 0 && closeErrno != EINTR {
                    try fail(&state, ProvenanceError.system("close", path: path, errno: closeErrno))
                }
                state.status = .finished(receipt)
                return .success(receipt)
            } catch {
                return .failure(error)
            }
        }
        sync.stop()
        return try result.get()
    }

    /// The sticky failure, if the writer failed.
    public var failure: ProvenanceError? {
        state.withLock { state in
            if case .open = state.status, sync.failed.load(ordering: .acquiring), let error = sync.error {
                markFailed(&state, error)
            }
            if case .failed(let error) = state.status { return error }
            return nil
        }
    }

    // MARK: Records

    /// Builds the next record from the caller's encoded members and the common ones, hashes it,
    /// writes the line and advances the chain.
    private func emit(_ state: inout State, kind: String, members: Members) throws(ProvenanceError) -> Receipt {
        let seq = state.seq + 1
        var body = state.body
        state.body = []
        body.removeAll(keepingCapacity: true)
        // Every piece starts with ','; the first one's becomes '{'.
        var hashAt = 0
        var copied = 0
        for common in Members.Common.allCases {
            let split = members.splits[common.rawValue]
            if split > copied { body.append(contentsOf: members.bytes[copied..<split]) }
            copied = split
            if common == .hash {
                hashAt = body.count
                continue
            }
            body.append(contentsOf: Members.Common.prefixes[common.rawValue])
            switch common {
            case .hash: break
            case .kind: CanonicalJSON.appendString(kind, to: &body)
            case .prev:
                body.append(UInt8(ascii: "\""))
                body.append(contentsOf: state.prevHex)
                body.append(UInt8(ascii: "\""))
            case .run: body.append(contentsOf: runJSON)
            case .seq: CanonicalJSON.appendInt(seq, to: &body)
            case .ts:
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                if now.tv_sec != state.clockSecond {
                    state.clockSecond = now.tv_sec
                    state.clockText.removeAll(keepingCapacity: true)
                    RFC3339.appendSeconds(Int64(now.tv_sec), to: &state.clockText)
                }
                body.append(UInt8(ascii: "\""))
                body.append(contentsOf: state.clockText)
                RFC3339.appendFraction(now.tv_nsec, to: &body)
                body.append(UInt8(ascii: "\""))
            case .v: CanonicalJSON.appendInt(RecordFormat.version, to: &body)
            }
        }
        if copied < members.bytes.count { body.append(contentsOf: members.bytes[copied...]) }
        body[0] = UInt8(ascii: "{")
        body.append(UInt8(ascii: "}"))

        // The line is the body with `"hash":"…"` spliced in at its sorted place.
        let hash = body.withUnsafeBytes { RecordFormat.sha256($0) }
        var line = state.line
        state.line = []
        line.removeAll(keepingCapacity: true)
        if hashAt == 0 {
            line.append(UInt8(ascii: "{"))
        } else {
            line.append(contentsOf: body[0..<hashAt])
            line.append(UInt8(ascii: ","))
        }
        line.append(contentsOf: Members.Common.prefixes[Members.Common.hash.rawValue].dropFirst())
        line.append(UInt8(ascii: "\""))
        let hashStart = line.count
        hash.withUnsafeBytes { Hex.append(raw: $0, to: &line) }
        let hashHex = String(decoding: line[hashStart..<(hashStart + 64)], as: UTF8.self)
        line.append(UInt8(ascii: "\""))
        if hashAt == 0 {
            line.append(contentsOf: body[0...])
            line[hashStart + 65] = UInt8(ascii: ",")
        } else {
            line.append(contentsOf: body[hashAt...])
        }
        let lineHash = line.withUnsafeBytes { RecordFormat.sha256($0) }
        line.append(UInt8(ascii: "\n"))
        state.body = body
        state.line = line

        try write(&state)
        state.seq = seq
        state.prevHex.removeAll(keepingCapacity: true)
        lineHash.withUnsafeBytes { Hex.append(raw: $0, to: &state.prevHex) }
        state.sinceCheckpoint += 1
        return Receipt(seq: seq, hash: hashHex)
    }

    /// Writes a checkpoint signing everything before it.
    private func checkpoint(_ state: inout State, final: Bool) throws(ProvenanceError) -> Receipt {
        let message = state.prevHex.withUnsafeBufferPointer { prev in
            runJSON.withUnsafeBufferPointer { run in
                RecordFormat.checkpointMessage(final: final, prevHex: prev, runJSON: run, seq: state.seq + 1)
            }
        }
        let signature: [UInt8]
        do {
            signature = try runKey.signature(for: message)
        } catch {
            try fail(&state, ProvenanceError(op: "sign checkpoint", path: path, message: error.message))
        }
        let receipt = try emit(
            &state, kind: RecordFormat.checkpoint,
            members: Members(["final": .bool(final), "sig": .string(Hex.string(signature))], redacting: nil))
        state.sinceCheckpoint = 0
        state.lastCheckpoint = Self.monotonicNanoseconds()
        if options.durability == .checkpoint && !final { sync.request(state.committed) }
        return receipt
    }

    private func timeForCheckpoint(_ state: State) -> Bool {
        state.sinceCheckpoint > 0 && Self.monotonicNanoseconds() &- state.lastCheckpoint >= intervalNanoseconds
    }

    // MARK: The file

    /// Writes `state.line`. On failure, removes a partial line and fails the writer.
    private func write(_ state: inout State) throws(ProvenanceError) {
        let fd = state.fd
        var written = 0
        var code: Int32 = 0
        state.line.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while written < raw.count {
                let n = Glibc.write(fd, base + written, raw.count - written)
                if n > 0 {
                    written += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    code = n < 0 ? errno : EIO
                    return
                }
            }
        }
        guard code != 0 else {
            state.committed += Int64(written)
            return
        }
        var message = Errno.describe(code)
        if written > 0 {
            // Never leave half a record for a later reader to trip on.
            if ftruncate(fd, off_t(state.committed)) == 0 {
                message += " (the partly written record was removed)"
            } else {
                message += " (a partly written record remains: ftruncate: \(Errno.describe(errno)))"
            }
        }
        try fail(&state, ProvenanceError(op: "write", path: path, errno: code, message: message))
    }

    /// The file at `path` must still be the one we write: same device and inode, not unlinked.
    private func checkFile(_ state: inout State) throws(ProvenanceError) {
        var mine = stat()
        guard fstat(state.fd, &mine) == 0 else {
            try fail(&state, ProvenanceError.system("fstat", path: path, errno: errno))
        }
        var named = stat()
        if stat(path, &named) != 0 {
            let code = errno
            try fail(&state, ProvenanceError(op: "check", path: path, errno: code, message: "log file removed or replaced"))
        }
        if named.st_dev != mine.st_dev || named.st_ino != mine.st_ino || mine.st_nlink == 0 {
            try fail(&state, ProvenanceError(op: "check", path: path, message: "log file removed or replaced"))
        }
    }

    private func waitDurable(_ mark: Int64) throws(ProvenanceError) {
        do {
            try sync.wait(for: mark)
        } catch {
            state.withLock { markFailed(&$0, error) }
            throw error
        }
    }

    // MARK: Failure

    private func checkOpen(_ state: inout State) throws(ProvenanceError) {
        switch state.status {
        case .open:
            if sync.failed.load(ordering: .acquiring) {
                try fail(&state, sync.error ?? ProvenanceError(op: "fdatasync", path: path, message: "sync failed"))
            }
        case .failed(let error):
            throw error
        case .finished:
            throw ProvenanceError(op: "append", path: path, message: "the log is already finished")
        }
    }

    private func fail(_ state: inout State, _ error: ProvenanceError) throws(ProvenanceError) -> Never {
        markFailed(&state, error)
        throw error
    }

    private func markFailed(_ state: inout State, _ error: ProvenanceError) {
        if case .failed = state.status { return }
        state.status = .failed(error)
        if state.fd >= 0 { close(state.fd) }
        state.fd = -1
    }

    private func misuse(_ message: String) -> ProvenanceError {
        ProvenanceError(op: "append", path: path, message: message)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

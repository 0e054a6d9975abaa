import AgentrunOS
import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one ordered sink of a run's log. Any thread may call `append`; a lock orders the records,
/// so each gets the next `seq` and chains to the one before, and lines leave the writer in seq
/// order. Sorting, redacting and encoding the caller's fields happen before the lock.
///
/// When records reach the file, by durability:
/// - `checkpoint` (default): lines are gathered and written in one `write` (a syscall costs as
///   much as building a record on this host) at most `flushDelay` (10 ms) after the first of
///   them, whenever 64 KiB are pending, at every checkpoint, `tick` and `finish`. So a crash of
///   agentrun itself (`kill -9`) loses at most the last 10 ms of records, and the log still
///   verifies up to its last checkpoint. Each checkpoint also starts an `fdatasync` on a
///   background thread without waiting for it; a host crash loses at most what came after the
///   last completed sync. `finish` writes, syncs and waits.
/// - `record`: every `append` writes its line and returns once it is on disk (concurrent
///   appends share syncs).
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

    /// Longest time a record waits in the writer before it is written (nanoseconds).
    static let flushDelay: UInt64 = 10_000_000
    /// Pending bytes that trigger a write at once.
    static let flushSize = 64 << 10

    public let path: String
    public let runID: String
    private let runKey: RunKey
    private let redactor: Redactor
    private let options: Options
    private let intervalNanoseconds: UInt64
    /// The run id encoded once as a JSON string.
    private let runJSON: [UInt8]
    private let background: BackgroundFlush
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
        /// Lines not yet written.
        var pending: [UInt8] = []
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
            background = try BackgroundFlush(fd: fd, path: path)
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
        var initial = State(fd: fd, lastCheckpoint: BackgroundFlush.now())
        initial.pending.reserveCapacity(Self.flushSize + 4096)
        state = Locked(initial)
        background.onFlush { [weak self] in self?.flushPending() }
    }

    deinit {
        // Without finish() the log stays unsealed, as after a crash; what was appended is written.
        state.withLock { state in
            if case .open = state.status, !state.pending.isEmpty { try? writePending(&state) }
            if state.fd >= 0 { close(state.fd) }
            state.fd = -1
        }
        background.stop()
    }

    /// Appends a record of `kind` with `fields` (secrets redacted first). The first record must be
    /// `session.start`; its `run_key` is filled in. Fields named like the common members, the
    /// kind `checkpoint`, nesting deeper than `CanonicalJSON.maxDepth` and lines over 64 MiB are
    /// refused without failing the writer.
    @discardableResult
    public func append(_ kind: String, _ fields: [String: JSONValue]) throws(ProvenanceError) -> Receipt {
        if kind.isEmpty || kind == RecordFormat.checkpoint {
            throw misuse("record kind '\(kind)' cannot be appended (checkpoints are written by the writer)")
        }
        var extra: (key: String, value: JSONValue)?
        var fields = fields
        if kind == RecordFormat.sessionStart {
            if let given = fields.removeValue(forKey: "run_key"), given != .string(runKey.publicKeyHex) {
                throw misuse("session.start carries a run_key that is not this writer's")
            }
            extra = ("run_key", .string(runKey.publicKeyHex))
        }
        // Sorting, redaction and encoding of the caller's members happen outside the lock.
        let members = Members(fields, redacting: redactor.snapshot(), extra: extra)
        if let reserved = members.reserved { throw misuse("field '\(reserved)' is filled by the writer") }
        guard members.deepEnough else {
            throw misuse("a \(kind) record nests deeper than \(CanonicalJSON.maxDepth) levels")
        }
        // Readers refuse longer lines (the common members take under 1 KiB).
        guard members.bytes.count < LineReader.maxLine - 1024 else {
            throw misuse("a \(kind) record is larger than \(LineReader.maxLine >> 20) MiB")
        }
        let (receipt, mark, schedule) = try state.withLock {
            (state: inout State) throws(ProvenanceError) -> (Receipt, Int64, Bool) in
            try checkOpen(&state)
            if (state.seq == 0) != (kind == RecordFormat.sessionStart) {
                throw misuse(state.seq == 0 ? "the first record must be session.start" : "session.start was already written")
            }
            let wasEmpty = state.pending.isEmpty
            let receipt = try emit(&state, kind: kind, members: members)
            if state.sinceCheckpoint >= options.checkpointEvery || timeForCheckpoint(state) {
                _ = try checkpoint(&state, final: false)
            } else if options.durability == .record || state.pending.count >= Self.flushSize {
                try writePending(&state)
            }
            return (receipt, state.committed, wasEmpty && !state.pending.isEmpty)
        }
        if schedule { background.scheduleFlush(after: Self.flushDelay) }
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
            if timeForCheckpoint(state) {
                _ = try checkpoint(&state, final: false)
            } else {
                try writePending(&state)
            }
            return state.committed
        }
        if options.durability == .record { try waitDurable(mark) }
    }

    /// Appends the final checkpoint, writes and syncs everything, and closes the file. Returns
    /// the final checkpoint; calling it again returns the same receipt.
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
        background.stop()
        return try result.get()
    }

    /// The sticky failure, if the writer failed.
    public var failure: ProvenanceError? {
        state.withLock { state in
            if case .open = state.status, background.failed.load(ordering: .acquiring), let error = background.error {
                markFailed(&state, error)
            }
            if case .failed(let error) = state.status { return error }
            return nil
        }
    }

    // MARK: Records

    /// Builds the next line at the end of `pending` from the caller's encoded members and the
    /// common ones, hashes it and advances the chain. The line is built once, with room for the
    /// hash: the record's hash covers it minus that member, the next `prev` all of it.
    private func emit(_ state: inout State, kind: String, members: Members) throws(ProvenanceError) -> Receipt {
        let seq = state.seq + 1
        var line = state.pending
        state.pending = []
        let lineStart = line.count
        // Every piece starts with ','; the first one's becomes '{'.
        var hashMember = 0..<0
        var copied = 0
        for common in Members.Common.allCases {
            let split = members.splits[common.rawValue]
            if split > copied { line.append(contentsOf: members.bytes[copied..<split]) }
            copied = split
            line.append(contentsOf: Members.Common.prefixes[common.rawValue])
            switch common {
            case .hash:
                // `,"hash":"` then 64 placeholder digits and the closing quote.
                let start = line.count - 7
                line.append(UInt8(ascii: "\""))
                line.append(contentsOf: RecordFormat.zeroHash)
                line.append(UInt8(ascii: "\""))
                hashMember = start..<line.count
            case .kind: CanonicalJSON.appendString(kind, to: &line)
            case .prev:
                line.append(UInt8(ascii: "\""))
                line.append(contentsOf: state.prevHex)
                line.append(UInt8(ascii: "\""))
            case .run: line.append(contentsOf: runJSON)
            case .seq: CanonicalJSON.appendInt(seq, to: &line)
            case .ts:
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                if now.tv_sec != state.clockSecond {
                    state.clockSecond = now.tv_sec
                    state.clockText.removeAll(keepingCapacity: true)
                    RFC3339.appendSeconds(Int64(now.tv_sec), to: &state.clockText)
                }
                line.append(UInt8(ascii: "\""))
                line.append(contentsOf: state.clockText)
                RFC3339.appendFraction(now.tv_nsec, to: &line)
                line.append(UInt8(ascii: "\""))
            case .v: CanonicalJSON.appendInt(RecordFormat.version, to: &line)
            }
        }
        if copied < members.bytes.count { line.append(contentsOf: members.bytes[copied...]) }
        line.append(UInt8(ascii: "}"))
        let lineEnd = line.count
        let hashHex: String
        let lineHash: SHA256Digest
        (hashHex, lineHash) = line.withUnsafeMutableBufferPointer { buffer in
            buffer[lineStart] = UInt8(ascii: "{")
            let raw = UnsafeRawBufferPointer(buffer)
            // Both digests start with the bytes before the hash member: hash those once.
            let (before, after) = RecordFormat.hashedParts(line: lineStart..<lineEnd, member: hashMember)
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[before]))
            var whole = hasher
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[after]))
            let digits = hashMember.upperBound - 65
            hasher.finalize().withUnsafeBytes { Hex.write(raw: $0, into: buffer, at: digits) }
            let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[digits..<(digits + 64)]), as: UTF8.self)
            whole.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[before.upperBound..<lineEnd]))
            return (text, whole.finalize())
        }
        line.append(UInt8(ascii: "\n"))
        state.pending = line

        state.seq = seq
        state.prevHex.removeAll(keepingCapacity: true)
        lineHash.withUnsafeBytes { Hex.append(raw: $0, to: &state.prevHex) }
        state.sinceCheckpoint += 1
        return Receipt(seq: seq, hash: hashHex)
    }

    /// Writes a checkpoint signing everything before it, then writes the pending lines.
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
        state.lastCheckpoint = BackgroundFlush.now()
        try writePending(&state)
        if options.durability == .checkpoint && !final { background.requestSync(state.committed) }
        return receipt
    }

    /// A checkpoint every interval, also when nothing else was written: the checkpoints of an idle
    /// run show until when agentrun was alive and sealing (an investigator can bound a crash),
    /// and a log that can no longer be written (disk full, file removed) is noticed within one
    /// interval, so the supervisor stops the agent.
    private func timeForCheckpoint(_ state: State) -> Bool {
        BackgroundFlush.now() &- state.lastCheckpoint >= intervalNanoseconds
    }

    // MARK: The file

    /// Called by the background thread when pending lines are due.
    private func flushPending() {
        state.withLock { state in
            guard case .open = state.status, !state.pending.isEmpty else { return }
            try? writePending(&state)
        }
    }

    /// Writes the pending lines. On failure, removes a partly written line and fails the writer.
    private func writePending(_ state: inout State) throws(ProvenanceError) {
        guard !state.pending.isEmpty else { return }
        let fd = state.fd
        var written = 0
        var code: Int32 = 0
        state.pending.withUnsafeBytes { raw in
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
            state.pending.removeAll(keepingCapacity: true)
            return
        }
        // Keep the complete lines that made it; never leave half a record for a reader to trip on.
        let complete = state.pending[0..<written].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        var message = Errno.describe(code)
        if written > complete {
            if ftruncate(fd, off_t(state.committed) + off_t(complete)) == 0 {
                message += " (the partly written record was removed)"
            } else {
                message += " (a partly written record remains: ftruncate: \(Errno.describe(errno)))"
            }
        }
        state.committed += Int64(complete)
        try fail(&state, ProvenanceError(op: "write", path: path, errno: code, message: message))
    }

    /// The file at `path` must still be the one we write: same device and inode, not unlinked.
    private func checkFile(_ state: inout State) throws(ProvenanceError) {
        var mine = Glibc.stat()
        guard fstat(state.fd, &mine) == 0 else {
            try fail(&state, ProvenanceError.system("fstat", path: path, errno: errno))
        }
        var named = Glibc.stat()
        if fstatat(AT_FDCWD, path, &named, 0) != 0 {
            let code = errno
            try fail(&state, ProvenanceError(op: "check", path: path, errno: code, message: "log file removed or replaced"))
        }
        if named.st_dev != mine.st_dev || named.st_ino != mine.st_ino || mine.st_nlink == 0 {
            try fail(&state, ProvenanceError(op: "check", path: path, message: "log file removed or replaced"))
        }
    }

    private func waitDurable(_ mark: Int64) throws(ProvenanceError) {
        do {
            try background.waitSync(mark)
        } catch {
            state.withLock { markFailed(&$0, error) }
            throw error
        }
    }

    /// Tests: drop the file as a `kill -9` would, without writing what is pending.
    func simulateCrash() {
        state.withLock { state in
            state.pending.removeAll()
            markFailed(&state, ProvenanceError(op: "crash", path: path, message: "simulated crash"))
        }
    }

    // MARK: Failure

    private func checkOpen(_ state: inout State) throws(ProvenanceError) {
        switch state.status {
        case .open:
            if background.failed.load(ordering: .acquiring) {
                try fail(&state, background.error ?? ProvenanceError(op: "fdatasync", path: path, message: "sync failed"))
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
        state.pending.removeAll()
        if state.fd >= 0 { close(state.fd) }
        state.fd = -1
    }

    private func misuse(_ message: String) -> ProvenanceError {
        ProvenanceError(op: "append", path: path, message: message)
    }
}

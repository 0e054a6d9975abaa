import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `agentrun log verify`: checks every rule of docs/provenance.md in one streaming pass and
/// names the first bad record. The hot path validates each line's canonical form and picks out
/// the common members in place (no dictionaries), hashes it twice (its `hash`, the next
/// record's `prev`), and decodes fully only `session.start` and checkpoints.
public enum LogVerifier {
    public static func verify(path: String, operatorKey: OperatorPublicKey?) -> VerifyReport {
        if let report = ParallelVerification.verify(path: path, operatorKey: operatorKey) { return report }
        return verifyInOnePass(path: path, operatorKey: operatorKey)
    }

    static func verifyInOnePass(path: String, operatorKey: OperatorPublicKey?) -> VerifyReport {
        var verification = Verification(operatorKey: operatorKey)
        do throws(ProvenanceError) {
            var reader = try LineReader(path: path)
            while let (line, terminated) = try reader.next(), verification.check(line, terminated: terminated) {}
        } catch {
            verification.problem = VerifyReport.Problem(
                seq: nil, line: verification.lineNumber + 1, kind: .malformed, message: error.description)
        }
        if let anomaly = verification.chainAnomaly {
            verification.problem = ChainAnalysis.classify(path: path, line: anomaly)
        }
        return verification.report()
    }
}

/// The common members of a record as found in its line.
struct RecordFields {
    var v: Int64?
    var seq: Int64?
    var ts: StringToken?
    /// The `run` value, quotes included (its bytes are the canonical JSON string).
    var run: Range<Int>?
    var kind: StringToken?
    var prev: StringToken?
    var hash: StringToken?
    /// The whole `"hash":"…"` member.
    var hashMember: Range<Int>?
    /// A common member present with the wrong type.
    var wrongType: String?

    /// Validates `line` as a canonical object and records where its common members are.
    static func scan(_ line: UnsafeBufferPointer<UInt8>) throws(ScanError) -> RecordFields {
        var scanner = CanonicalScanner(line)
        guard line.first == UInt8(ascii: "{") else {
            _ = try scanner.document()
            throw ScanError(canonicalOnly: false, message: "a record must be a JSON object", offset: 0)
        }
        var fields = RecordFields()
        var object = try scanner.openContainer(depth: 1)
        while let key = try scanner.nextKey(&object) {
            let start = scanner.pos
            let length = key.end - key.start
            guard start < line.count, !key.escaped, length <= 4 else {
                try scanner.skipValue(depth: 2)
                continue
            }
            let first = line[start]
            let isString = first == UInt8(ascii: "\"")
            let isInteger = first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
            switch length {
            case 4 where scanner.tokenEquals(key, "hash"):
                if isString {
                    let hash = try scanner.string()
                    fields.hash = hash
                    fields.hashMember = (key.start - 1)..<(hash.end + 1)
                    continue
                }
                fields.wrongType = "hash"
            case 4 where scanner.tokenEquals(key, "kind"):
                if isString {
                    fields.kind = try scanner.string()
                    continue
                }
                fields.wrongType = "kind"
            case 4 where scanner.tokenEquals(key, "prev"):
                if isString {
                    fields.prev = try scanner.string()
                    continue
                }
                fields.wrongType = "prev"
            case 3 where scanner.tokenEquals(key, "run"):
                if isString {
                    let run = try scanner.string()
                    fields.run = (run.start - 1)..<(run.end + 1)
                    continue
                }
                fields.wrongType = "run"
            case 3 where scanner.tokenEquals(key, "seq"):
                if isInteger {
                    fields.seq = try scanner.integer()
                    continue
                }
                fields.wrongType = "seq"
            case 2 where scanner.tokenEquals(key, "ts"):
                if isString {
                    fields.ts = try scanner.string()
                    continue
                }
                fields.wrongType = "ts"
            case 1 where scanner.tokenEquals(key, "v"):
                if isInteger {
                    fields.v = try scanner.integer()
                    continue
                }
                fields.wrongType = "v"
            default:
                break
            }
            try scanner.skipValue(depth: 2)
        }
        try scanner.expectEnd()
        return fields
    }
}

/// The verifier's state between lines.
struct Verification {
    let operatorKey: OperatorPublicKey?
    var lineNumber = 0
    var records = 0
    var lastSeq: Int64 = 0
    var lastKindWasCheckpoint = false
    var previousLine: SHA256Digest?
    var runRaw: [UInt8] = []
    var runID: String?
    var runKey: Curve25519.Signing.PublicKey?
    var certifiedBy: String?
    /// The last two verified checkpoints (seq, line): a problem found on the line after a
    /// checkpoint can concern that checkpoint itself.
    var checkpoints: [(seq: Int64, line: Int)] = []
    var sealed = false
    var problem: VerifyReport.Problem?
    /// A line whose seq or prev does not follow: classified afterwards with the lines around it.
    var chainAnomaly: Int?
    /// A worker of the parallel verifier checking a slice that starts mid-file: its first line's
    /// link to the line before is checked when the slices are joined.
    var continuing = false
    var firstSeq: Int64?
    var firstPrev: [UInt8]?
    /// Whether `problem` was found before the chain check of its line (the order matters when
    /// slices are joined).
    var problemBeforeChain = false
    private var pastChain = false

    init(operatorKey: OperatorPublicKey?) {
        self.operatorKey = operatorKey
    }

    /// Checks one line; false stops the pass (a problem was found).
    mutating func check(_ line: UnsafeBufferPointer<UInt8>, terminated: Bool) -> Bool {
        lineNumber += 1
        pastChain = false
        guard terminated else {
            return fail(nil, .truncated, "the last line is incomplete (no newline): the log was cut off after seq \(lastSeq)")
        }
        let fields: RecordFields
        do {
            fields = try RecordFields.scan(line)
        } catch {
            return fail(nil, error.canonicalOnly ? .notCanonical : .malformed, error.description)
        }
        if let wrong = fields.wrongType { return fail(fields.seq, .malformed, "\"\(wrong)\" has the wrong type") }
        guard let v = fields.v, let seq = fields.seq, fields.ts != nil, let run = fields.run, let kind = fields.kind,
            let prev = fields.prev, let hash = fields.hash, let hashMember = fields.hashMember
        else {
            return fail(fields.seq, .malformed, "a common member (v, seq, ts, run, kind, prev, hash) is missing")
        }
        guard v == RecordFormat.version else { return fail(seq, .malformed, "unsupported format version \(v)") }
        // A prev or hash that matches a digest is 64 lowercase hex digits; check the form only
        // when one does not match, to tell a malformed record from an edited one.
        func wellFormed() -> Bool {
            prev.end - prev.start == 64 && hash.end - hash.start == 64 && !prev.escaped && !hash.escaped
                && Hex.isLowercase(line[prev.start..<prev.end], count: 64) && Hex.isLowercase(line[hash.start..<hash.end], count: 64)
        }

        // The record's own hash: its line without the hash member. The line's digest (the next
        // prev) starts with the same bytes: hash those once.
        let (before, after) = RecordFormat.hashedParts(line: 0..<line.count, member: hashMember)
        let raw = UnsafeRawBufferPointer(line)
        var hasher = SHA256()
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[before]))
        var whole = hasher
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[after]))
        guard hash.end - hash.start == 64, hasher.finalize().withUnsafeBytes({ Hex.matches($0, line, at: hash.start) }) else {
            if !wellFormed() { return fail(seq, .malformed, "prev and hash must be 64 lowercase hex digits") }
            return fail(seq, .edited, "the record's content does not match its hash")
        }

        let runBytes = UnsafeBufferPointer(rebasing: line[run])
        if runRaw.isEmpty {
            runRaw = Array(runBytes)
            runID = String(decoding: line[(run.lowerBound + 1)..<(run.upperBound - 1)], as: UTF8.self)
        } else if !Self.equal(runBytes, runRaw) {
            return fail(seq, .otherRun, "the record belongs to run \(String(decoding: runBytes, as: UTF8.self)), not \"\(runID ?? "")\"")
        }
        if sealed {
            return fail(seq, .inserted, "a record after the final checkpoint")
        }

        whole.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[before.upperBound...]))
        let lineDigest = whole.finalize()
        var firstRecord = false
        if let previousLine {
            guard seq == lastSeq &+ 1, prev.end - prev.start == 64,
                previousLine.withUnsafeBytes({ Hex.matches($0, line, at: prev.start) })
            else {
                if !wellFormed() { return fail(seq, .malformed, "prev and hash must be 64 lowercase hex digits") }
                chainAnomaly = lineNumber
                return false
            }
        } else if continuing {
            firstSeq = seq
            firstPrev = Array(line[prev.start..<prev.end])
        } else {
            firstRecord = true
            if seq != 1 {
                return fail(1, .missing, seq > 1 ? "the log starts at seq \(seq): records 1…\(seq - 1) are missing" : "the first record has seq \(seq)")
            }
            guard line[prev.start..<prev.end].elementsEqual(RecordFormat.zeroHash) else {
                return fail(seq, .malformed, "the first record's prev is not 64 zeros")
            }
        }

        pastChain = true
        let isCheckpoint = scannerEquals(line, kind, RecordFormat.checkpoint)
        if firstRecord {
            guard scannerEquals(line, kind, RecordFormat.sessionStart) else {
                return fail(seq, .noSessionStart, "the first record is not session.start")
            }
            guard checkSessionStart(line, seq: seq) else { return false }
        } else if isCheckpoint {
            guard checkCheckpoint(line, seq: seq, prev: prev, run: run) else { return false }
        }
        records += 1
        lastSeq = seq
        previousLine = lineDigest
        lastKindWasCheckpoint = isCheckpoint
        return true
    }

    private static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: [UInt8]) -> Bool {
        a.count == b.count
            && b.withUnsafeBufferPointer { b in
                guard let x = a.baseAddress, let y = b.baseAddress else { return a.count == 0 }
                return memcmp(x, y, a.count) == 0
            }
    }

    private func scannerEquals(_ line: UnsafeBufferPointer<UInt8>, _ token: StringToken, _ text: String) -> Bool {
        !token.escaped && line[token.start..<token.end].elementsEqual(text.utf8)
    }

    /// The run key, and with `--key` the operator's certificate of it.
    private mutating func checkSessionStart(_ line: UnsafeBufferPointer<UInt8>, seq: Int64) -> Bool {
        var scanner = CanonicalScanner(line)
        guard let record = try? scanner.document(), let keyHex = record["run_key"]?.stringValue,
            Hex.isLowercase(keyHex.utf8, count: 64), let keyBytes = Hex.decode(keyHex.utf8), let key = Ed25519.publicKey(keyBytes)
        else { return fail(seq, .malformed, "session.start has no valid run_key (64 hex digits)") }
        runKey = key
        guard let operatorKey else { return true }
        guard let cert = record["run_key_cert"]?.objectValue else {
            return fail(seq, .badCertificate, "the run key is not certified (session.start has no run_key_cert)")
        }
        guard let certKey = cert["operator_key"]?.stringValue, certKey == operatorKey.hex else {
            let other = cert["operator_key"]?.stringValue ?? "nothing"
            return fail(seq, .badCertificate, "the run key was certified by operator key \(other), not \(operatorKey.hex)")
        }
        guard let sigHex = cert["sig"]?.stringValue, let signature = Hex.decode(sigHex.utf8),
            let publicKey = Ed25519.publicKey(operatorKey.raw),
            Ed25519.isValid(
                signature: signature, message: RecordFormat.certificateMessage(runID: runID ?? "", runKeyHex: keyHex),
                key: publicKey)
        else {
            return fail(seq, .badCertificate, "run_key_cert's signature does not verify under the operator key")
        }
        certifiedBy = operatorKey.hex
        return true
    }

    private mutating func checkCheckpoint(_ line: UnsafeBufferPointer<UInt8>, seq: Int64, prev: StringToken, run: Range<Int>)
        -> Bool
    {
        var scanner = CanonicalScanner(line)
        guard let record = try? scanner.document(), let final = record["final"]?.boolValue,
            let sigHex = record["sig"]?.stringValue, Hex.isLowercase(sigHex.utf8, count: 128), let signature = Hex.decode(sigHex.utf8)
        else { return fail(seq, .malformed, "a checkpoint needs \"final\" (bool) and \"sig\" (128 hex digits)") }
        guard let runKey else { return fail(seq, .malformed, "no run key") }
        let message = RecordFormat.checkpointMessage(
            final: final, prevHex: UnsafeBufferPointer(rebasing: line[prev.start..<prev.end]),
            runJSON: UnsafeBufferPointer(rebasing: line[run]), seq: seq)
        guard Ed25519.isValid(signature: signature, message: message, key: runKey) else {
            return fail(
                seq, .badSignature,
                "the checkpoint's signature does not verify under the run key: records before it were rewritten, or it was forged")
        }
        checkpoints.append((seq, lineNumber))
        if checkpoints.count > 2 { checkpoints.removeFirst() }
        sealed = final
        return true
    }

    private mutating func fail(_ seq: Int64?, _ kind: VerifyReport.Kind, _ message: String) -> Bool {
        problem = VerifyReport.Problem(seq: seq, line: lineNumber, kind: kind, message: message)
        problemBeforeChain = !pastChain
        return false
    }

    func report() -> VerifyReport {
        if let problem {
            // The last checkpoint before the bad line: a problem can concern the line just after
            // a checkpoint, or the checkpoint itself.
            return VerifyReport(
                intact: false, records: min(records, max(problem.line - 1, 0)),
                lastCheckpointSeq: checkpoints.last { $0.line < problem.line }?.seq, sealed: false, problem: problem,
                runID: runID, certifiedBy: certifiedBy)
        }
        func atEnd(_ problem: VerifyReport.Problem?) -> VerifyReport {
            VerifyReport(
                intact: problem == nil, records: records, lastCheckpointSeq: checkpoints.last?.seq, sealed: problem == nil,
                problem: problem, runID: runID, certifiedBy: certifiedBy)
        }
        if records == 0 {
            return atEnd(VerifyReport.Problem(seq: nil, line: 1, kind: .noSessionStart, message: "the log is empty"))
        }
        if sealed { return atEnd(nil) }
        if lastKindWasCheckpoint {
            // A crash right after a checkpoint and a cut at that checkpoint look the same: the
            // prefix is intact and signed, the end is not sealed.
            return atEnd(VerifyReport.Problem(
                seq: lastSeq, line: lineNumber, kind: .unsealed,
                message: "unsealed: the log ends at checkpoint seq \(lastSeq), which is not final: agentrun did not finish the log (killed or crashed) or it was truncated after seq \(lastSeq); the records up to seq \(lastSeq) are intact"))
        }
        let signed = checkpoints.last
        let firstUnsigned = (signed?.seq ?? 0) + 1
        let message: String
        if let signed {
            message = "records \(firstUnsigned)…\(lastSeq) follow the last checkpoint (seq \(signed.seq)) and no final checkpoint seals them: agentrun did not finish the log (killed or crashed) or the log was truncated; the records up to seq \(signed.seq) are intact"
        } else {
            message = "no checkpoint: records 1…\(lastSeq) are unsigned (agentrun did not finish the log, or it was truncated)"
        }
        return atEnd(VerifyReport.Problem(seq: firstUnsigned, line: (signed?.line ?? 0) + 1, kind: .unsealed, message: message))
    }
}

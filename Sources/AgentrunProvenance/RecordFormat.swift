import Crypto

/// The fixed parts of format 1 that both the writer and the verifier must agree on byte for
/// byte: the common member names, the messages the signatures cover, and how a record's hash
/// excludes its own `hash` member.
enum RecordFormat {
    static let version: Int64 = 1
    static let logFileName = "log.jsonl"

    /// Members the writer fills; callers may not set them.
    static let commonKeys: Set<String> = ["v", "seq", "ts", "run", "kind", "prev", "hash"]

    static let sessionStart = "session.start"
    static let sessionEnd = "session.end"
    static let checkpoint = "checkpoint"

    /// `prev` of seq 1.
    static let zeroHash = [UInt8](repeating: UInt8(ascii: "0"), count: 64)

    /// What a checkpoint's `sig` covers: the canonical form of `{"final": final, "prev": prev,
    /// "run": run, "seq": seq, "type": "agentrun-checkpoint/1"}`. `final` is signed so a log cut
    /// after an ordinary checkpoint cannot be passed off as sealed by flipping the flag and
    /// re-hashing. `runJSON` is the run id already encoded as a JSON string (quotes included);
    /// `prevHex` is 64 hex digits.
    static func checkpointMessage(
        final: Bool, prevHex: UnsafeBufferPointer<UInt8>, runJSON: UnsafeBufferPointer<UInt8>, seq: Int64
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(170 + runJSON.count)
        out.append(contentsOf: #"{"final":"#.utf8)
        out.append(contentsOf: final ? CanonicalJSON.literalTrue : CanonicalJSON.literalFalse)
        out.append(contentsOf: #","prev":""#.utf8)
        out.append(contentsOf: prevHex)
        out.append(contentsOf: #"","run":"#.utf8)
        out.append(contentsOf: runJSON)
        out.append(contentsOf: #","seq":"#.utf8)
        CanonicalJSON.appendInt(seq, to: &out)
        out.append(contentsOf: #","type":"agentrun-checkpoint/1"}"#.utf8)
        return out
    }

    /// What `run_key_cert.sig` covers.
    static func certificateMessage(runID: String, runKeyHex: String) -> [UInt8] {
        CanonicalJSON.encode(["run": .string(runID), "run_key": .string(runKeyHex), "type": "agentrun-run-key/1"])
    }

    /// The parts of a canonical record line that its `hash` covers: the line without the `hash`
    /// member and the comma that separates it. `member` spans the member from its key's opening
    /// quote to its value's closing quote (inclusive start, exclusive end). The record always has
    /// members after `hash` (`kind`, `prev`, …), so a comma follows it when it comes first.
    static func hashedParts(line: Range<Int>, member: Range<Int>) -> (Range<Int>, Range<Int>) {
        if member.lowerBound == line.lowerBound + 1 {
            // `{"hash":"…",…}`: drop the member and the comma after it.
            return (line.lowerBound..<member.lowerBound, (member.upperBound + 1)..<line.upperBound)
        }
        // `{…,"hash":"…"…}`: drop the comma before it and the member.
        return (line.lowerBound..<(member.lowerBound - 1), member.upperBound..<line.upperBound)
    }
}

extension RecordFormat {
    /// SHA-256 of raw bytes (swift-crypto's `hash(bufferPointer:)` is not public).
    static func sha256(_ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return hasher.finalize()
    }
}

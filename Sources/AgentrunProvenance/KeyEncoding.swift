/// Reads Ed25519 keys in the forms operators have at hand: PEM from
/// `openssl genpkey -algorithm ed25519` (PKCS#8 private, SPKI public), or the 32 raw bytes as
/// hex or base64 on one line. The DER is fixed-shape for Ed25519, so a tiny TLV reader is enough.
enum KeyEncoding {
    enum Material {
        case seed([UInt8])
        case publicKey([UInt8])
    }

    /// The key in `text`; `what` names the source in errors.
    static func parse(_ text: String, what: String) throws(ProvenanceError) -> Material {
        let trimmed = text.trimmingWhitespace
        if trimmed.hasPrefix("-----BEGIN ") { return try pem(trimmed, what: what) }
        let lines = trimmed.split(whereSeparator: \.isNewline)
        guard lines.count == 1, let line = lines.first else {
            throw ProvenanceError(op: "read key", path: what, message: "expected PEM or one line of hex or base64")
        }
        let bytes = Array(line.utf8)
        if bytes.count == 64, let raw = Hex.decode(bytes, allowUppercase: true) { return .seed(raw) }
        if let raw = Base64.decode(bytes), raw.count == 32 { return .seed(raw) }
        throw ProvenanceError(
            op: "read key", path: what,
            message: "not an Ed25519 key: expected PEM, or 32 bytes as 64 hex digits or base64")
    }

    private static func pem(_ text: String, what: String) throws(ProvenanceError) -> Material {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace }
        guard let first = lines.first, let end = lines.firstIndex(where: { $0.hasPrefix("-----END ") }) else {
            throw ProvenanceError(op: "read key", path: what, message: "incomplete PEM (no END line)")
        }
        let label = first.dropFirst("-----BEGIN ".count).prefix { $0 != "-" }
        let body = lines[1..<end].filter { !$0.contains(":") }.joined()
        guard let der = Base64.decode(Array(body.utf8)) else {
            throw ProvenanceError(op: "read key", path: what, message: "PEM body is not base64")
        }
        switch label {
        case "PRIVATE KEY":
            guard let seed = pkcs8Seed(der) else {
                throw ProvenanceError(op: "read key", path: what, message: "not an Ed25519 PKCS#8 private key")
            }
            return .seed(seed)
        case "PUBLIC KEY":
            guard let key = spkiKey(der) else {
                throw ProvenanceError(op: "read key", path: what, message: "not an Ed25519 public key (SPKI)")
            }
            return .publicKey(key)
        case "ENCRYPTED PRIVATE KEY":
            throw ProvenanceError(
                op: "read key", path: what,
                message: "the key is encrypted; write an unencrypted copy with `openssl pkey -in KEY -out PLAIN`")
        default:
            throw ProvenanceError(
                op: "read key", path: what,
                message: "unsupported PEM type '\(label)' (expected PRIVATE KEY or PUBLIC KEY, Ed25519)")
        }
    }

    /// OID 1.3.101.112 (id-Ed25519) as a DER AlgorithmIdentifier without parameters.
    private static let ed25519Algorithm: [UInt8] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]

    /// OneAsymmetricKey (RFC 8410 §7): version 0 or 1, the algorithm, then an OCTET STRING holding
    /// the 32-byte seed as an OCTET STRING; attributes and the public key may follow.
    static func pkcs8Seed(_ der: [UInt8]) -> [UInt8]? {
        var outer = DER(der)
        guard let sequence = outer.next(tag: 0x30), outer.atEnd else { return nil }
        var fields = DER(sequence)
        guard let version = fields.next(tag: 0x02), version == [0] || version == [1],
            let algorithm = fields.nextRaw(tag: 0x30), algorithm == ed25519Algorithm,
            let wrapped = fields.next(tag: 0x04)
        else { return nil }
        var inner = DER(wrapped)
        guard let seed = inner.next(tag: 0x04), inner.atEnd, seed.count == 32 else { return nil }
        return seed
    }

    /// SubjectPublicKeyInfo: the algorithm, then a BIT STRING with no unused bits and 32 bytes.
    static func spkiKey(_ der: [UInt8]) -> [UInt8]? {
        var outer = DER(der)
        guard let sequence = outer.next(tag: 0x30), outer.atEnd else { return nil }
        var fields = DER(sequence)
        guard let algorithm = fields.nextRaw(tag: 0x30), algorithm == ed25519Algorithm,
            let bits = fields.next(tag: 0x03), fields.atEnd, bits.count == 33, bits[0] == 0
        else { return nil }
        return Array(bits[1...])
    }

    /// The DER encodings, for tests and for printing a public key as PEM.
    static func spki(_ key: [UInt8]) -> [UInt8] {
        [0x30, 0x2a] + ed25519Algorithm + [0x03, 0x21, 0x00] + key
    }

    static func pkcs8(seed: [UInt8]) -> [UInt8] {
        [0x30, 0x2e, 0x02, 0x01, 0x00] + ed25519Algorithm + [0x04, 0x22, 0x04, 0x20] + seed
    }
}

/// Reads definite-length DER TLVs in sequence.
private struct DER {
    let bytes: [UInt8]
    var pos = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { pos == bytes.count }

    /// The contents of the next element if it has `tag`.
    mutating func next(tag: UInt8) -> [UInt8]? {
        guard let (start, contents) = element(tag: tag) else { return nil }
        _ = start
        return Array(bytes[contents])
    }

    /// The whole next element (tag and length included) if it has `tag`.
    mutating func nextRaw(tag: UInt8) -> [UInt8]? {
        guard let (start, contents) = element(tag: tag) else { return nil }
        return Array(bytes[start..<contents.upperBound])
    }

    private mutating func element(tag: UInt8) -> (Int, Range<Int>)? {
        let start = pos
        guard pos + 2 <= bytes.count, bytes[pos] == tag else { return nil }
        var length = Int(bytes[pos + 1])
        pos += 2
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard count >= 1, count <= 2, pos + count <= bytes.count else { return nil }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[pos])
                pos += 1
            }
        }
        guard pos + length <= bytes.count else { return nil }
        let contents = pos..<(pos + length)
        pos += length
        return (start, contents)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

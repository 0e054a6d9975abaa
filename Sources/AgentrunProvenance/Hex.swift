/// Lowercase hex (the log's hashes, keys and signatures) and base64 (key files), without
/// Foundation. The writer hex-encodes two digests per record, the verifier compares two.
enum Hex {
    private static let table: StaticString = "0123456789abcdef"

    /// The hex digit of a nibble (0...15).
    @inline(__always)
    static func digit(_ nibble: UInt8) -> UInt8 { table.utf8Start[Int(nibble & 0x0f)] }

    /// Appends the lowercase hex of `bytes` to `out`.
    static func append<S: Sequence<UInt8>>(_ bytes: S, to out: inout [UInt8]) {
        for byte in bytes {
            out.append(digit(byte >> 4))
            out.append(digit(byte))
        }
    }

    static func encode<S: Sequence<UInt8>>(_ bytes: S) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        append(bytes, to: &out)
        return out
    }

    static func string<S: Sequence<UInt8>>(_ bytes: S) -> String {
        String(decoding: encode(bytes), as: UTF8.self)
    }

    /// Appends the lowercase hex of raw bytes (digests).
    static func append(raw bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count * 2) { text in
            write(raw: bytes, into: text, at: 0)
            out.append(contentsOf: UnsafeBufferPointer(text))
        }
    }

    /// Writes the lowercase hex of raw bytes into `target` from `offset` on.
    @inline(__always)
    static func write(raw bytes: UnsafeRawBufferPointer, into target: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var index = offset
        for byte in bytes {
            target[index] = digit(byte >> 4)
            target[index + 1] = digit(byte)
            index += 2
        }
    }

    /// The value of one hex digit; uppercase only when `allowUppercase` (key files, not logs).
    static func nibble(_ c: UInt8, allowUppercase: Bool) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F") where allowUppercase: return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Decodes hex text; nil when it has an odd length or a non-hex character.
    static func decode<C: Collection<UInt8>>(_ text: C, allowUppercase: Bool = false) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var iterator = text.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = nibble(high, allowUppercase: allowUppercase), let l = nibble(low, allowUppercase: allowUppercase)
            else { return nil }
            out.append(h << 4 | l)
        }
        return out
    }

    /// True when `text` is exactly `count` lowercase hex digits (hashes in the log).
    static func isLowercase<C: Collection<UInt8>>(_ text: C, count: Int) -> Bool {
        text.count == count && text.allSatisfy { nibble($0, allowUppercase: false) != nil }
    }
}

enum Base64 {
    /// Decodes standard base64 (RFC 4648 §4) with optional padding; whitespace is the caller's
    /// business. Nil on any other character or a bad length.
    static func decode<C: Collection<UInt8>>(_ text: C) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.count)
        var padding = 0
        for c in text {
            if c == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let v = value(c) else { return nil }
            values.append(v)
        }
        guard padding <= 2, values.count % 4 != 1 else { return nil }
        if padding > 0, (values.count + padding) % 4 != 0 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 1 < values.count {
            let a = values[index], b = values[index + 1]
            out.append(a << 2 | b >> 4)
            if index + 2 < values.count {
                let c = values[index + 2]
                out.append((b & 0x0f) << 4 | c >> 2)
                if index + 3 < values.count { out.append((c & 0x03) << 6 | values[index + 3]) }
            }
            index += 4
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}

extension Hex {
    /// True when `text[offset..<offset + 2 * digest count]` is the lowercase hex of `digest`
    /// (compares in place: no allocation on the verifier's hot path).
    static func matches(_ digest: UnsafeRawBufferPointer, _ text: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        guard offset >= 0, offset + 2 * digest.count <= text.count else { return false }
        var index = offset
        for byte in digest {
            guard text[index] == digit(byte >> 4), text[index + 1] == digit(byte) else { return false }
            index += 2
        }
        return true
    }
}

extension Base64 {
    /// Standard base64 with padding.
    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let a = bytes[i]
            let b = i + 1 < bytes.count ? bytes[i + 1] : 0
            let c = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(a >> 2)])
            out.append(alphabet[Int((a & 0x03) << 4 | b >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b & 0x0f) << 2 | c >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(c & 0x3f)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

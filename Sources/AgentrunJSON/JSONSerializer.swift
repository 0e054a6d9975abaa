/// JSON text out: compact and deterministic for machines (records, responses, forwarded
/// arguments), indented for humans.
///
/// Deterministic means: object keys sorted by their UTF-8 bytes, only the escapes JSON requires
/// (`"`, `\`, and control characters as `\n \r \t \b \f` or `\u00xx`), `/` and non-ASCII kept
/// as is, numbers as their exact text.
extension JSON {
    /// Compact serialization, keys sorted by UTF-8 bytes, `/` not escaped, non-ASCII kept as UTF-8.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        JSONTextWriter.write(self, into: &out, indent: nil, level: 0)
        return out
    }

    public var serializedString: String { String(decoding: serialized(), as: UTF8.self) }

    /// Appends the compact serialization to `out` (responses built piece by piece).
    public func serialize(into out: inout [UInt8]) {
        JSONTextWriter.write(self, into: &out, indent: nil, level: 0)
    }

    /// Appends `string` as a JSON string literal, escaped as `serialized()` does.
    public static func appendString(_ string: String, to out: inout [UInt8]) {
        JSONTextWriter.writeString(string, into: &out)
    }

    /// Multi-line text for people (`indent` spaces per level, `"key": value`), keys sorted as in `serialized()`.
    public func prettyString(indent: Int = 2) -> String {
        var out: [UInt8] = []
        JSONTextWriter.write(self, into: &out, indent: max(0, indent), level: 0)
        return String(decoding: out, as: UTF8.self)
    }
}

enum JSONTextWriter {
    static func write(_ value: JSON, into out: inout [UInt8], indent: Int?, level: Int) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.text.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            if elements.isEmpty {
                out.append(UInt8(ascii: "]"))
                return
            }
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, indent: indent, level: level + 1)
                write(element, into: &out, indent: indent, level: level + 1)
            }
            newline(into: &out, indent: indent, level: level)
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            if fields.isEmpty {
                out.append(UInt8(ascii: "}"))
                return
            }
            let sorted = fields.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (i, field) in sorted.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, indent: indent, level: level + 1)
                writeString(field.key, into: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(UInt8(ascii: " ")) }
                write(field.value, into: &out, indent: indent, level: level + 1)
            }
            newline(into: &out, indent: indent, level: level)
            out.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always) private static func newline(into out: inout [UInt8], indent: Int?, level: Int) {
        guard let indent else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
    }

    static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            // Copy runs of bytes that need no escape in one go; escape the rest.
            var runStart = 0
            for i in 0..<bytes.count {
                let byte = bytes[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                runStart = i + 1
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    out.append(UInt8(ascii: "u"))
                    out.append(UInt8(ascii: "0"))
                    out.append(UInt8(ascii: "0"))
                    out.append(hexDigit(byte >> 4))
                    out.append(hexDigit(byte & 0xF))
                }
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always) private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

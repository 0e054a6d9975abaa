#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a text is not canonical JSON. `canonicalOnly` is true when the text is valid JSON that is
/// merely not in the canonical form (whitespace, key order, floats, escape spelling), so the
/// verifier can say "not canonical" rather than "malformed".
struct ScanError: Error, CustomStringConvertible {
    var canonicalOnly: Bool
    var message: String
    var offset: Int

    var description: String { "byte \(offset + 1): \(message)" }
}

/// A string token: where its contents lie (between the quotes) and whether they hold escapes.
struct StringToken {
    var start: Int
    var end: Int
    var escaped: Bool
}

/// The strict reader of the canonical form: one pass over the bytes that both validates every
/// rule and, when asked, builds the value. The verifier uses `members` directly to validate a
/// record and pick out its common fields without building dictionaries (the hot path).
struct CanonicalScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The whole text as one value; nothing may follow it.
    mutating func document() throws(ScanError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xef, bytes[1] == 0xbb, bytes[2] == 0xbf {
            throw ScanError(canonicalOnly: true, message: "byte-order mark", offset: 0)
        }
        let value = try value(depth: 1)
        try expectEnd()
        return value
    }

    mutating func expectEnd() throws(ScanError) {
        guard pos < bytes.count else { return }
        if isWhitespace(bytes[pos]) { throw canonical("whitespace outside strings") }
        throw malformed("unexpected bytes after the value")
    }

    // MARK: Values

    mutating func value(depth: Int) throws(ScanError) -> JSONValue {
        guard pos < bytes.count else { throw malformed("unexpected end of text") }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            var object = try openContainer(depth: depth)
            while let key = try nextKey(&object) {
                let name = text(key)
                if members.updateValue(try value(depth: depth + 1), forKey: name) != nil {
                    // Distinct byte sequences that Swift's String considers equal (NFC vs NFD).
                    throw ScanError(
                        canonicalOnly: false, message: "keys equal as Unicode strings cannot be represented",
                        offset: key.start)
                }
            }
            return .object(members)
        case UInt8(ascii: "["):
            var elements: [JSONValue] = []
            var array = try openContainer(depth: depth)
            while try nextElement(&array) { elements.append(try value(depth: depth + 1)) }
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(text(try string()))
        default:
            return try scalar()
        }
    }

    /// Validates one value without building it.
    mutating func skipValue(depth: Int) throws(ScanError) {
        guard pos < bytes.count else { throw malformed("unexpected end of text") }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            var object = try openContainer(depth: depth)
            while try nextKey(&object) != nil { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            var array = try openContainer(depth: depth)
            while try nextElement(&array) { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            _ = try string()
        default:
            _ = try scalar()
        }
    }

    /// Numbers and literals.
    private mutating func scalar() throws(ScanError) -> JSONValue {
        let c = bytes[pos]
        switch c {
        case UInt8(ascii: "t"): try literal(CanonicalJSON.literalTrue); return .bool(true)
        case UInt8(ascii: "f"): try literal(CanonicalJSON.literalFalse); return .bool(false)
        case UInt8(ascii: "n"): try literal(CanonicalJSON.literalNull); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .int(try integer())
        default:
            if isWhitespace(c) { throw canonical("whitespace outside strings") }
            throw malformed("unexpected character")
        }
    }

    private mutating func literal(_ word: [UInt8]) throws(ScanError) {
        guard bytes.count - pos >= word.count, word.indices.allSatisfy({ bytes[pos + $0] == word[$0] }) else {
            throw malformed("invalid literal")
        }
        pos += word.count
    }

    /// `-?(0|[1-9][0-9]*)` within the 64-bit range; `-0`, leading zeros, fractions and exponents
    /// are refused.
    mutating func integer() throws(ScanError) -> Int64 {
        let start = pos
        let negative = bytes[pos] == UInt8(ascii: "-")
        if negative { pos += 1 }
        guard pos < bytes.count, isDigit(bytes[pos]) else { throw malformed("invalid number") }
        if bytes[pos] == UInt8(ascii: "0"), pos + 1 < bytes.count, isDigit(bytes[pos + 1]) {
            throw canonical("number with a leading zero")
        }
        var magnitude: UInt64 = 0
        while pos < bytes.count, isDigit(bytes[pos]) {
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(bytes[pos] - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw ScanError(canonicalOnly: false, message: "integer out of the 64-bit range", offset: start) }
            magnitude = sum
            pos += 1
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") || bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            throw canonical("fraction or exponent (numbers are integers)")
        }
        if negative {
            if magnitude == 0 { throw ScanError(canonicalOnly: true, message: "negative zero", offset: start) }
            guard magnitude <= UInt64(Int64.max) + 1 else {
                throw ScanError(canonicalOnly: false, message: "integer out of the 64-bit range", offset: start)
            }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else {
            throw ScanError(canonicalOnly: false, message: "integer out of the 64-bit range", offset: start)
        }
        return Int64(magnitude)
    }

    // MARK: Containers

    /// Where a walk through an object or array is.
    struct Container {
        var started = false
        var previousKey: StringToken?
    }

    /// Enters the object or array at `pos`. Then call `nextKey` (objects) or `nextElement`
    /// (arrays) until it reports the end, consuming each value in between. (Iteration rather
    /// than callbacks: the verifier's hot path then has no captured state to check.)
    mutating func openContainer(depth: Int) throws(ScanError) -> Container {
        guard depth <= CanonicalJSON.maxDepth else {
            throw malformed("nested deeper than \(CanonicalJSON.maxDepth) levels")
        }
        pos += 1
        return Container()
    }

    /// The next member's key, with `pos` on its value; nil after the closing brace. Checks the
    /// separators and that keys strictly increase in UTF-8 byte order (so none repeats).
    mutating func nextKey(_ object: inout Container) throws(ScanError) -> StringToken? {
        if object.started {
            switch try peek() {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "}"): pos += 1; return nil
            default: throw malformed("expected ',' or '}'")
            }
        } else {
            object.started = true
            if try peek() == UInt8(ascii: "}") {
                pos += 1
                return nil
            }
        }
        guard try peek() == UInt8(ascii: "\"") else { throw malformed("expected a key") }
        let key = try string()
        if let previous = object.previousKey {
            let order = compare(previous, key)
            if order == 0 { throw ScanError(canonicalOnly: true, message: "duplicate key", offset: key.start - 1) }
            if order > 0 { throw ScanError(canonicalOnly: true, message: "keys not sorted", offset: key.start - 1) }
        }
        object.previousKey = key
        guard try peek() == UInt8(ascii: ":") else { throw malformed("expected ':'") }
        pos += 1
        return key
    }

    /// True with `pos` on the next element; false after the closing bracket.
    mutating func nextElement(_ array: inout Container) throws(ScanError) -> Bool {
        if array.started {
            switch try peek() {
            case UInt8(ascii: ","): pos += 1; return true
            case UInt8(ascii: "]"): pos += 1; return false
            default: throw malformed("expected ',' or ']'")
            }
        }
        array.started = true
        if try peek() == UInt8(ascii: "]") {
            pos += 1
            return false
        }
        return true
    }

    /// The next byte, refusing whitespace (canonical form has none outside strings).
    @inline(__always)
    private func peek() throws(ScanError) -> UInt8 {
        guard pos < bytes.count else { throw malformed("unexpected end of text") }
        let c = bytes[pos]
        if isWhitespace(c) { throw canonical("whitespace outside strings") }
        return c
    }

    // MARK: Strings

    /// Validates a string at `pos` (on its opening quote): canonical escapes only, no raw
    /// control characters, well-formed UTF-8 (no overlong forms, surrogates or values past
    /// U+10FFFF).
    mutating func string() throws(ScanError) -> StringToken {
        pos += 1
        let start = pos
        var escaped = false
        let count = bytes.count
        while pos < count {
            pos = CanonicalJSON.plainRun(bytes, from: pos, stopAtNonASCII: true)
            guard pos < count else { break }
            let c = bytes[pos]
            if c >= 0x20 && c < 0x80 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") {
                pos += 1
                continue
            }
            switch c {
            case UInt8(ascii: "\""):
                let token = StringToken(start: start, end: pos, escaped: escaped)
                pos += 1
                return token
            case UInt8(ascii: "\\"):
                escaped = true
                try escape()
            case 0..<0x20:
                throw malformed("raw control character in a string")
            default:
                try utf8Sequence()
            }
        }
        throw malformed("unterminated string")
    }

    private mutating func escape() throws(ScanError) {
        guard pos + 1 < bytes.count else { throw malformed("unterminated string") }
        switch bytes[pos + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
            UInt8(ascii: "r"), UInt8(ascii: "t"):
            pos += 2
        case UInt8(ascii: "/"):
            throw canonical("escaped '/' (written raw in canonical form)")
        case UInt8(ascii: "u"):
            guard pos + 6 <= bytes.count else { throw malformed("short \\u escape") }
            var value: UInt32 = 0
            var uppercase = false
            for offset in 2..<6 {
                let digit = bytes[pos + offset]
                guard let nibble = Hex.nibble(digit, allowUppercase: true) else { throw malformed("invalid \\u escape") }
                if digit >= UInt8(ascii: "A") && digit <= UInt8(ascii: "F") { uppercase = true }
                value = value << 4 | UInt32(nibble)
            }
            if uppercase { throw canonical("uppercase hex in a \\u escape") }
            switch value {
            case 0x08, 0x09, 0x0a, 0x0c, 0x0d: throw canonical("\\u escape where a short escape exists")
            case 0..<0x20: pos += 6
            default: throw canonical("\\u escape of a character written raw in canonical form")
            }
        default:
            throw malformed("invalid escape")
        }
    }

    private mutating func utf8Sequence() throws(ScanError) {
        let lead = bytes[pos]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xbf
        switch lead {
        case 0xc2...0xdf: length = 2
        case 0xe0: length = 3; low = 0xa0
        case 0xe1...0xec, 0xee...0xef: length = 3
        case 0xed: length = 3; high = 0x9f
        case 0xf0: length = 4; low = 0x90
        case 0xf1...0xf3: length = 4
        case 0xf4: length = 4; high = 0x8f
        default: throw malformed("invalid UTF-8")
        }
        guard pos + length <= bytes.count else { throw malformed("invalid UTF-8") }
        let second = bytes[pos + 1]
        guard second >= low && second <= high else { throw malformed("invalid UTF-8") }
        for offset in 2..<max(length, 2) where bytes[pos + offset] & 0xc0 != 0x80 {
            throw malformed("invalid UTF-8")
        }
        pos += length
    }

    /// The string's contents as Swift text (already validated).
    func text(_ token: StringToken) -> String {
        let raw = UnsafeBufferPointer(rebasing: bytes[token.start..<token.end])
        if !token.escaped { return String(decoding: raw, as: UTF8.self) }
        return String(decoding: unescaped(token), as: UTF8.self)
    }

    /// The UTF-8 bytes a token stands for.
    func unescaped(_ token: StringToken) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.end - token.start)
        var index = token.start
        while index < token.end {
            let c = bytes[index]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                index += 1
                continue
            }
            switch bytes[index + 1] {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                let high = Hex.nibble(bytes[index + 4], allowUppercase: false) ?? 0
                let low = Hex.nibble(bytes[index + 5], allowUppercase: false) ?? 0
                out.append(high << 4 | low)
                index += 6
                continue
            default: out.append(bytes[index + 1])
            }
            index += 2
        }
        return out
    }

    /// Orders two keys by the UTF-8 bytes they stand for.
    private func compare(_ a: StringToken, _ b: StringToken) -> Int {
        if !a.escaped && !b.escaped {
            let n = min(a.end - a.start, b.end - b.start)
            for offset in 0..<n {
                let x = bytes[a.start + offset]
                let y = bytes[b.start + offset]
                if x != y { return x < y ? -1 : 1 }
            }
            return (a.end - a.start) - (b.end - b.start)
        }
        let x = unescaped(a)
        let y = unescaped(b)
        if x.lexicographicallyPrecedes(y) { return -1 }
        return x == y ? 0 : 1
    }

    /// True when the token's raw bytes equal `name` (for keys without escapes).
    @inline(__always)
    func tokenEquals(_ token: StringToken, _ name: StaticString) -> Bool {
        let length = token.end - token.start
        guard !token.escaped, length == name.utf8CodeUnitCount else { return false }
        let text = name.utf8Start
        for offset in 0..<length where bytes[token.start + offset] != text[offset] { return false }
        return true
    }

    // MARK: Errors

    private func malformed(_ message: String) -> ScanError {
        ScanError(canonicalOnly: false, message: message, offset: pos)
    }

    private func canonical(_ message: String) -> ScanError {
        ScanError(canonicalOnly: true, message: message, offset: pos)
    }

    @inline(__always)
    private func isWhitespace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d
    }

    @inline(__always)
    private func isDigit(_ c: UInt8) -> Bool {
        c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
    }
}

/// Strict RFC 8259 parsing with limits.
///
/// The broker parses every request body an untrusted agent sends, and a policy decides on what
/// this parser returns; anything a lenient parser would "repair" could make the policy and the
/// backend see different values. So the grammar is exactly RFC 8259 over UTF-8: no BOM, no
/// comments, no trailing commas, no NaN/Infinity, no leading zeros or `+`, no invalid UTF-8
/// (overlongs, encoded surrogates, > U+10FFFF), no unpaired `\u` surrogates, no raw control
/// characters in strings, no duplicate keys (compared after unescaping), nothing after the value.
public struct JSONParseLimits: Sendable {
    /// Maximum nesting of arrays and objects (the parser recurses once per level).
    public var maxDepth: Int
    /// Maximum length in bytes of any one string (after unescaping) and of any one number's text.
    public var maxStringBytes: Int
    public init(maxDepth: Int = 64, maxStringBytes: Int = 16 << 20) {
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
    }
}

/// Where and why a document is not acceptable JSON.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset of the problem in the input.
    public var offset: Int
    public var message: String
    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

extension JSON {
    /// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
    public static func parse(_ bytes: some Collection<UInt8>, limits: JSONParseLimits = .init()) throws(JSONParseError) -> JSON {
        let contiguous: Result<JSON, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            var parser = JSONByteParser(buffer, limits: limits)
            return Result { () throws(JSONParseError) -> JSON in try parser.parseDocument() }
        }
        if let contiguous { return try contiguous.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer throws(JSONParseError) -> JSON in
            var parser = JSONByteParser(buffer, limits: limits)
            return try parser.parseDocument()
        }
    }

    public static func parse(_ text: String, limits: JSONParseLimits = .init()) throws(JSONParseError) -> JSON {
        var text = text
        let contiguous: Result<JSON, JSONParseError> = text.withUTF8 { buffer in
            var parser = JSONByteParser(buffer, limits: limits)
            return Result { () throws(JSONParseError) -> JSON in try parser.parseDocument() }
        }
        return try contiguous.get()
    }
}

/// A single-pass recursive-descent parser over a byte buffer that outlives it.
struct JSONByteParser: ~Copyable {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let limits: JSONParseLimits
    private var position = 0
    private var depth = 0
    /// Reused for strings that contain escapes.
    private var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>, limits: JSONParseLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func parseDocument() throws(JSONParseError) -> JSON {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw fail(at: 0, "a byte order mark is not allowed")
        }
        skipWhitespace()
        guard position < bytes.count else { throw fail("empty document: expected a value") }
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected \(describeByte(at: position)) after the value") }
        return value
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONParseError) -> JSON {
        guard position < bytes.count else { throw fail("unexpected end of input: expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "+"): throw fail("a number may not start with '+'")
        case UInt8(ascii: "N"), UInt8(ascii: "I"): throw fail("NaN and Infinity are not JSON")
        case UInt8(ascii: "/"): throw fail("comments are not JSON")
        case UInt8(ascii: "'"): throw fail("strings must use double quotes")
        default: throw fail("unexpected \(describeByte(at: position)): expected a value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let start = position
        let count = literal.utf8CodeUnitCount
        let ok = literal.withUTF8Buffer { expected in
            guard bytes.count - start >= count else { return false }
            for i in 0..<count where bytes[start + i] != expected[i] { return false }
            return true
        }
        guard ok else { throw fail(at: start, "invalid literal: expected '\(literal)'") }
        position += count
    }

    private mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        if depth > limits.maxDepth { throw fail("nesting deeper than \(limits.maxDepth) levels") }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSON {
        try enterContainer()
        position += 1  // [
        var elements: [JSON] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                throw fail("trailing comma in array")
            }
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw fail("unexpected end of input: expected ',' or ']'") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return .array(elements)
            default: throw fail("unexpected \(describeByte(at: position)) in array: expected ',' or ']'")
            }
        }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSON {
        try enterContainer()
        position += 1  // {
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object([:])
        }
        // Room for a typical tool call's arguments without rehashing as the object grows.
        var fields: [String: JSON] = Dictionary(minimumCapacity: 8)
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw fail("unexpected end of input: expected a key") }
            guard bytes[position] == UInt8(ascii: "\"") else {
                if bytes[position] == UInt8(ascii: "}") { throw fail("trailing comma in object") }
                throw fail("unexpected \(describeByte(at: position)): object keys must be strings")
            }
            let keyOffset = position
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                throw fail("expected ':' after an object key")
            }
            position += 1
            skipWhitespace()
            let value = try parseValue()
            // Swift compares strings by canonical equivalence, so two keys that differ only in
            // Unicode normalisation are duplicates here too: both cannot be kept, so reject.
            if fields.updateValue(value, forKey: key) != nil {
                throw fail(at: keyOffset, "duplicate object key \"\(Self.excerpt(key))\"")
            }
            skipWhitespace()
            guard position < bytes.count else { throw fail("unexpected end of input: expected ',' or '}'") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return .object(fields)
            default: throw fail("unexpected \(describeByte(at: position)) in object: expected ',' or '}'")
            }
        }
    }

    // MARK: - Numbers

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as its text.
    private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = position
        if bytes[position] == UInt8(ascii: "-") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw fail("a '-' must be followed by a digit")
            }
        }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) { throw fail(at: position - 1, "leading zeros are not allowed") }
        } else {
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("a '.' must be followed by a digit") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("an exponent must have digits") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        guard position - start <= limits.maxStringBytes else {
            throw fail(at: start, "number longer than \(limits.maxStringBytes) bytes")
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        return JSONNumber(validatedText: text)
    }

    @inline(__always) private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    // MARK: - Strings

    /// Parses a string starting at its opening quote. Strings without escapes are decoded
    /// straight from the input; the others are built in `scratch`.
    private mutating func parseString() throws(JSONParseError) -> String {
        let open = position
        position += 1
        let start = position
        // Fast path: printable ASCII up to the closing quote.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            position += 1
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
            try checkStringLength(position - start, open: open)
            let string = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            position += 1
            return string
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while true {
            guard position < bytes.count else { throw fail(at: open, "unterminated string") }
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                try checkStringLength(scratch.count, open: open)
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape()
            case 0x00..<0x20:
                throw fail("control character \(Self.hex(byte)) in a string must be escaped")
            case 0x20..<0x80:
                scratch.append(byte)
                position += 1
            default:
                try copyUTF8Sequence()
            }
            if scratch.count > limits.maxStringBytes { throw fail(at: open, "string longer than \(limits.maxStringBytes) bytes") }
        }
    }

    private func checkStringLength(_ count: Int, open: Int) throws(JSONParseError) {
        if count > limits.maxStringBytes { throw fail(at: open, "string longer than \(limits.maxStringBytes) bytes") }
    }

    /// Validates one multi-byte UTF-8 sequence (Unicode Table 3-7: no overlongs, no encoded
    /// surrogates, nothing above U+10FFFF) and appends it to `scratch`.
    private mutating func copyUTF8Sequence() throws(JSONParseError) {
        let lead = bytes[position]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F
        case 0xC0, 0xC1: throw fail("invalid UTF-8: overlong encoding")
        case 0x80...0xBF: throw fail("invalid UTF-8: unexpected continuation byte")
        default: throw fail("invalid UTF-8: byte \(Self.hex(lead)) cannot start a character")
        }
        guard bytes.count - position >= length else { throw fail("invalid UTF-8: truncated sequence") }
        let second = bytes[position + 1]
        guard secondRange.contains(second) else {
            if lead == 0xED, second >= 0xA0, second <= 0xBF { throw fail("invalid UTF-8: encoded surrogate") }
            if (lead == 0xE0 || lead == 0xF0), second >= 0x80, second <= 0xBF { throw fail("invalid UTF-8: overlong encoding") }
            if lead == 0xF4, second >= 0x90, second <= 0xBF { throw fail("invalid UTF-8: code point above U+10FFFF") }
            throw fail(at: position + 1, "invalid UTF-8: bad continuation byte")
        }
        for i in 2..<length {
            guard bytes[position + i] & 0xC0 == 0x80 else { throw fail(at: position + i, "invalid UTF-8: bad continuation byte") }
        }
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<(position + length)]))
        position += length
    }

    /// Decodes one escape (at the backslash) into `scratch`; `\u` surrogates must pair.
    private mutating func parseEscape() throws(JSONParseError) {
        let escapeStart = position
        position += 1
        guard position < bytes.count else { throw fail(at: escapeStart, "unterminated escape") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""): scratch.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): scratch.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): scratch.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4(escapeStart: escapeStart)
            if scalar >= 0xDC00, scalar <= 0xDFFF {
                throw fail(at: escapeStart, "unpaired low surrogate \\u\(Self.hex16(scalar))")
            }
            if scalar >= 0xD800, scalar <= 0xDBFF {
                let lowStart = position
                guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { throw fail(at: escapeStart, "unpaired high surrogate \\u\(Self.hex16(scalar))") }
                position += 2
                let low = try parseHex4(escapeStart: lowStart)
                guard low >= 0xDC00, low <= 0xDFFF else {
                    throw fail(at: escapeStart, "unpaired high surrogate \\u\(Self.hex16(scalar))")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            appendUTF8(scalar)
        default:
            throw fail(at: escapeStart, "invalid escape \(describeByte(at: position - 1)) (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
        }
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw fail(at: escapeStart, "\\u needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail(at: escapeStart, "\\u needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    // MARK: - Helpers

    @inline(__always) private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private func fail(_ message: String) -> JSONParseError { fail(at: position, message) }
    private func fail(at offset: Int, _ message: String) -> JSONParseError { JSONParseError(offset: offset, message: message) }

    private func describeByte(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        let byte = bytes[offset]
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte \(Self.hex(byte))"
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }

    static func hex16(_ value: UInt32) -> String {
        let digits = Array("0123456789ABCDEF")
        return (0..<4).reversed().map { String(digits[Int(value >> (UInt32($0) * 4) & 0xF)]) }.joined()
    }

    /// At most 40 characters of a key, for messages.
    static func excerpt(_ key: String) -> String {
        key.count <= 40 ? key : String(key.prefix(40)) + "…"
    }
}

extension JSONNumber {
    /// The number when `text` is exactly RFC 8259 number syntax (no whitespace around it), else
    /// nil: the checked counterpart of `init(validatedText:)` for text that did not come from the parser.
    public init?(parsing text: String) {
        guard case .number(let number)? = try? JSON.parse(text), number.text == text else { return nil }
        self = number
    }
}

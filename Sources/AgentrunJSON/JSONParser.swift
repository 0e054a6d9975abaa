/// Strict RFC 8259 parsing with limits (TO BE IMPLEMENTED: see the task in the helper's prompt).
public struct JSONParseLimits: Sendable {
    /// Maximum nesting of arrays and objects.
    public var maxDepth: Int
    /// Maximum length in bytes of any one string (after unescaping).
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
        throw JSONParseError(offset: 0, message: "not implemented")
    }

    public static func parse(_ text: String, limits: JSONParseLimits = .init()) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8), limits: limits)
    }

    /// Compact serialization, keys sorted by UTF-8 bytes, `/` not escaped, non-ASCII kept as UTF-8.
    public func serialized() -> [UInt8] { [] }
    public var serializedString: String { String(decoding: serialized(), as: UTF8.self) }
}

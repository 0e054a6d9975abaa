/// A JSON value as the broker receives it from an agent and as profiles write tool schemas.
///
/// Unlike the provenance log's integer-only `JSONValue`, requests carry any JSON number, so a
/// number keeps the exact text it was written with (`JSONNumber`): an argument is matched,
/// forwarded and recorded without a round trip through `Double`.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSON])
    /// Keys are unique: the parser rejects duplicates (a policy must never see a different
    /// value than the backend that runs the call). Serialization sorts keys.
    case object([String: JSON])
}

/// A JSON number kept as its (validated) source text.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number's text, valid RFC 8259 number syntax (e.g. `-12`, `3.5e-2`).
    public let text: String

    /// `text` must be valid JSON number syntax; the parser and the initialisers below guarantee it.
    public init(validatedText text: String) { self.text = text }
    public init(_ value: Int64) { self.text = String(value) }
    public init(_ value: Int) { self.text = String(value) }

    /// The value when it is an integer that fits Int64 (`1e3` and `2.0` are not: only plain integer text).
    public var int64: Int64? { Int64(text) }
    /// The value as a Double (may round).
    public var double: Double { Double(text) ?? .nan }
    public var description: String { text }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSON {
    public subscript(key: String) -> JSON? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var numberValue: JSONNumber? {
        if case .number(let n) = self { return n }
        return nil
    }
    public var int64Value: Int64? { numberValue?.int64 }
    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var objectValue: [String: JSON]? {
        if case .object(let o) = self { return o }
        return nil
    }
    /// `"object"`, `"array"`, `"string"`, `"number"`, `"boolean"` or `"null"` (for messages).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// An RFC 6901 JSON Pointer: how a profile's argument rules name a value inside a tool call's
/// arguments (`/path`, `/options/0`, `/a~1b` for the key `a/b`).
///
/// Resolution is exact: object keys match byte for byte (not by Swift's canonical string
/// equivalence), array indices are plain decimals without leading zeros, and `-` (the element
/// after the last) resolves to nothing.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The unescaped reference tokens; empty for the whole document.
    public let tokens: [String]

    public init(tokens: [String]) { self.tokens = tokens }

    /// Parses the pointer's string form: `""` or `/`-separated tokens with `~0` (for `~`) and `~1` (for `/`).
    public init(_ text: String) throws(JSONPointerError) {
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.utf8.first == UInt8(ascii: "/") else {
            throw JSONPointerError(pointer: text, message: "must be empty or start with '/'")
        }
        var result: [String] = []
        var current: [UInt8] = []
        var bytes = Array(text.utf8).dropFirst().makeIterator()
        while let byte = bytes.next() {
            switch byte {
            case UInt8(ascii: "/"):
                result.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            case UInt8(ascii: "~"):
                switch bytes.next() {
                case UInt8(ascii: "0"): current.append(UInt8(ascii: "~"))
                case UInt8(ascii: "1"): current.append(UInt8(ascii: "/"))
                default: throw JSONPointerError(pointer: text, message: "'~' must be followed by '0' or '1'")
                }
            default: current.append(byte)
            }
        }
        result.append(String(decoding: current, as: UTF8.self))
        tokens = result
    }

    /// The string form, escaped again (`~` as `~0`, `/` as `~1`).
    public var description: String {
        var out = ""
        for token in tokens {
            out += "/"
            for character in token.unicodeScalars {
                switch character {
                case "~": out += "~0"
                case "/": out += "~1"
                default: out.unicodeScalars.append(character)
                }
            }
        }
        return out
    }

    /// The value the pointer names in `document`, or nil when there is none.
    public func resolve(in document: JSON) -> JSON? {
        var current = document
        for token in tokens {
            switch current {
            case .object(let fields):
                guard let index = fields.index(forKey: token), fields[index].key.utf8.elementsEqual(token.utf8) else {
                    return nil
                }
                current = fields[index].value
            case .array(let elements):
                guard let index = Self.arrayIndex(token), index < elements.count else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    /// `0` or `[1-9][0-9]*` that fits an Int; `-` and anything else is not an index.
    static func arrayIndex(_ token: String) -> Int? {
        let bytes = token.utf8
        guard let first = bytes.first, first &- UInt8(ascii: "0") < 10 else { return nil }
        if first == UInt8(ascii: "0") { return bytes.count == 1 ? 0 : nil }
        var value = 0
        for byte in bytes {
            guard byte &- UInt8(ascii: "0") < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }
}

/// A JSON Pointer that is not valid RFC 6901 syntax.
public struct JSONPointerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var pointer: String
    public var message: String
    public init(pointer: String, message: String) {
        self.pointer = pointer
        self.message = message
    }
    public var description: String { "invalid JSON pointer \"\(pointer)\": \(message)" }
}

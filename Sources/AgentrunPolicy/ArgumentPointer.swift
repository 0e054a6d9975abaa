import AgentrunJSON

/// An RFC 6901 JSON Pointer parsed once at profile load, so evaluating a rule only walks the
/// arguments: object members by key, array items by a canonical decimal index (`-`, leading
/// zeros and out-of-range indices resolve to nothing).
public struct ArgumentPointer: Sendable, Equatable {
    public let source: String
    let tokens: [String]

    /// Nil with a reason when `text` is not a pointer: it must be empty or start with `/`, and
    /// `~` must be followed by `0` (for `~`) or `1` (for `/`).
    public static func parse(_ text: String) -> Result<ArgumentPointer, PointerSyntaxError> {
        if text.isEmpty { return .success(ArgumentPointer(source: text, tokens: [])) }
        guard text.hasPrefix("/") else {
            return .failure(.init(message: "a JSON pointer is empty or starts with '/', found '\(text)'; write '/\(text)'"))
        }
        var tokens: [String] = []
        for raw in text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst() {
            var token: [UInt8] = []
            var escape = false
            for byte in raw {
                if escape {
                    switch byte {
                    case UInt8(ascii: "0"): token.append(UInt8(ascii: "~"))
                    case UInt8(ascii: "1"): token.append(UInt8(ascii: "/"))
                    default: return .failure(.init(message: "'~' in a JSON pointer must be followed by 0 (for ~) or 1 (for /)"))
                    }
                    escape = false
                } else if byte == UInt8(ascii: "~") {
                    escape = true
                } else {
                    token.append(byte)
                }
            }
            if escape { return .failure(.init(message: "'~' in a JSON pointer must be followed by 0 (for ~) or 1 (for /)")) }
            tokens.append(String(decoding: token, as: UTF8.self))
        }
        return .success(ArgumentPointer(source: text, tokens: tokens))
    }

    /// The value the pointer names in `root`, or nil when it names nothing.
    public func resolve(in root: JSON) -> JSON? {
        var current = root
        for token in tokens {
            switch current {
            case .object(let fields):
                guard let next = fields[token] else { return nil }
                current = next
            case .array(let items):
                guard let index = Self.arrayIndex(token), index < items.count else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    /// `0` or `[1-9][0-9]*`, nothing else (RFC 6901 §4).
    static func arrayIndex(_ token: String) -> Int? {
        let utf8 = token.utf8
        guard let first = utf8.first, utf8.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else { return nil }
        if first == UInt8(ascii: "0"), utf8.count > 1 { return nil }
        return utf8.count <= 18 ? Int(token) : nil
    }
}

public struct PointerSyntaxError: Error, Sendable, Equatable {
    public var message: String
}

/// The template language of tool backends (`argv`, `env`, `url`, `headers`).
///
/// `{name}` is the top-level argument `name`; `{secret:NAME}` the value of the `type: secret`
/// credential NAME; `{{` and `}}` are a literal `{` and `}`. Any other brace is an error, so a
/// typo never reaches a host command as literal text. The profile decoder checks the names;
/// the backend substitutes with `parse` and the same parts.
public enum TemplatePart: Sendable, Equatable {
    case literal(String)
    /// A top-level argument of the call.
    case argument(String)
    /// A `type: secret` credential.
    case secret(String)
}

public struct TemplateSyntaxError: Error, Sendable, Equatable {
    public var message: String
}

public enum TemplateSyntax {
    public static func parse(_ text: String) -> Result<[TemplatePart], TemplateSyntaxError> {
        var parts: [TemplatePart] = []
        var literal = ""
        var scalars = text.unicodeScalars[...]
        while let c = scalars.popFirst() {
            if c == "}" {
                guard scalars.first == "}" else {
                    return .failure(.init(message: "a lone '}' in a template; write '}}' for a literal '}'"))
                }
                scalars.removeFirst()
                literal.unicodeScalars.append("}")
                continue
            }
            guard c == "{" else {
                literal.unicodeScalars.append(c)
                continue
            }
            if scalars.first == "{" {
                scalars.removeFirst()
                literal.unicodeScalars.append("{")
                continue
            }
            guard let close = scalars.firstIndex(of: "}") else {
                return .failure(.init(message: "a '{' without '}' in a template; write '{{' for a literal '{'"))
            }
            let name = String(String.UnicodeScalarView(scalars[..<close]))
            scalars = scalars[scalars.index(after: close)...]
            if !literal.isEmpty {
                parts.append(.literal(literal))
                literal = ""
            }
            if name.hasPrefix("secret:") {
                let secret = String(name.dropFirst(7))
                guard BrokerNames.isName(secret) else {
                    return .failure(.init(message: "'{\(name)}' does not name a credential; write {secret:NAME}"))
                }
                parts.append(.secret(secret))
            } else {
                guard BrokerNames.isName(name) else {
                    return .failure(.init(message: "'{\(name)}' is not a template; write {ARGUMENT} (letters, digits, '_', '.', '-'), {secret:NAME}, or '{{' for a literal '{'"))
                }
                parts.append(.argument(name))
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        return .success(parts)
    }
}

/// Names of tools, rules, credentials and servers: 1-128 of `A-Za-z0-9_.-` (what MCP clients accept).
public enum BrokerNames {
    public static func isName(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= 128 else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }

    /// Ids the engine itself cites; a profile rule may not use them.
    public static let reservedRuleIDs: [String] = [
        "default-deny", "unknown-tool", "invalid-arguments", "budget-per-run", "budget-per-minute",
    ]
}

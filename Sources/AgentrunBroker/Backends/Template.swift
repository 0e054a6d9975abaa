import AgentrunJSON

/// A backend template from the profile: literal text with `{name}` (the call's top-level
/// argument `name`), `{secret:NAME}` (a host secret) and `{{`/`}}` (literal braces).
///
/// Parsed once, when the backends are built; a call substitutes in a single pass over the
/// parsed parts and never looks at substituted text again, so an argument value such as
/// `{secret:TOKEN}` stays that literal text and cannot pull a secret in.
struct Template: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case literal(String)
        case argument(String)
        case secret(String)
    }

    let parts: [Part]

    /// Why a template is not valid (at load) or could not be filled (at call time).
    struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        var message: String
        init(_ message: String) { self.message = message }
        var description: String { message }
    }

    init(parsing text: String) throws(Failure) {
        var parts: [Part] = []
        var literal = ""
        var scalars = Array(text.unicodeScalars)[...]
        func flush() {
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
        }
        while let c = scalars.popFirst() {
            if c == "}" {
                guard scalars.first == "}" else { throw Failure("a lone `}` (write `}}` for a literal brace)") }
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
            var name = ""
            var closed = false
            while let d = scalars.popFirst() {
                if d == "}" {
                    closed = true
                    break
                }
                if d == "{" { throw Failure("`{` inside a placeholder") }
                name.unicodeScalars.append(d)
            }
            guard closed else { throw Failure("an unclosed `{` (write `{{` for a literal brace)") }
            flush()
            if name.hasPrefix("secret:") {
                let secret = String(name.dropFirst("secret:".count))
                guard !secret.isEmpty else { throw Failure("`{secret:}` names no secret") }
                parts.append(.secret(secret))
            } else {
                guard !name.isEmpty else { throw Failure("`{}` names no argument") }
                parts.append(.argument(name))
            }
        }
        flush()
        self.parts = parts
    }

    /// The secrets the template uses.
    var secretNames: [String] {
        parts.compactMap { if case .secret(let name) = $0 { name } else { nil } }
    }

    var argumentNames: [String] {
        parts.compactMap { if case .argument(let name) = $0 { name } else { nil } }
    }

    var usesArguments: Bool { !argumentNames.isEmpty }

    /// The text for one call. Substituted values (arguments and secrets) go through `encode`
    /// (percent-encoding for URLs); literal parts are kept as written.
    func render(
        arguments: JSON, secrets: SecretStore, encode: (String) throws(Failure) -> String = { $0 }
    ) throws(Failure) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text):
                out += text
            case .argument(let name):
                out += try encode(Template.argumentText(name, in: arguments))
            case .secret(let name):
                guard let value = secrets[name] else { throw Failure("the secret `\(name)` is not loaded") }
                out += try encode(value)
            }
        }
        return out
    }

    /// The text an argument substitutes as: a string as is, a number as its JSON text, a boolean
    /// as `true`/`false`. Anything else fails the call (never an empty string in its place).
    static func argumentText(_ name: String, in arguments: JSON) throws(Failure) -> String {
        guard let value = arguments[name] else { throw Failure("the argument `\(name)` is missing") }
        switch value {
        case .string(let s): return s
        case .number(let n): return n.text
        case .bool(let b): return b ? "true" : "false"
        case .null, .array, .object:
            throw Failure("the argument `\(name)` is \(value.typeName == "null" ? "null" : "an \(value.typeName)"); only strings, numbers and booleans can be substituted")
        }
    }
}

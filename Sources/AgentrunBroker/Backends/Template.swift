import AgentrunJSON
import AgentrunPolicy

/// A backend template from the profile: literal text with `{name}` (the call's top-level
/// argument `name`), `{secret:NAME}` (a host secret) and `{{`/`}}` (literal braces), parsed by
/// the profile's own `TemplateSyntax` (one grammar for validation and execution).
///
/// Parsed once, when the backends are built; a call substitutes in a single pass over the
/// parsed parts and never looks at substituted text again, so an argument value such as
/// `{secret:TOKEN}` stays that literal text and cannot pull a secret in.
struct Template: Sendable, Equatable {
    let parts: [TemplatePart]

    /// Why a template is not valid (at load) or could not be filled (at call time).
    struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        var message: String
        init(_ message: String) { self.message = message }
        var description: String { message }
    }

    init(parsing text: String) throws(Failure) {
        switch TemplateSyntax.parse(text) {
        case .success(let parts): self.parts = parts
        case .failure(let error): throw Failure(error.message)
        }
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

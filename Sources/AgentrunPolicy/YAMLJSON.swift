import AgentrunJSON

/// Free-form YAML (`input_schema:`, `eq:` and `in:` values) as JSON, typed the way the rest of
/// the profile is: plain integers and decimals are numbers, `true`/`false` booleans, `~`/`null`/
/// nothing null, everything else (and anything quoted) a string.
enum YAMLJSON {
    static func convert(_ node: YAMLNode) -> JSON {
        switch node {
        case .scalar(let text, let quoted, _):
            if quoted { return .string(text) }
            switch ScalarKind(plain: text) {
            case .null: return .null
            case .boolean: return .bool(text == "true")
            case .integer, .float: return .number(JSONNumber(validatedText: jsonNumberText(text)))
            case .string: return .string(text)
            }
        case .sequence(let items, _):
            return .array(items.map(convert))
        case .mapping(let pairs, _):
            var fields: [String: JSON] = [:]
            for pair in pairs { fields[pair.key.scalarText ?? ""] = convert(pair.value) }
            return .object(fields)
        }
    }

    /// `+5` → `5`, `007` → `7`, `-00.50` → `-0.50`: valid RFC 8259 number text.
    static func jsonNumberText(_ plain: String) -> String {
        var text = Substring(plain)
        var sign = ""
        if text.hasPrefix("+") {
            text = text.dropFirst()
        } else if text.hasPrefix("-") {
            sign = "-"
            text = text.dropFirst()
        }
        while text.count > 1, text.first == "0", text[text.index(after: text.startIndex)] != "." {
            text = text.dropFirst()
        }
        return sign + text
    }
}

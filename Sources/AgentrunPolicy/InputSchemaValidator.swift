import AgentrunJSON

/// Validates tool arguments against a tool's `input_schema`, a documented subset of JSON Schema
/// (2020-12 semantics):
///
/// - `type` (a name or a list of names; `integer` accepts any number with an integral value),
///   `enum`, `const`;
/// - objects: `properties`, `required`, `additionalProperties` (a boolean only);
/// - strings: `minLength`, `maxLength` (in Unicode code points), `pattern` (unanchored, as the
///   spec says: anchor it with `^...$`; Swift regex syntax, which agrees with ECMA-262 on the
///   common constructs);
/// - numbers: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (numbers);
/// - arrays: `items` (one schema for every item), `minItems`, `maxItems`.
///
/// The annotations `title`, `description`, `default`, `examples`, `$schema`, `$comment` are
/// ignored. Any other keyword (`oneOf`, `$ref`, `format`, ...) is refused when the profile loads:
/// a validator that silently skipped a keyword would accept arguments the operator meant to refuse.
public final class InputSchemaValidator: Sendable {
    static let annotations: Set<String> = ["title", "description", "default", "examples", "$schema", "$comment"]
    static let keywords: [String] = [
        "type", "enum", "const", "properties", "required", "additionalProperties", "minLength", "maxLength", "pattern",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "items", "minItems", "maxItems",
    ]
    static let typeNames: [String] = ["object", "array", "string", "number", "integer", "boolean", "null"]

    struct TypeSet: OptionSet, Sendable {
        let rawValue: UInt8
        static let object = TypeSet(rawValue: 1)
        static let array = TypeSet(rawValue: 2)
        static let string = TypeSet(rawValue: 4)
        static let number = TypeSet(rawValue: 8)
        static let integer = TypeSet(rawValue: 16)
        static let boolean = TypeSet(rawValue: 32)
        static let null = TypeSet(rawValue: 64)
        static func named(_ name: String) -> TypeSet? {
            switch name {
            case "object": .object
            case "array": .array
            case "string": .string
            case "number": .number
            case "integer": .integer
            case "boolean": .boolean
            case "null": .null
            default: nil
            }
        }
    }

    let types: TypeSet?
    let typeText: String
    let enumValues: [JSON]?
    let constValue: JSON?
    let properties: [String: InputSchemaValidator]
    let required: [String]
    let additionalProperties: Bool
    let minLength: Int?
    let maxLength: Int?
    let pattern: (source: String, regex: CompiledRegex)?
    let minimum: Double?
    let maximum: Double?
    let exclusiveMinimum: Double?
    let exclusiveMaximum: Double?
    let items: InputSchemaValidator?
    let minItems: Int?
    let maxItems: Int?

    /// The names of `properties` (for `{name}` templates).
    public var propertyNames: [String] { properties.keys.sorted() }
    /// Whether `name` is in `required`.
    public func requires(_ name: String) -> Bool { required.contains(name) }
    /// The declared type names, e.g. `string` or `string|null` (empty: any).
    public func declaredType(of property: String) -> String? { properties[property]?.typeText }

    /// Compiles `schema` (a JSON object); the error names the keyword's pointer within the schema.
    public static func compile(_ schema: JSON) -> Result<InputSchemaValidator, SchemaError> {
        do throws(SchemaError) {
            return .success(try InputSchemaValidator(schema, at: ""))
        } catch {
            return .failure(error)
        }
    }

    private init(_ schema: JSON, at path: String) throws(SchemaError) {
        guard case .object(let fields) = schema else {
            throw SchemaError(pointer: path, message: "a schema must be a mapping, found \(schema.typeName)")
        }
        for key in fields.keys.sorted() where !Self.annotations.contains(key) && !Self.keywords.contains(key) {
            throw SchemaError(
                pointer: path + "/" + key,
                message: "unsupported JSON Schema keyword '\(key)'; supported: \(Self.keywords.joined(separator: ", ")) (annotations \(Self.annotations.sorted().joined(separator: ", ")) are ignored)")
        }
        func integer(_ key: String) throws(SchemaError) -> Int? {
            guard let value = fields[key] else { return nil }
            guard case .number(let n) = value, let i = n.int64, i >= 0, i <= Int64(Int32.max) else {
                throw SchemaError(pointer: path + "/" + key, message: "'\(key)' must be a non-negative integer")
            }
            return Int(i)
        }
        func number(_ key: String) throws(SchemaError) -> Double? {
            guard let value = fields[key] else { return nil }
            guard case .number(let n) = value, n.double.isFinite else {
                throw SchemaError(pointer: path + "/" + key, message: "'\(key)' must be a number" + (value.boolValue != nil ? " (the boolean form of draft 4 is not supported)" : ""))
            }
            return n.double
        }

        switch fields["type"] {
        case nil:
            types = nil
            typeText = ""
        case .string(let name)?:
            guard let t = TypeSet.named(name) else {
                throw SchemaError(pointer: path + "/type", message: "unknown type '\(name)'; allowed: \(Self.typeNames.joined(separator: ", "))")
            }
            types = t
            typeText = name
        case .array(let names)?:
            var set: TypeSet = []
            var texts: [String] = []
            for (i, item) in names.enumerated() {
                guard case .string(let name) = item, let t = TypeSet.named(name) else {
                    throw SchemaError(pointer: path + "/type/\(i)", message: "expected a type name; allowed: \(Self.typeNames.joined(separator: ", "))")
                }
                set.insert(t)
                texts.append(name)
            }
            guard !set.isEmpty else { throw SchemaError(pointer: path + "/type", message: "an empty list of types accepts nothing") }
            types = set
            typeText = texts.joined(separator: "|")
        default:
            throw SchemaError(pointer: path + "/type", message: "'type' must be a type name or a list of them")
        }

        if let values = fields["enum"] {
            guard case .array(let list) = values, !list.isEmpty else {
                throw SchemaError(pointer: path + "/enum", message: "'enum' must be a non-empty list")
            }
            enumValues = list
        } else {
            enumValues = nil
        }
        constValue = fields["const"]

        var compiled: [String: InputSchemaValidator] = [:]
        if let props = fields["properties"] {
            guard case .object(let map) = props else {
                throw SchemaError(pointer: path + "/properties", message: "'properties' must be a mapping of property names to schemas")
            }
            for (name, sub) in map {
                compiled[name] = try InputSchemaValidator(sub, at: path + "/properties/" + Self.escape(name))
            }
        }
        properties = compiled

        if let req = fields["required"] {
            guard case .array(let list) = req else {
                throw SchemaError(pointer: path + "/required", message: "'required' must be a list of property names")
            }
            var names: [String] = []
            for (i, item) in list.enumerated() {
                guard case .string(let name) = item else {
                    throw SchemaError(pointer: path + "/required/\(i)", message: "expected a property name, found \(item.typeName)")
                }
                guard !names.contains(name) else {
                    throw SchemaError(pointer: path + "/required/\(i)", message: "duplicate property name '\(name)'")
                }
                names.append(name)
            }
            required = names
        } else {
            required = []
        }

        switch fields["additionalProperties"] {
        case nil: additionalProperties = true
        case .bool(let b)?: additionalProperties = b
        default:
            throw SchemaError(pointer: path + "/additionalProperties", message: "'additionalProperties' must be true or false (schemas are not supported here)")
        }
        if !additionalProperties, let missing = required.first(where: { compiled[$0] == nil }) {
            throw SchemaError(pointer: path + "/required", message: "'\(missing)' is required but not in 'properties', and additionalProperties is false: no value could pass")
        }

        minLength = try integer("minLength")
        maxLength = try integer("maxLength")
        if let p = fields["pattern"] {
            guard case .string(let source) = p else {
                throw SchemaError(pointer: path + "/pattern", message: "'pattern' must be a string")
            }
            switch CompiledRegex.compile(source) {
            case .success(let regex): pattern = (source, regex)
            case .failure(let error): throw SchemaError(pointer: path + "/pattern", message: error.message)
            }
        } else {
            pattern = nil
        }
        minimum = try number("minimum")
        maximum = try number("maximum")
        exclusiveMinimum = try number("exclusiveMinimum")
        exclusiveMaximum = try number("exclusiveMaximum")
        if let sub = fields["items"] {
            guard case .object = sub else {
                throw SchemaError(pointer: path + "/items", message: "'items' must be one schema (the list form is not supported)")
            }
            items = try InputSchemaValidator(sub, at: path + "/items")
        } else {
            items = nil
        }
        minItems = try integer("minItems")
        maxItems = try integer("maxItems")
    }

    /// Nil when `value` is valid, else why not, naming the offending place by its JSON pointer
    /// (`/path: expected a string, found a number`).
    public func validate(_ value: JSON) -> String? {
        validate(value, at: "")
    }

    private func validate(_ value: JSON, at path: String) -> String? {
        // Messages are built only on failure: validation runs on every call.
        var place: String { path.isEmpty ? "the arguments" : "'\(path)'" }
        if let types, !Self.matches(value, types) {
            return "\(place): expected \(typeText.split(separator: "|").joined(separator: " or ")), found \(Self.describe(value))"
        }
        if let enumValues, !enumValues.contains(where: { JSONComparison.equal($0, value) }) {
            return "\(place): must be one of \(enumValues.map(\.serializedString).joined(separator: ", "))"
        }
        if let constValue, !JSONComparison.equal(constValue, value) {
            return "\(place): must be \(constValue.serializedString)"
        }
        switch value {
        case .object(let fields):
            for name in required where fields[name] == nil {
                return "\(path.isEmpty ? "" : "'\(path)': ")missing required property '\(name)'"
            }
            // Unsorted first (no allocation); on a failure, again in key order so the message is deterministic.
            var failed = false
            for (name, item) in fields {
                if let schema = properties[name] {
                    if schema.validate(item, at: "") != nil { failed = true; break }
                } else if !additionalProperties {
                    failed = true
                    break
                }
            }
            guard failed else { return nil }
            for (name, item) in fields.sorted(by: { $0.key < $1.key }) {
                let sub = path + "/" + Self.escape(name)
                if let schema = properties[name] {
                    if let problem = schema.validate(item, at: sub) { return problem }
                } else if !additionalProperties {
                    return "'\(sub)': property '\(name)' is not allowed (allowed: \(properties.keys.sorted().joined(separator: ", ")))"
                }
            }
        case .string(let text):
            if minLength != nil || maxLength != nil {
                let length = text.unicodeScalars.count
                if let minLength, length < minLength { return "\(place): shorter than \(minLength) characters" }
                if let maxLength, length > maxLength { return "\(place): longer than \(maxLength) characters" }
            }
            if let pattern, !pattern.regex.containsMatch(text) {
                return "\(place): does not match the pattern \(pattern.source)"
            }
        case .number(let n):
            let d = n.double
            if let minimum, !(d >= minimum) { return "\(place): less than the minimum \(Self.format(minimum))" }
            if let maximum, !(d <= maximum) { return "\(place): more than the maximum \(Self.format(maximum))" }
            if let exclusiveMinimum, !(d > exclusiveMinimum) { return "\(place): must be more than \(Self.format(exclusiveMinimum))" }
            if let exclusiveMaximum, !(d < exclusiveMaximum) { return "\(place): must be less than \(Self.format(exclusiveMaximum))" }
        case .array(let list):
            if let minItems, list.count < minItems { return "\(place): fewer than \(minItems) items" }
            if let maxItems, list.count > maxItems { return "\(place): more than \(maxItems) items" }
            if let items {
                for (i, item) in list.enumerated() {
                    if let problem = items.validate(item, at: path + "/\(i)") { return problem }
                }
            }
        default:
            break
        }
        return nil
    }

    private static func matches(_ value: JSON, _ types: TypeSet) -> Bool {
        switch value {
        case .object: types.contains(.object)
        case .array: types.contains(.array)
        case .string: types.contains(.string)
        case .bool: types.contains(.boolean)
        case .null: types.contains(.null)
        case .number(let n): types.contains(.number) || (types.contains(.integer) && JSONComparison.isInteger(n))
        }
    }

    private static func describe(_ value: JSON) -> String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .bool: "a boolean"
        case .null: "null"
        case .number(let n): JSONComparison.isInteger(n) ? "an integer" : "a number"
        }
    }

    static func format(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func escape(_ token: String) -> String {
        guard token.contains("~") || token.contains("/") else { return token }
        return token.replacing("~", with: "~0").replacing("/", with: "~1")
    }
}

/// A schema the validator cannot take, located by its pointer within the schema.
public struct SchemaError: Error, Sendable, Equatable {
    public var pointer: String
    public var message: String
}

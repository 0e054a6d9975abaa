import AgentrunJSON

/// Decoding of the broker sections `credentials:`, `tools:` and `mcp_servers:` (BrokerPolicy.swift).
///
/// Checks that need only the entry itself happen here (names, matchers, schemas, templates
/// against the tool's own schema, URLs); checks across entries and sections (rule ids, secret
/// references, environment leaks, name collisions) run on the resolved profile, in
/// `BrokerValidation`, because `extends` can bring the other half.
extension ProfileDecoder {
    // MARK: - credentials

    func decodeCredentials(_ section: Entry, into layer: inout ProfileLayer) throws(ProfileError) {
        for (name, keyNode, value, path) in try namedEntries(section, what: "credential") {
            layer.marks[path] = keyNode.mark
            guard case .mapping(let pairs, _) = value else {
                throw typeError(value, path, expected: "a mapping with type: jwt or type: secret")
            }
            guard let typePair = pairs.first(where: { $0.key.scalarText == "type" }) else {
                throw fail(keyNode, path, "missing key 'type'; allowed: jwt, secret")
            }
            let type = try string(typePair.value, path + ".type", expected: "jwt or secret")
            let own = type == "jwt" ? Section.jwtCredential : Section.secretCredential
            let other = type == "jwt" ? Section.secretCredential : Section.jwtCredential
            if ["jwt", "secret"].contains(type), let pair = pairs.first(where: { !own.keys.contains($0.key.scalarText ?? "") && other.keys.contains($0.key.scalarText ?? "") }) {
                let key = pair.key.scalarText ?? ""
                throw fail(pair.key, path + "." + key, "'\(key)' belongs to type: \(type == "jwt" ? "secret" : "jwt") credentials; allowed for type: \(type): \(own.keys.joined(separator: ", "))")
            }
            switch type {
            case "jwt":
                var jwt = JWTCredential(audiences: [])
                var sawAudiences = false
                for entry in try entries(of: value, path: path, in: .jwtCredential) {
                    switch entry.key {
                    case "audiences":
                        jwt.audiences = try plainList(entry, of: "audience strings") { node, p throws(ProfileError) in
                            try nonEmptyText(node, p, expected: "an audience (the aud claim)")
                        }
                        sawAudiences = true
                    case "scopes":
                        jwt.scopes = try plainList(entry, of: "scope names") { node, p throws(ProfileError) in
                            let scope = try nonEmptyText(node, p, expected: "a scope name")
                            if scope.contains(" ") { throw fail(node, p, "a scope cannot contain a space (the scope claim is space-separated)") }
                            return scope
                        }
                    case "max_ttl":
                        guard case .value(let seconds) = try duration(entry, allowUnlimited: false) else { break }
                        guard seconds >= 1, seconds <= 3600 else {
                            throw fail(entry.value, entry.path, "must be between 1s and 1h, found \(Units.formatDuration(seconds))")
                        }
                        jwt.maxTTL = seconds
                    case "issuer": jwt.issuer = try nonEmptyText(entry.value, entry.path, expected: "an issuer (the iss claim)")
                    default: break
                    }
                }
                guard sawAudiences, !jwt.audiences.isEmpty else {
                    throw fail(keyNode, path + ".audiences", "a jwt credential needs at least one audience (tokens without aud are accepted too widely)")
                }
                layer.credentials.append(CredentialPolicy(name: name, kind: .jwt(jwt)))
            case "secret":
                var source: SecretSource?
                for entry in try entries(of: value, path: path, in: .secretCredential) {
                    switch entry.key {
                    case "env":
                        let variable = try string(entry.value, entry.path, expected: "a variable name")
                        guard ValueRules.isEnvName(variable) else {
                            throw fail(entry.value, entry.path, "invalid variable name '\(variable)'; names match [A-Za-z_][A-Za-z0-9_]*")
                        }
                        guard source == nil else { throw fail(entry.keyNode, entry.path, "give exactly one of env and file") }
                        source = .environment(variable)
                        layer.marks[entry.path] = entry.value.mark
                    case "file":
                        let file = try absolutePath(entry.value, entry.path)
                        guard source == nil else { throw fail(entry.keyNode, entry.path, "give exactly one of env and file") }
                        source = .file(file)
                        layer.marks[entry.path] = entry.value.mark
                    default: break
                    }
                }
                guard let source else { throw fail(keyNode, path, "a secret credential needs exactly one of env: VARIABLE or file: /absolute/path") }
                layer.credentials.append(CredentialPolicy(name: name, kind: .secret(source)))
            default:
                var message = "unknown credential type '\(type)';"
                if let close = KeySuggestion.closest(to: type, in: ["jwt", "secret"]) { message += " did you mean '\(close)'?" }
                throw fail(typePair.value, path + ".type", message + " allowed: jwt, secret")
            }
        }
    }

    // MARK: - tools

    func decodeTools(_ section: Entry, into layer: inout ProfileLayer) throws(ProfileError) {
        for (name, keyNode, value, path) in try namedEntries(section, what: "tool") {
            layer.marks[path] = keyNode.mark
            let fields = try entries(of: value, path: path, in: .tool)
            var schema: JSON = ["type": "object"]
            var validator: InputSchemaValidator?
            if let entry = fields.first(where: { $0.key == "input_schema" }) {
                (schema, validator) = try inputSchema(entry)
            } else if case .success(let v) = InputSchemaValidator.compile(schema) {
                validator = v
            }
            var tool = ToolPolicy(name: name, inputSchema: schema, backend: .noop)
            var sawBackend = false
            for entry in fields {
                switch entry.key {
                case "description":
                    let text = try string(entry.value, entry.path, expected: "a description for the agent")
                    if text.utf8.contains(0) { throw fail(entry.value, entry.path, "a NUL character is not allowed here") }
                    tool.description = text
                case "rules": tool.rules = try rules(entry, upstream: false, into: &layer)
                case "budget": tool.budget = try budget(entry)
                case "backend":
                    tool.backend = try backend(entry, properties: validator?.propertyNames ?? [], into: &layer)
                    sawBackend = true
                default: break
                }
            }
            guard sawBackend else {
                throw fail(keyNode, path, "missing key 'backend'; a tool needs one of noop: {}, command: {...}, http: {...}")
            }
            layer.tools.append(tool)
        }
    }

    private func inputSchema(_ entry: Entry) throws(ProfileError) -> (JSON, InputSchemaValidator) {
        guard case .mapping = entry.value else {
            throw typeError(entry.value, entry.path, expected: "a JSON Schema mapping with type: object")
        }
        let schema = YAMLJSON.convert(entry.value)
        guard schema["type"] == .string("object") else {
            throw fail(entry.value, entry.path, "the input schema must have type: object (tool arguments are an object)")
        }
        switch InputSchemaValidator.compile(schema) {
        case .success(let validator): return (schema, validator)
        case .failure(let error):
            let node = node(at: error.pointer, in: entry.value) ?? entry.value
            throw fail(node, entry.path + (error.pointer.isEmpty ? "" : error.pointer.replacing("/", with: ".")), error.message)
        }
    }

    /// The YAML node a schema pointer names (for the line of a schema error), or its closest parent.
    private func node(at pointer: String, in root: YAMLNode) -> YAMLNode? {
        var current = root
        for token in pointer.split(separator: "/") {
            switch current {
            case .mapping(let pairs, _):
                guard let pair = pairs.first(where: { $0.key.scalarText == String(token) }) else { return current }
                current = token == pointer.split(separator: "/").last ? pair.key : pair.value
            case .sequence(let items, _):
                guard let i = Int(token), i < items.count else { return current }
                current = items[i]
            default: return current
            }
        }
        return current
    }

    // MARK: - rules

    func rules(_ entry: Entry, upstream: Bool, into layer: inout ProfileLayer) throws(ProfileError) -> [ToolRule] {
        guard case .sequence(let nodes, _) = entry.value else {
            throw typeError(entry.value, entry.path, expected: "a list of rules ({id, effect, when})")
        }
        var result: [ToolRule] = []
        for (index, node) in nodes.enumerated() {
            let path = "\(entry.path)[\(index)]"
            layer.marks[path] = node.mark
            var id: String?
            var effect: RuleEffect?
            var tools: [String] = []
            var conditions: [ArgumentCondition] = []
            if !upstream, case .mapping(let pairs, _) = node, let pair = pairs.first(where: { $0.key.scalarText == "tools" }) {
                throw fail(pair.key, path + ".tools", "'tools' selects upstream tools and is only allowed in mcp_servers rules; a tool's rules apply to that tool")
            }
            for field in try entries(of: node, path: path, in: upstream ? .upstreamRule : .rule) {
                switch field.key {
                case "id":
                    let text = try string(field.value, field.path, expected: "a rule id")
                    guard BrokerNames.isName(text) else {
                        throw fail(field.value, field.path, "invalid rule id '\(text)'; use 1-128 letters, digits, '_', '.' and '-'")
                    }
                    guard !BrokerNames.reservedRuleIDs.contains(text) else {
                        throw fail(field.value, field.path, "'\(text)' is reserved for decisions agentrun makes itself (reserved: \(BrokerNames.reservedRuleIDs.joined(separator: ", ")))")
                    }
                    id = text
                    layer.marks[field.path] = field.value.mark
                case "effect": effect = try choice(field.value, field.path, RuleEffect.self)
                case "tools":
                    tools = try plainList(field, of: "glob patterns of upstream tool names") { item, p throws(ProfileError) in
                        let text = try nonEmptyText(item, p, expected: "a glob pattern")
                        if case .failure(let error) = GlobPattern.compile(text) { throw fail(item, p, "invalid glob '\(text)': \(error.message)") }
                        return text
                    }
                case "when": conditions = try conditionsOf(field)
                default: break
                }
            }
            guard let id else { throw fail(node, path, "missing key 'id'; every rule needs an id, cited in decisions and the log") }
            guard let effect else { throw fail(node, path, "missing key 'effect'; allowed: allow, deny") }
            if let earlier = result.first(where: { $0.id == id }) {
                throw fail(node, path + ".id", "duplicate rule id '\(earlier.id)'; rule ids are unique in the profile")
            }
            result.append(ToolRule(id: id, effect: effect, tools: tools, conditions: conditions))
        }
        return result
    }

    private func conditionsOf(_ entry: Entry) throws(ProfileError) -> [ArgumentCondition] {
        guard case .mapping(let pairs, _) = entry.value else {
            throw typeError(entry.value, entry.path, expected: "a mapping of JSON pointers to matchers, such as \"/path\": {prefix: /work}")
        }
        var result: [ArgumentCondition] = []
        for pair in pairs {
            let pointer = pair.key.scalarText ?? ""
            let path = "\(entry.path)[\"\(pointer)\"]"
            if case .failure(let error) = ArgumentPointer.parse(pointer) { throw fail(pair.key, path, error.message) }
            for field in try entries(of: pair.value, path: path, in: .matchers) {
                let matcher = try matcherOf(field)
                if case .failure(let error) = CompiledMatcher.compile(matcher) { throw fail(field.value, field.path, error.message) }
                result.append(ArgumentCondition(pointer: pointer, matcher: matcher))
            }
        }
        return result
    }

    private func matcherOf(_ field: Entry) throws(ProfileError) -> ArgumentMatcher {
        switch field.key {
        case "eq": return .eq(YAMLJSON.convert(field.value))
        case "in":
            guard case .sequence(let items, _) = field.value, !items.isEmpty else {
                throw typeError(field.value, field.path, expected: "a non-empty list of values")
            }
            return .oneOf(items.map(YAMLJSON.convert))
        case "prefix":
            return .prefix(try oneOrMany(field, expected: "a string or a list of strings") { node, p throws(ProfileError) in
                try nonEmptyText(node, p, expected: "a prefix")
            })
        case "glob":
            return .glob(try oneOrMany(field, expected: "a glob pattern or a list of them") { node, p throws(ProfileError) in
                try nonEmptyText(node, p, expected: "a glob pattern")
            })
        case "regex": return .regex(try nonEmptyText(field.value, field.path, expected: "a regular expression"))
        case "path_under":
            return .pathUnder(try oneOrMany(field, expected: "an absolute directory or a list of them") { node, p throws(ProfileError) in
                let text = try string(node, p, expected: "an absolute directory")
                guard let normalized = PathNormalization.normalize(text), normalized == text || normalized + "/" == text else {
                    throw fail(node, p, "expected an absolute, normalised directory (no '.', '..' or '//'), found '\(text)'")
                }
                return normalized
            })
        case "max_length":
            guard case .scalar(let text, false, _) = field.value, ScalarKind(plain: text) == .integer, let n = Int(text), n >= 0 else {
                throw typeError(field.value, field.path, expected: "a whole number of characters (or array items)")
            }
            return .maxLength(n)
        case "range":
            guard case .sequence(let items, _) = field.value, items.count == 2 else {
                throw typeError(field.value, field.path, expected: "[min, max]")
            }
            var bounds: [Double] = []
            for (i, item) in items.enumerated() {
                guard case .scalar(let text, false, _) = item, [.integer, .float].contains(ScalarKind(plain: text)),
                    let value = Double(YAMLJSON.jsonNumberText(text)), value.isFinite, abs(value) < 1e15
                else {
                    throw typeError(item, "\(field.path)[\(i)]", expected: "a number (below 10^15 in magnitude)")
                }
                bounds.append(value)
            }
            guard bounds[0] <= bounds[1] else {
                throw fail(field.value, field.path, "min is above max in [\(InputSchemaValidator.format(bounds[0])), \(InputSchemaValidator.format(bounds[1]))]")
            }
            return .range(min: bounds[0], max: bounds[1])
        case "absent":
            guard case .scalar(let text, false, _) = field.value, ScalarKind(plain: text) == .boolean else {
                throw typeError(field.value, field.path, expected: "true or false")
            }
            return .absent(text == "true")
        default:
            throw fail(field.keyNode, field.path, "unknown matcher")
        }
    }

    // MARK: - budget

    func budget(_ section: Entry) throws(ProfileError) -> ToolBudget {
        var result = ToolBudget()
        for entry in try entries(of: section.value, path: section.path, in: .budget) {
            let value: Int?
            switch try count(entry, range: 1...1_000_000_000) {
            case .unlimited: value = nil
            case .value(let n): value = Int(n)
            }
            if entry.key == "per_run" { result.perRun = value } else { result.perMinute = value }
        }
        return result
    }

    // MARK: - backends

    private func backend(_ section: Entry, properties: [String], into layer: inout ProfileLayer) throws(ProfileError) -> ToolBackendSpec {
        let kinds = try entries(of: section.value, path: section.path, in: .backend)
        guard kinds.count == 1, let entry = kinds.first else {
            throw fail(section.value, section.path, "give exactly one backend: noop: {}, command: {...} or http: {...}")
        }
        switch entry.key {
        case "noop":
            guard case .mapping(let pairs, _) = entry.value, pairs.isEmpty else {
                throw typeError(entry.value, entry.path, expected: "{} (noop takes no settings)")
            }
            return .noop
        case "command":
            var spec = CommandBackendSpec(argv: [])
            for field in try entries(of: entry.value, path: entry.path, in: .commandBackend) {
                switch field.key {
                case "argv":
                    guard case .sequence(let items, _) = field.value, !items.isEmpty else {
                        throw typeError(field.value, field.path, expected: "a non-empty list: the program (absolute path) and its arguments")
                    }
                    for (i, item) in items.enumerated() {
                        let p = "\(field.path)[\(i)]"
                        let text = try string(item, p, expected: "an argument (a template)")
                        if text.utf8.contains(0) { throw fail(item, p, "a NUL character cannot be part of an argument") }
                        let parts = try template(text, item, p, properties: properties, secrets: false)
                        if i == 0 {
                            guard parts.allSatisfy({ if case .literal = $0 { true } else { false } }), text.hasPrefix("/") else {
                                throw fail(item, p, "the program must be a literal absolute path (no PATH lookup, no template), found '\(text)'")
                            }
                        }
                        spec.argv.append(text)
                    }
                case "env": spec.env = try environment(field, properties: properties, into: &layer)
                case "cwd":
                    let text = try string(field.value, field.path, expected: "an absolute directory")
                    guard let normalized = PathNormalization.normalize(text), normalized == text else {
                        throw fail(field.value, field.path, "expected an absolute, normalised directory, found '\(text)'")
                    }
                    spec.cwd = text
                case "timeout": spec.timeout = try backendTimeout(field)
                case "max_output": spec.maxOutput = try byteCap(field)
                default: break
                }
            }
            guard !spec.argv.isEmpty else { throw fail(entry.value, entry.path, "missing key 'argv'") }
            return .command(spec)
        case "http":
            var spec = HTTPBackendSpec(url: "")
            var body: Bool?
            for field in try entries(of: entry.value, path: entry.path, in: .httpBackend) {
                switch field.key {
                case "method":
                    let allowed = ["GET", "POST", "PUT", "PATCH", "DELETE"]
                    let text = try string(field.value, field.path, expected: allowed.joined(separator: ", "))
                    guard allowed.contains(text) else {
                        throw fail(field.value, field.path, "unknown method '\(text)'; allowed: \(allowed.joined(separator: ", "))")
                    }
                    spec.method = text
                case "url":
                    let text = try string(field.value, field.path, expected: "an http:// or https:// URL")
                    _ = try template(text, field.value, field.path, properties: properties, secrets: false)
                    if let problem = Self.urlProblem(text) { throw fail(field.value, field.path, problem) }
                    spec.url = text
                case "headers":
                    guard case .mapping(let pairs, _) = field.value else {
                        throw typeError(field.value, field.path, expected: "a mapping of header names to values")
                    }
                    for pair in pairs {
                        let header = pair.key.scalarText ?? ""
                        let p = "\(field.path).\(header)"
                        guard Self.isHeaderName(header) else { throw fail(pair.key, p, "invalid header name '\(header)'") }
                        let forbidden = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"]
                        guard !forbidden.contains(header.lowercased()) else {
                            throw fail(pair.key, p, "'\(header)' is set by agentrun itself and cannot be configured")
                        }
                        let value = try string(pair.value, p, expected: "a header value (a template)")
                        if let problem = ValueRules.characterProblem(value) { throw fail(pair.value, p, problem) }
                        _ = try template(value, pair.value, p, properties: properties, secrets: true)
                        layer.marks[p] = pair.value.mark
                        spec.headers[header] = value
                    }
                case "body":
                    let text = try string(field.value, field.path, expected: "arguments or none")
                    switch text {
                    case "arguments": body = true
                    case "none": body = false
                    default: throw fail(field.value, field.path, "unknown value '\(text)'; allowed: arguments, none")
                    }
                case "timeout": spec.timeout = try backendTimeout(field)
                case "max_response": spec.maxResponse = try byteCap(field)
                default: break
                }
            }
            guard !spec.url.isEmpty else { throw fail(entry.value, entry.path, "missing key 'url'") }
            spec.sendArguments = body ?? ["POST", "PUT", "PATCH"].contains(spec.method)
            return .http(spec)
        default:
            throw fail(entry.keyNode, entry.path, "unknown backend")
        }
    }

    /// `env:` of a command backend or an MCP server: variable names to templates.
    func environment(_ field: Entry, properties: [String], into layer: inout ProfileLayer) throws(ProfileError) -> [String: String] {
        guard case .mapping(let pairs, _) = field.value else {
            throw typeError(field.value, field.path, expected: "a mapping of variable names to values")
        }
        var result: [String: String] = [:]
        for pair in pairs {
            let name = pair.key.scalarText ?? ""
            let p = "\(field.path).\(name)"
            guard ValueRules.isEnvName(name) else {
                throw fail(pair.key, p, "invalid variable name '\(name)'; names match [A-Za-z_][A-Za-z0-9_]*")
            }
            let value = try string(pair.value, p, expected: "a value (a template)")
            if value.utf8.contains(0) { throw fail(pair.value, p, "a NUL character cannot be part of an environment value") }
            _ = try template(value, pair.value, p, properties: properties, secrets: true)
            layer.marks[p] = pair.value.mark
            result[name] = value
        }
        return result
    }

    /// Parses a template; `{name}` must be a property of the tool's schema, `{secret:NAME}` only where `secrets`.
    private func template(
        _ text: String, _ node: YAMLNode, _ path: String, properties: [String], secrets: Bool
    ) throws(ProfileError) -> [TemplatePart] {
        switch TemplateSyntax.parse(text) {
        case .failure(let error): throw fail(node, path, error.message)
        case .success(let parts):
            for part in parts {
                switch part {
                case .literal: break
                case .argument(let name):
                    guard properties.contains(name) else {
                        var message = "'{\(name)}' is not a property of the tool's input_schema"
                        if let close = KeySuggestion.closest(to: name, in: properties) { message += "; did you mean '{\(close)}'?" }
                        message += properties.isEmpty ? " (the schema has no properties)" : " (properties: \(properties.joined(separator: ", ")))"
                        throw fail(node, path, message)
                    }
                case .secret(let name):
                    guard secrets else {
                        throw fail(node, path, "'{secret:\(name)}' is not allowed here: argv and URLs are visible in host process lists and logs; pass secrets in env or headers")
                    }
                }
            }
            return parts
        }
    }

    private func backendTimeout(_ field: Entry) throws(ProfileError) -> Double {
        guard case .value(let seconds) = try duration(field, allowUnlimited: false), seconds >= 0.001, seconds <= 3600 else {
            throw fail(field.value, field.path, "must be between 1ms and 1h")
        }
        return seconds
    }

    private func byteCap(_ field: Entry) throws(ProfileError) -> Int {
        guard case .value(let bytes) = try size(field, minimum: 1, allowUnlimited: false), bytes <= 256 << 20 else {
            throw fail(field.value, field.path, "must be between 1B and 256MiB")
        }
        return Int(bytes)
    }

    /// Scheme http/https, a literal host (no template, no user info), an optional numeric port.
    static func urlProblem(_ url: String) -> String? {
        let rest: Substring
        if url.hasPrefix("https://") {
            rest = url.dropFirst(8)
        } else if url.hasPrefix("http://") {
            rest = url.dropFirst(7)
        } else {
            return "the URL must start with http:// or https://, found '\(url)'"
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("{") { return "the host must be literal: a template may only appear in the path or query" }
        if authority.contains("@") { return "user information in the URL is not allowed; use headers with {secret:NAME}" }
        var host = authority
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return "unclosed '[' in the URL's host" }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), after.dropFirst().allSatisfy(\.isASCII), UInt16(after.dropFirst()) != nil else {
                    return "invalid port in '\(authority)'"
                }
            }
            host = host[...close]
        } else if let colon = host.firstIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard port.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt16(port), n > 0 else { return "invalid port in '\(authority)'" }
            host = host[..<colon]
        }
        if host.isEmpty { return "the URL has no host" }
        let allowed = host.unicodeScalars.allSatisfy { c in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || ".-_[]:".unicodeScalars.contains(c))
        }
        return allowed ? nil : "invalid host '\(host)'"
    }

    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    // MARK: - mcp_servers

    func decodeMCPServers(_ section: Entry, into layer: inout ProfileLayer) throws(ProfileError) {
        for (name, keyNode, value, path) in try namedEntries(section, what: "MCP server") {
            layer.marks[path] = keyNode.mark
            var server = MCPServerPolicy(name: name, command: [])
            for entry in try entries(of: value, path: path, in: .mcpServer) {
                switch entry.key {
                case "command":
                    server.command = try plainList(entry, of: "the program (absolute path) and its arguments") { node, p throws(ProfileError) in
                        let text = try string(node, p, expected: "an argument")
                        if let problem = ValueRules.characterProblem(text) { throw fail(node, p, problem) }
                        if text.contains("{secret:") { throw fail(node, p, "secrets cannot be passed in argv (visible in host process lists); use env") }
                        return text
                    }
                    guard let program = server.command.first, program.hasPrefix("/") else {
                        throw fail(entry.value, entry.path, "the program must be an absolute path (no PATH lookup)")
                    }
                case "env": server.env = try environment(entry, properties: [], into: &layer)
                case "prefix":
                    let text = try string(entry.value, entry.path, expected: "a tool name prefix")
                    guard BrokerNames.isName(text), text.utf8.count <= 64 else {
                        throw fail(entry.value, entry.path, "invalid prefix '\(text)'; use 1-64 letters, digits, '_', '.' and '-'")
                    }
                    server.prefix = text
                    layer.marks[entry.path] = entry.value.mark
                case "rules": server.rules = try rules(entry, upstream: true, into: &layer)
                case "budget": server.budget = try budget(entry)
                case "timeout": server.timeout = try backendTimeout(entry)
                case "max_output": server.maxOutput = try byteCap(entry)
                default: break
                }
            }
            guard !server.command.isEmpty else { throw fail(keyNode, path, "missing key 'command'") }
            layer.mcpServers.append(server)
        }
    }

    // MARK: - Helpers

    /// `NAME: {...}` entries of a broker section, names checked.
    private func namedEntries(_ section: Entry, what: String) throws(ProfileError) -> [(String, YAMLNode, YAMLNode, String)] {
        guard case .mapping(let pairs, _) = section.value else {
            throw typeError(section.value, section.path, expected: "a mapping of \(what) names to settings")
        }
        var result: [(String, YAMLNode, YAMLNode, String)] = []
        for pair in pairs {
            let name = pair.key.scalarText ?? ""
            let path = "\(section.path).\(name)"
            guard BrokerNames.isName(name) else {
                throw fail(pair.key, path, "invalid \(what) name '\(name)'; use 1-128 letters, digits, '_', '.' and '-'")
            }
            result.append((name, pair.key, pair.value, path))
        }
        return result
    }

    /// A list that replaces (broker lists never append: `KEY+:` is refused by the section).
    private func plainList<T: Sendable & Equatable>(_ entry: Entry, of items: String, _ decode: (YAMLNode, String) throws(ProfileError) -> T) throws(ProfileError) -> [T] {
        switch try list(entry, of: items, decode) {
        case .replace(let values), .append(let values): return values
        }
    }

    /// A scalar or a list of them.
    private func oneOrMany(_ entry: Entry, expected: String, _ decode: (YAMLNode, String) throws(ProfileError) -> String) throws(ProfileError) -> [String] {
        if case .scalar = entry.value { return [try decode(entry.value, entry.path)] }
        guard case .sequence(let nodes, _) = entry.value, !nodes.isEmpty else {
            throw typeError(entry.value, entry.path, expected: expected)
        }
        return try plainList(entry, of: "values", decode)
    }

    private func nonEmptyText(_ node: YAMLNode, _ path: String, expected: String) throws(ProfileError) -> String {
        let text = try string(node, path, expected: expected)
        if text.isEmpty { throw fail(node, path, "expected \(expected), found an empty string") }
        if let problem = ValueRules.characterProblem(text) { throw fail(node, path, problem) }
        return text
    }
}

extension Section {
    static let jwtCredential = Section(
        name: "credentials.*", keys: ["type", "audiences", "scopes", "max_ttl", "issuer"], expected: "a mapping of credential settings")
    static let secretCredential = Section(name: "credentials.*", keys: ["type", "env", "file"], expected: "a mapping of credential settings")
    static let tool = Section(
        name: "tools.*", keys: ["description", "input_schema", "rules", "budget", "backend"], expected: "a mapping of tool settings")
    static let rule = Section(name: "rules[]", keys: ["id", "effect", "when"], expected: "a rule mapping {id, effect, when}")
    static let upstreamRule = Section(
        name: "rules[]", keys: ["id", "effect", "tools", "when"], expected: "a rule mapping {id, effect, tools, when}")
    static let matchers = Section(
        name: "when.*", keys: ["eq", "in", "prefix", "glob", "regex", "path_under", "max_length", "range", "absent"],
        expected: "a mapping of matchers, such as {prefix: /work}")
    static let budget = Section(name: "budget", keys: ["per_run", "per_minute"], expected: "a mapping with per_run and per_minute")
    static let backend = Section(name: "backend", keys: ["noop", "command", "http"], expected: "a mapping with one of noop, command, http")
    static let commandBackend = Section(
        name: "backend.command", keys: ["argv", "env", "cwd", "timeout", "max_output"], expected: "a mapping of command settings")
    static let httpBackend = Section(
        name: "backend.http", keys: ["method", "url", "headers", "body", "timeout", "max_response"], expected: "a mapping of HTTP settings")
    static let mcpServer = Section(
        name: "mcp_servers.*", keys: ["command", "env", "prefix", "rules", "budget", "timeout", "max_output"],
        expected: "a mapping of MCP server settings")
}

import AgentrunJSON

/// The broker sections as a JSON object for `session.start`'s resolved profile (whose SHA-256
/// is the profile digest the broker reports and writes into tokens).
///
/// Numbers are integers only (durations in ns, sizes in bytes), as provenance records need: JSON
/// values the operator wrote (`input_schema`, `eq`, `in`) are carried as their deterministic JSON
/// text, and `range` bounds as decimal text. Secrets appear by source (variable or file), never by value.
extension BrokerPolicy {
    public var recordJSON: JSON {
        func strings(_ items: [String]) -> JSON { .array(items.map { .string($0) }) }
        func ns(_ seconds: Double) -> JSON { .number(JSONNumber(Int64(clamping: UInt64((seconds * 1e9).rounded())))) }
        func int(_ value: Int?) -> JSON { value.map { .number(JSONNumber($0)) } ?? .null }
        func rules(_ rules: [ToolRule]) -> JSON {
            .array(rules.map { rule in
                [
                    "id": .string(rule.id),
                    "effect": .string(rule.effect.rawValue),
                    "tools": strings(rule.tools),
                    "when": .array(rule.conditions.map { condition in
                        ["pointer": .string(condition.pointer), "matcher": Self.matcherRecord(condition.matcher)]
                    }),
                ]
            })
        }
        func budget(_ budget: ToolBudget) -> JSON { ["per_run": int(budget.perRun), "per_minute": int(budget.perMinute)] }
        func templates(_ map: [String: String]) -> JSON { .object(map.mapValues { .string($0) }) }

        var credentialFields: [String: JSON] = [:]
        for credential in credentials {
            switch credential.kind {
            case .jwt(let jwt):
                credentialFields[credential.name] = [
                    "type": "jwt", "audiences": strings(jwt.audiences), "scopes": strings(jwt.scopes),
                    "max_ttl_ns": ns(jwt.maxTTL), "issuer": .string(jwt.issuer),
                ]
            case .secret(.environment(let variable)):
                credentialFields[credential.name] = ["type": "secret", "env": .string(variable)]
            case .secret(.file(let path)):
                credentialFields[credential.name] = ["type": "secret", "file": .string(path)]
            }
        }
        var toolFields: [String: JSON] = [:]
        for tool in tools {
            let backend: JSON
            switch tool.backend {
            case .noop: backend = ["noop": [:]]
            case .mcp(let server, let name): backend = ["mcp": ["server": .string(server), "tool": .string(name)]]
            case .command(let spec):
                backend = [
                    "command": [
                        "argv": strings(spec.argv), "env": templates(spec.env), "cwd": .string(spec.cwd),
                        "timeout_ns": ns(spec.timeout), "max_output": int(spec.maxOutput),
                    ]
                ]
            case .http(let spec):
                backend = [
                    "http": [
                        "method": .string(spec.method), "url": .string(spec.url), "headers": templates(spec.headers),
                        "body": spec.sendArguments ? "arguments" : "none", "timeout_ns": ns(spec.timeout),
                        "max_response": int(spec.maxResponse),
                    ]
                ]
            }
            toolFields[tool.name] = [
                "description": .string(tool.description),
                "input_schema_json": .string(tool.inputSchema.serializedString),
                "rules": rules(tool.rules),
                "budget": budget(tool.budget),
                "backend": backend,
            ]
        }
        var serverFields: [String: JSON] = [:]
        for server in mcpServers {
            serverFields[server.name] = [
                "command": strings(server.command), "env": templates(server.env), "prefix": .string(server.prefix),
                "rules": rules(server.rules), "budget": budget(server.budget), "timeout_ns": ns(server.timeout),
                "max_output": int(server.maxOutput),
            ]
        }
        return ["credentials": .object(credentialFields), "tools": .object(toolFields), "mcp_servers": .object(serverFields)]
    }

    private static func matcherRecord(_ matcher: ArgumentMatcher) -> JSON {
        func strings(_ items: [String]) -> JSON { .array(items.map { .string($0) }) }
        switch matcher {
        case .eq(let value): return ["eq_json": .string(value.serializedString)]
        case .oneOf(let values): return ["in_json": .string(JSON.array(values).serializedString)]
        case .prefix(let items): return ["prefix": strings(items)]
        case .glob(let items): return ["glob": strings(items)]
        case .regex(let source): return ["regex": .string(source)]
        case .pathUnder(let items): return ["path_under": strings(items)]
        case .maxLength(let n): return ["max_length": .number(JSONNumber(n))]
        case .range(let low, let high):
            return ["range": [.string(InputSchemaValidator.format(low)), .string(InputSchemaValidator.format(high))]]
        case .absent(let flag): return ["absent": .bool(flag)]
        }
    }
}

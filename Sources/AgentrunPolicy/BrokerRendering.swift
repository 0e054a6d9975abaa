import AgentrunJSON

/// `profile show` for `credentials:`, `tools:` and `mcp_servers:`: YAML that loads back to the
/// same `BrokerPolicy` (JSON values in flow style, which is YAML too).
extension BrokerPolicy {
    func renderYAML(into lines: inout [String]) {
        if credentials.isEmpty {
            lines.append("credentials: {}")
        } else {
            lines.append("credentials:")
            for credential in credentials {
                lines.append("  \(YAMLText.scalar(credential.name)):")
                switch credential.kind {
                case .jwt(let jwt):
                    lines.append("    type: jwt")
                    lines.append("    audiences: \(Self.flowList(jwt.audiences))")
                    lines.append("    scopes: \(Self.flowList(jwt.scopes))")
                    lines.append("    max_ttl: \(Units.formatDuration(jwt.maxTTL))")
                    lines.append("    issuer: \(YAMLText.quoted(jwt.issuer))")
                case .secret(.environment(let variable)):
                    lines.append("    type: secret")
                    lines.append("    env: \(YAMLText.scalar(variable))")
                case .secret(.file(let path)):
                    lines.append("    type: secret")
                    lines.append("    file: \(YAMLText.scalar(path))")
                }
            }
        }
        if tools.isEmpty {
            lines.append("tools: {}")
        } else {
            lines.append("tools:")
            for tool in tools {
                lines.append("  \(YAMLText.scalar(tool.name)):")
                lines.append("    description: \(YAMLText.quoted(tool.description))")
                lines.append("    input_schema: \(Self.flow(tool.inputSchema))")
                Self.render(rules: tool.rules, upstream: false, indent: 2, into: &lines)
                Self.render(budget: tool.budget, indent: 2, into: &lines)
                lines.append("    backend:")
                switch tool.backend {
                case .noop, .mcp:
                    lines.append("      noop: {}")
                case .command(let spec):
                    lines.append("      command:")
                    lines.append("        argv: \(Self.flowList(spec.argv))")
                    lines.append("        env: \(Self.flowMap(spec.env))")
                    lines.append("        cwd: \(YAMLText.scalar(spec.cwd))")
                    lines.append("        timeout: \(Units.formatDuration(spec.timeout))")
                    lines.append("        max_output: \(Units.formatSize(UInt64(spec.maxOutput)))")
                case .http(let spec):
                    lines.append("      http:")
                    lines.append("        method: \(spec.method)")
                    lines.append("        url: \(YAMLText.quoted(spec.url))")
                    lines.append("        headers: \(Self.flowMap(spec.headers))")
                    lines.append("        body: \(spec.sendArguments ? "arguments" : "none")")
                    lines.append("        timeout: \(Units.formatDuration(spec.timeout))")
                    lines.append("        max_response: \(Units.formatSize(UInt64(spec.maxResponse)))")
                }
            }
        }
        if mcpServers.isEmpty {
            lines.append("mcp_servers: {}")
        } else {
            lines.append("mcp_servers:")
            for server in mcpServers {
                lines.append("  \(YAMLText.scalar(server.name)):")
                lines.append("    command: \(Self.flowList(server.command))")
                lines.append("    env: \(Self.flowMap(server.env))")
                lines.append("    prefix: \(YAMLText.quoted(server.prefix))")
                Self.render(rules: server.rules, upstream: true, indent: 2, into: &lines)
                Self.render(budget: server.budget, indent: 2, into: &lines)
                lines.append("    timeout: \(Units.formatDuration(server.timeout))")
                lines.append("    max_output: \(Units.formatSize(UInt64(server.maxOutput)))")
            }
        }
    }

    private static func render(rules: [ToolRule], upstream: Bool, indent: Int, into lines: inout [String]) {
        let pad = String(repeating: "  ", count: indent)
        if rules.isEmpty {
            lines.append("\(pad)rules: []")
            return
        }
        lines.append("\(pad)rules:")
        for rule in rules {
            lines.append("\(pad)  - id: \(YAMLText.scalar(rule.id))")
            lines.append("\(pad)    effect: \(rule.effect.rawValue)")
            if upstream { lines.append("\(pad)    tools: \(flowList(rule.tools))") }
            if rule.conditions.isEmpty {
                lines.append("\(pad)    when: {}")
                continue
            }
            lines.append("\(pad)    when:")
            var pointers: [String] = []
            for condition in rule.conditions where !pointers.contains(condition.pointer) { pointers.append(condition.pointer) }
            for pointer in pointers {
                let matchers = rule.conditions.filter { $0.pointer == pointer }.map { matcherText($0.matcher) }
                lines.append("\(pad)      \(YAMLText.quoted(pointer)): {\(matchers.joined(separator: ", "))}")
            }
        }
    }

    private static func render(budget: ToolBudget, indent: Int, into lines: inout [String]) {
        let pad = String(repeating: "  ", count: indent)
        lines.append("\(pad)budget: {per_run: \(budget.perRun.map { String($0) } ?? "unlimited"), per_minute: \(budget.perMinute.map { String($0) } ?? "unlimited")}")
    }

    static func matcherText(_ matcher: ArgumentMatcher) -> String {
        switch matcher {
        case .eq(let value): "eq: \(flow(value))"
        case .oneOf(let values): "in: \(flow(.array(values)))"
        case .prefix(let items): "prefix: \(flowList(items))"
        case .glob(let items): "glob: \(flowList(items))"
        case .regex(let source): "regex: \(YAMLText.quoted(source))"
        case .pathUnder(let items): "path_under: \(flowList(items))"
        case .maxLength(let n): "max_length: \(n)"
        case .range(let low, let high): "range: [\(InputSchemaValidator.format(low)), \(InputSchemaValidator.format(high))]"
        case .absent(let flag): "absent: \(flag)"
        }
    }

    static func flowList(_ items: [String]) -> String {
        "[" + items.map(YAMLText.quoted).joined(separator: ", ") + "]"
    }

    static func flowMap(_ map: [String: String]) -> String {
        "{" + map.sorted { $0.key < $1.key }.map { "\(YAMLText.quoted($0.key)): \(YAMLText.quoted($0.value))" }.joined(separator: ", ") + "}"
    }

    /// JSON as a YAML flow value: strings always quoted, numbers as their text.
    static func flow(_ value: JSON) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): n.text
        case .string(let s): YAMLText.quoted(s)
        case .array(let items): "[" + items.map(flow).joined(separator: ", ") + "]"
        case .object(let fields):
            "{" + fields.sorted { $0.key < $1.key }.map { "\(YAMLText.quoted($0.key)): \(flow($0.value))" }.joined(separator: ", ") + "}"
        }
    }
}

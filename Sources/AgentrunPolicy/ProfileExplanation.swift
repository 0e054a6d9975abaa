import AgentrunJSON

/// `agentrun profile explain`: what a profile allows, in words, for the operator who approves
/// it. Everything that runs on the host (tool backends, MCP servers) and every secret it uses is
/// spelled out; `warnings` lists what is probably a mistake or deserves a second look.
extension Profile {
    public func explanation() -> String {
        var out: [String] = []
        let chain = lineage.count > 1 ? "\(lineage.joined(separator: " -> ")), " : ""
        out.append("Profile \(name) (\(chain)\(source))")
        if !description.isEmpty { out.append("  \(description)") }

        out.append("")
        out.append("Files")
        switch filesystem.workspace {
        case .none: out.append("  workspace: not mounted; the agent starts in its private home")
        case .readOnly: out.append("  workspace (the current directory or --workspace): read-only")
        case .readWrite:
            out.append("  workspace (the current directory or --workspace): read-write"
                + (filesystem.protected.isEmpty ? "" : ", except read-only \(filesystem.protected.joined(separator: ", "))"))
        }
        if !filesystem.system.isEmpty { out.append("  read-only system paths: \(filesystem.system.joined(separator: ", "))") }
        if !filesystem.readOnly.isEmpty { out.append("  read-only: \(filesystem.readOnly.joined(separator: ", "))") }
        if !filesystem.readWrite.isEmpty { out.append("  READ-WRITE host paths: \(filesystem.readWrite.joined(separator: ", "))") }
        out.append("  private, empty: /tmp and the home directory (\(Units.formatSize(filesystem.tmpSize)))"
            + (filesystem.tmpfs.isEmpty ? "" : ", \(filesystem.tmpfs.joined(separator: ", "))"))
        out.append("  programs may run from: \(ExecLocation.allCases.filter(filesystem.exec.contains).map(\.rawValue).joined(separator: ", "))")
        out.append("")
        switch network {
        case .none: out.append("Network: none (loopback only)")
        case .host: out.append("Network: HOST (the host's network stack: the agent can reach anything the host can)")
        }
        let env = process.envPass.isEmpty ? "nothing" : process.envPass.joined(separator: ", ")
        out.append("Environment: passes \(env)"
            + (process.envSet.isEmpty ? "" : "; sets \(process.envSet.keys.sorted().joined(separator: ", "))"))
        var limitParts: [String] = []
        limitParts.append("wall \(limits.wall.map(Units.formatDuration) ?? "unlimited")")
        limitParts.append("cpu \(limits.cpu.map(Units.formatDuration) ?? "unlimited")")
        limitParts.append("memory \(limits.memory.map(Units.formatSize) ?? "unlimited")")
        limitParts.append("processes \(limits.processes.map { String($0) } ?? "unlimited")")
        limitParts.append("open files \(limits.openFiles.map { String($0) } ?? "unlimited")")
        limitParts.append("file size \(limits.fileSize.map(Units.formatSize) ?? "unlimited")")
        out.append("Limits: " + limitParts.joined(separator: ", "))
        out.append("Landlock: \(landlock.rawValue)" + (syscalls.deny.isEmpty ? "" : "; extra denied syscalls: \(syscalls.deny.joined(separator: ", "))"))
        out.append("")
        Self.mediationText(syscalls.mediate, into: &out)

        out.append("")
        out.append("Credentials" + (broker.credentials.isEmpty ? ": none" : ""))
        for credential in broker.credentials {
            switch credential.kind {
            case .jwt(let jwt):
                out.append("  \(credential.name): JWT the agent may request, signed with the run's key")
                out.append("    audiences: \(jwt.audiences.joined(separator: ", ")); scopes: \(jwt.scopes.isEmpty ? "none" : jwt.scopes.joined(separator: ", ")); lifetime at most \(Units.formatDuration(jwt.maxTTL)); issuer \(jwt.issuer)")
            case .secret(let source):
                let origin = switch source {
                case .environment(let variable): "the supervisor's environment variable \(variable)"
                case .file(let path): "the file \(path)"
                }
                let users = Self.secretUsers(credential.name, broker)
                out.append("  \(credential.name): host secret from \(origin); never given to the agent"
                    + (users.isEmpty ? "; used by nothing" : "; used by \(users.joined(separator: ", "))"))
            }
        }

        out.append("")
        out.append("Tools" + (broker.tools.isEmpty ? ": none" : ""))
        for tool in broker.tools {
            let summary = tool.description.split(separator: "\n").first.map(String.init) ?? ""
            out.append("  \(tool.name)" + (summary.isEmpty ? "" : ": \(summary)"))
            out.append("    backend: " + Self.backendText(tool.backend))
            out.append("    arguments: " + Self.argumentsText(tool.inputSchema))
            Self.rulesText(tool.rules, upstream: false, into: &out)
            out.append("    budget: " + Self.budgetText(tool.budget))
        }

        if !broker.mcpServers.isEmpty {
            out.append("")
            out.append("MCP servers")
            for server in broker.mcpServers {
                out.append("  \(server.name): RUNS ON THE HOST: \(server.command.joined(separator: " "))"
                    + (server.env.isEmpty ? "" : " with env \(server.env.keys.sorted().joined(separator: ", "))"))
                out.append("    its tools are offered as \(server.prefix)<tool>; timeout \(Units.formatDuration(server.timeout)), responses up to \(Units.formatSize(UInt64(server.maxOutput)))")
                Self.rulesText(server.rules, upstream: true, into: &out)
                out.append("    budget (all its tools together): " + Self.budgetText(server.budget))
            }
        }

        let warnings = brokerWarnings() + mediationWarnings()
        if !warnings.isEmpty {
            out.append("")
            out.append("Warnings")
            for warning in warnings { out.append("  - \(warning)") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Likely mistakes in `tools:` and `mcp_servers:`, one sentence each.
    public func brokerWarnings() -> [String] {
        var warnings: [String] = []
        if network == .host { warnings.append("network: host lets the agent bypass the broker and reach the network directly") }
        for tool in broker.tools {
            let validator = try? InputSchemaValidator.compile(tool.inputSchema).get()
            let allows = tool.rules.filter { $0.effect == .allow }
            if allows.isEmpty {
                warnings.append("tool \(tool.name) has no allow rule: it is never callable (and not listed)")
            }
            if let rule = tool.rules.first(where: { $0.effect == .deny && $0.conditions.isEmpty }) {
                warnings.append("tool \(tool.name): deny rule \(rule.id) has no conditions: the tool is never callable")
            }
            for rule in tool.rules where rule.effect == .deny {
                for condition in rule.conditions {
                    if case .absent = condition.matcher { continue }
                    guard let property = Self.topLevelProperty(condition.pointer),
                        (validator?.declaredType(of: property) ?? "").isEmpty
                    else { continue }
                    warnings.append("tool \(tool.name): deny rule \(rule.id) checks \(condition.pointer), but the input schema gives '\(property)' no type: a value of another type (a number, a list) slips past the rule; declare its type")
                }
            }
            let arguments = Self.argumentNames(in: tool.backend)
            for name in arguments where !(validator?.requires(name) ?? false) {
                warnings.append("tool \(tool.name): the backend uses {\(name)}, which the schema does not require: calls without it fail")
            }
            if case .command(let spec) = tool.backend {
                let inArgv = Self.argumentNames(in: spec.argv)
                let loose = inArgv.filter { !Self.isRestricted($0, tool: tool, validator: validator) }
                if !loose.isEmpty {
                    warnings.append("tool \(tool.name): the command backend passes agent-controlled text as argv items (\(loose.map { "{\($0)}" }.joined(separator: ", "))): restrict each with regex, in or eq in every allow rule (or enum/pattern in the schema); a value starting with '-' may be read as an option")
                }
                if tool.budget.perRun == nil, tool.budget.perMinute == nil {
                    warnings.append("tool \(tool.name) runs a host command without a budget: consider budget: {per_minute: N}")
                }
            }
            if case .http(let spec) = tool.backend, spec.url.hasPrefix("http://"), spec.headers.values.contains(where: { $0.contains("{secret:") }) {
                warnings.append("tool \(tool.name) sends a secret over plain http://")
            }
        }
        for server in broker.mcpServers where !server.rules.contains(where: { $0.effect == .allow }) {
            warnings.append("mcp server \(server.name) has no allow rule: none of its tools is callable")
        }
        return warnings
    }

    /// Likely mistakes and limits of `syscalls.mediate`, one sentence each.
    public func mediationWarnings() -> [String] {
        let mediate = syscalls.mediate
        var warnings: [String] = []
        if mediate.recordAll {
            warnings.append("syscalls.mediate.record_all is on: every syscall of the agent goes through the supervisor, which is slow; use it to write and debug profiles, not for real runs")
        }
        if !mediate.denyWrite.isEmpty && !mediate.exactFiles {
            warnings.append("syscalls.mediate.deny_write is decided on paths read from the agent's memory, which another thread can change after the check (such records say exact: false); exact_files: true makes it exact")
        }
        return warnings
    }

    // MARK: - Pieces

    static func mediationText(_ mediate: MediationPolicy, into out: inout [String]) {
        guard mediate.isActive else {
            out.append("Syscall mediation: off (no syscall goes through the supervisor)")
            return
        }
        out.append("Syscall mediation (the supervisor receives these calls, records each in the provenance log and decides)")
        if mediate.recordAll {
            out.append("  records EVERY syscall (record_all; slow: for writing and debugging profiles)")
        }
        if mediate.record.isEmpty {
            if !mediate.recordAll { out.append("  record: [] (no group or syscall listed)") }
        } else {
            out.append("  records:")
            for entry in mediate.record {
                guard let group = MediationGroup(rawValue: entry) else { continue }
                out.append("    \(entry): " + groupText(group))
            }
            let single = mediate.record.filter { MediationGroup(rawValue: $0) == nil }
            if !single.isEmpty { out.append("    syscalls: \(single.joined(separator: ", "))") }
        }
        for rule in mediate.denyExec {
            let names = rule.paths.filter(MediationPolicy.PathRule.isProgramName)
            let paths = rule.paths.filter { !MediationPolicy.PathRule.isProgramName($0) }
            var what: [String] = []
            if !names.isEmpty { what.append("programs named \(names.joined(separator: ", "))") }
            if !paths.isEmpty { what.append("programs at \(paths.joined(separator: ", "))") }
            out.append("  deny exec [\(rule.id)]: \(what.joined(separator: "; ")) (also through symlinks, /proc/self/fd and #! interpreters): fails with \(mediate.errno.rawValue); Landlock refuses such files on read-only mounts too (needs a kernel with Landlock); in writable places the rule is best-effort")
        }
        for rule in mediate.denyWrite {
            out.append("  deny write [\(rule.id)]: \(rule.paths.joined(separator: ", ")) (create, write, rename, link, remove, chmod, chown): fails with \(mediate.errno.rawValue)")
        }
        out.append(mediate.exactFiles
            ? "  exact_files: the supervisor performs file writes itself (opens, handing the agent the descriptor; unlink, mkdir, rename, link, symlink, chmod, chown, truncate), so those decisions and records are exact"
            : "  exact_files: off; allowed calls with path arguments continue in the kernel after the supervisor read them (records say exact: false)")
    }

    private static func groupText(_ group: MediationGroup) -> String {
        switch group {
        case .exec: "program executions (execve, execveat): path, argv, environment variable names"
        case .network: "socket addresses of connect, bind and sendto"
        case .fileWrite: "opens for writing or creating, creat, rename, link, symlink, unlink, mkdir, rmdir, mknod, chmod, chown, truncate: paths and flags"
        case .denied: "the calls the built-in filter and syscalls.deny refuse (ptrace, mount, bpf, unshare with namespace flags...), with decision deny and the rule id"
        case .signals: "signals aimed beyond the agent's own process group (kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo)"
        }
    }

    static func ruleText(_ rule: ToolRule, upstream: Bool) -> String {
        var text = "\(rule.effect.rawValue) [\(rule.id)]"
        if upstream { text += rule.tools.isEmpty ? " for every tool" : " for tools \(rule.tools.joined(separator: ", "))" }
        if rule.conditions.isEmpty { return text + (upstream ? "" : " always") }
        return text + " when " + rule.conditions.map { conditionText($0) }.joined(separator: " and ")
    }

    static func conditionText(_ condition: ArgumentCondition) -> String {
        let subject = condition.pointer.isEmpty ? "the arguments" : condition.pointer
        switch condition.matcher {
        case .eq(let value): return "\(subject) equals \(value.serializedString)"
        case .oneOf(let values): return "\(subject) is one of \(values.map(\.serializedString).joined(separator: ", "))"
        case .prefix(let items): return "\(subject) starts with \(items.map { "'\($0)'" }.joined(separator: " or "))"
        case .glob(let items): return "\(subject) matches \(items.map { "'\($0)'" }.joined(separator: " or "))"
        case .regex(let source): return "\(subject) wholly matches /\(source)/"
        case .pathUnder(let items): return "\(subject) is a path under \(items.joined(separator: " or ")) (after removing '.', '..' and '//'; symlinks not resolved)"
        case .maxLength(let n): return "\(subject) has at most \(n) characters (or items)"
        case .range(let low, let high): return "\(subject) is a number from \(InputSchemaValidator.format(low)) to \(InputSchemaValidator.format(high))"
        case .absent(true): return "\(subject) is absent"
        case .absent(false): return "\(subject) is present"
        }
    }

    private static func rulesText(_ rules: [ToolRule], upstream: Bool, into out: inout [String]) {
        if rules.isEmpty {
            out.append("    rules: none (every call is denied)")
            return
        }
        out.append("    rules (any matching deny wins; else the first matching allow; else deny):")
        for rule in rules { out.append("      " + ruleText(rule, upstream: upstream)) }
    }

    private static func budgetText(_ budget: ToolBudget) -> String {
        switch (budget.perRun, budget.perMinute) {
        case (nil, nil): "unlimited"
        case (let run?, nil): "\(run) calls per run"
        case (nil, let minute?): "\(minute) calls per minute"
        case (let run?, let minute?): "\(run) calls per run, \(minute) per minute"
        }
    }

    private static func backendText(_ backend: ToolBackendSpec) -> String {
        switch backend {
        case .noop: return "noop (runs nothing; returns the arguments)"
        case .mcp(let server, let tool): return "tool \(tool) of mcp server \(server)"
        case .command(let spec):
            var text = "RUNS ON THE HOST: \(spec.argv.joined(separator: " ")) (no shell; cwd \(spec.cwd), timeout \(Units.formatDuration(spec.timeout)), output up to \(Units.formatSize(UInt64(spec.maxOutput))))"
            if !spec.env.isEmpty {
                text += "; env " + spec.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            }
            return text
        case .http(let spec):
            var text = "HTTP \(spec.method) \(spec.url) from the host"
            if !spec.headers.isEmpty {
                text += " with headers " + spec.headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            }
            text += "; body: \(spec.sendArguments ? "the arguments as JSON" : "none"); timeout \(Units.formatDuration(spec.timeout)), response up to \(Units.formatSize(UInt64(spec.maxResponse)))"
            return text
        }
    }

    private static func argumentsText(_ schema: JSON) -> String {
        guard let validator = try? InputSchemaValidator.compile(schema).get() else { return "(invalid schema)" }
        let names = validator.propertyNames
        var parts = names.map { name in
            let type = validator.declaredType(of: name) ?? ""
            return "\(name) (\(type.isEmpty ? "any type" : type)\(validator.requires(name) ? ", required" : ""))"
        }
        if schema["additionalProperties"] != .bool(false) { parts.append("other properties allowed") }
        return parts.isEmpty ? "any object" : parts.joined(separator: ", ")
    }

    private static func secretUsers(_ name: String, _ broker: BrokerPolicy) -> [String] {
        var users: [String] = []
        let needle = "{secret:\(name)}"
        for tool in broker.tools {
            switch tool.backend {
            case .command(let spec) where spec.env.values.contains(where: { $0.contains(needle) }): users.append("tool \(tool.name)")
            case .http(let spec) where spec.headers.values.contains(where: { $0.contains(needle) }): users.append("tool \(tool.name)")
            default: break
            }
        }
        for server in broker.mcpServers where server.env.values.contains(where: { $0.contains(needle) }) {
            users.append("mcp server \(server.name)")
        }
        return users
    }

    private static func topLevelProperty(_ pointer: String) -> String? {
        guard case .success(let parsed) = ArgumentPointer.parse(pointer), parsed.tokens.count == 1 else { return nil }
        return parsed.tokens[0]
    }

    private static func argumentNames(in templates: [String]) -> [String] {
        var names: [String] = []
        for template in templates {
            guard case .success(let parts) = TemplateSyntax.parse(template) else { continue }
            for case .argument(let name) in parts where !names.contains(name) { names.append(name) }
        }
        return names
    }

    private static func argumentNames(in backend: ToolBackendSpec) -> [String] {
        switch backend {
        case .command(let spec): argumentNames(in: spec.argv + spec.env.keys.sorted().compactMap { spec.env[$0] })
        case .http(let spec): argumentNames(in: [spec.url] + spec.headers.keys.sorted().compactMap { spec.headers[$0] })
        case .noop, .mcp: []
        }
    }

    /// An argv argument the agent cannot choose freely: typed as a number or boolean, or
    /// limited by the schema (enum, const, pattern), or by regex/in/eq in every allow rule.
    private static func isRestricted(_ name: String, tool: ToolPolicy, validator: InputSchemaValidator?) -> Bool {
        if let property = tool.inputSchema["properties"]?[name] {
            if property["enum"] != nil || property["const"] != nil || property["pattern"] != nil { return true }
            if let type = property["type"]?.stringValue, ["integer", "number", "boolean"].contains(type) { return true }
        }
        let allows = tool.rules.filter { $0.effect == .allow }
        guard !allows.isEmpty else { return true }
        return allows.allSatisfy { rule in
            rule.conditions.contains { condition in
                guard condition.pointer == "/" + name else { return false }
                switch condition.matcher {
                case .regex, .oneOf, .eq: return true
                default: return false
                }
            }
        }
    }
}

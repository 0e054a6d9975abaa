/// Checks of the broker sections that need the whole resolved profile: a rule id, a secret
/// reference or a name can clash with something another file of the `extends` chain wrote.
///
/// They run after each file of the chain is applied, so the first file that makes the profile
/// inconsistent is the one named in the error (its marks give the line when it wrote the entry).
enum BrokerValidation {
    static func validate(_ profile: Profile, marks: [String: YAMLMark], file: String) throws(ProfileError) {
        func fail(_ paths: [String], _ message: String) -> ProfileError {
            let path = paths.first { marks[$0] != nil } ?? paths[0]
            let mark = marks[path]
            return ProfileError(file: file, line: mark?.line, column: mark?.column, keyPath: path, message: message)
        }
        let broker = profile.broker

        // Rule ids are unique across the profile: a decision cites one rule.
        var ruleOwner: [String: String] = [:]
        let ruleSets = broker.tools.map { ("tools.\($0.name).rules", $0.rules) }
            + broker.mcpServers.map { ("mcp_servers.\($0.name).rules", $0.rules) }
        for (owner, rules) in ruleSets {
            for (index, rule) in rules.enumerated() {
                let path = "\(owner)[\(index)]"
                if let first = ruleOwner[rule.id] {
                    throw fail([path + ".id", path], "duplicate rule id '\(rule.id)' (already used by \(first)); rule ids are unique in the profile")
                }
                ruleOwner[rule.id] = path
            }
        }

        // `{secret:NAME}` names a `type: secret` credential.
        let secretNames = broker.credentials.compactMap { credential -> String? in
            if case .secret = credential.kind { return credential.name }
            return nil
        }
        func checkSecrets(_ template: String, _ path: String) throws(ProfileError) {
            guard case .success(let parts) = TemplateSyntax.parse(template) else { return }
            for case .secret(let name) in parts where !secretNames.contains(name) {
                if broker.credentials.contains(where: { $0.name == name }) {
                    throw fail([path], "'{secret:\(name)}' names a jwt credential; only type: secret credentials can be injected")
                }
                var message = "'{secret:\(name)}' names no credential"
                if let close = KeySuggestion.closest(to: name, in: secretNames) { message += "; did you mean '\(close)'?" }
                message += secretNames.isEmpty ? " (define it under credentials: with type: secret)" : " (secrets: \(secretNames.joined(separator: ", ")))"
                throw fail([path], message)
            }
        }
        for tool in broker.tools {
            switch tool.backend {
            case .command(let spec):
                for (name, value) in spec.env.sorted(by: { $0.key < $1.key }) {
                    try checkSecrets(value, "tools.\(tool.name).backend.command.env.\(name)")
                }
            case .http(let spec):
                for (name, value) in spec.headers.sorted(by: { $0.key < $1.key }) {
                    try checkSecrets(value, "tools.\(tool.name).backend.http.headers.\(name)")
                }
            case .noop, .mcp: break
            }
        }
        for server in broker.mcpServers {
            for (name, value) in server.env.sorted(by: { $0.key < $1.key }) {
                try checkSecrets(value, "mcp_servers.\(server.name).env.\(name)")
            }
        }

        // A secret must not reach the sandbox another way.
        let mounted = profile.filesystem.system + profile.filesystem.readOnly + profile.filesystem.readWrite
        for credential in broker.credentials {
            guard case .secret(let source) = credential.kind else { continue }
            switch source {
            case .environment(let variable):
                let path = "credentials.\(credential.name).env"
                if let pattern = profile.process.envPass.first(where: { $0 == variable || ($0.hasSuffix("*") && variable.hasPrefix($0.dropLast())) }) {
                    throw fail([path, "process.env.pass"], "the secret's variable \(variable) is passed into the sandbox by process.env.pass (\(pattern)); the agent would see it. Remove it from env.pass or use another variable")
                }
                if profile.process.envSet[variable] != nil {
                    throw fail([path, "process.env.set"], "the secret's variable \(variable) is also set by process.env.set; use another variable for the secret")
                }
            case .file(let secretFile):
                if let directory = mounted.first(where: { PathNormalization.isUnder(secretFile, $0) }) {
                    throw fail(["credentials.\(credential.name).file"], "the secret file \(secretFile) is inside \(directory), which the sandbox mounts: the agent could read it. Keep secrets outside every mounted path")
                }
            }
        }

        // Every tool name resolves to exactly one place.
        for (index, server) in broker.mcpServers.enumerated() {
            for other in broker.mcpServers[..<index] where other.prefix.hasPrefix(server.prefix) || server.prefix.hasPrefix(other.prefix) {
                throw fail(["mcp_servers.\(server.name).prefix", "mcp_servers.\(server.name)"],
                    "prefix '\(server.prefix)' overlaps the prefix '\(other.prefix)' of mcp_servers.\(other.name); a tool name must resolve to one server")
            }
        }
        for tool in broker.tools {
            if let server = broker.mcpServers.first(where: { tool.name.hasPrefix($0.prefix) }) {
                throw fail(["tools.\(tool.name)"], "the tool name starts with '\(server.prefix)', the prefix of mcp_servers.\(server.name)'s tools; rename the tool or set another prefix")
            }
        }
    }
}

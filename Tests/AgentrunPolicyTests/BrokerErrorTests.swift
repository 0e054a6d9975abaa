import Testing
@testable import AgentrunPolicy

/// Each broker diagnostic: key path, line, column and text.
@Suite struct BrokerErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var yaml: String
        var line: Int?
        var column: Int?
        var keyPath: String
        var message: String
        var testDescription: String { label }
    }

    static let noop = "backend: {noop: {}}"

    static let cases: [Case] = [
        Case(label: "tool name", yaml: "tools:\n  bad name!: {\(noop)}\n", line: 2, column: 3, keyPath: "tools.bad name!",
             message: "invalid tool name 'bad name!'; use 1-128 letters, digits, '_', '.' and '-'"),
        Case(label: "tool name too long", yaml: "tools:\n  \(String(repeating: "a", count: 129)): {\(noop)}\n", line: 2, column: 3,
             keyPath: "tools.\(String(repeating: "a", count: 129))",
             message: "invalid tool name '\(String(repeating: "a", count: 129))'; use 1-128 letters, digits, '_', '.' and '-'"),
        Case(label: "unknown tool key", yaml: "tools:\n  t: {\(noop), rulez: []}\n", line: 2, column: 28, keyPath: "tools.t.rulez",
             message: "unknown key 'rulez'; did you mean 'rules'? allowed: description, input_schema, rules, budget, backend"),
        Case(label: "missing backend", yaml: "tools:\n  t: {description: x}\n", line: 2, column: 3, keyPath: "tools.t",
             message: "missing key 'backend'; a tool needs one of noop: {}, command: {...}, http: {...}"),
        Case(label: "two backends", yaml: "tools:\n  t: {backend: {noop: {}, http: {url: \"https://h\"}}}\n", line: 2, column: 16,
             keyPath: "tools.t.backend", message: "give exactly one backend: noop: {}, command: {...} or http: {...}"),
        Case(label: "noop with settings", yaml: "tools:\n  t: {backend: {noop: {a: 1}}}\n", line: 2, column: 23,
             keyPath: "tools.t.backend.noop", message: "expected {} (noop takes no settings), found a mapping"),
        Case(label: "reserved rule id", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: default-deny, effect: allow}]\n", line: 4, column: 18,
             keyPath: "tools.t.rules[0].id",
             message: "'default-deny' is reserved for decisions agentrun makes itself (reserved: default-deny, unknown-tool, invalid-arguments, budget-per-run, budget-per-minute)"),
        Case(label: "duplicate rule id", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow}, {id: a, effect: deny}]\n",
             line: 4, column: 37, keyPath: "tools.t.rules[1].id", message: "duplicate rule id 'a'; rule ids are unique in the profile"),
        Case(label: "rule without id", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{effect: allow}]\n", line: 4, column: 13,
             keyPath: "tools.t.rules[0]", message: "missing key 'id'; every rule needs an id, cited in decisions and the log"),
        Case(label: "rule effect", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: permit}]\n", line: 4, column: 29,
             keyPath: "tools.t.rules[0].effect", message: "unknown value 'permit'; allowed: allow, deny"),
        Case(label: "tools in a tool rule", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, tools: [\"x*\"]}]\n", line: 4,
             column: 36, keyPath: "tools.t.rules[0].tools",
             message: "'tools' selects upstream tools and is only allowed in mcp_servers rules; a tool's rules apply to that tool"),
        Case(label: "pointer without slash", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, when: {path: {eq: 1}}}]\n",
             line: 4, column: 43, keyPath: "tools.t.rules[0].when[\"path\"]",
             message: "a JSON pointer is empty or starts with '/', found 'path'; write '/path'"),
        Case(label: "pointer escape", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, when: {\"/a~2\": {eq: 1}}}]\n",
             line: 4, column: 43, keyPath: "tools.t.rules[0].when[\"/a~2\"]",
             message: "'~' in a JSON pointer must be followed by 0 (for ~) or 1 (for /)"),
        Case(label: "unknown matcher", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, when: {\"/a\": {regx: x}}}]\n",
             line: 4, column: 50, keyPath: "tools.t.rules[0].when[\"/a\"].regx",
             message: "unknown key 'regx'; did you mean 'regex'? allowed: eq, in, prefix, glob, regex, path_under, max_length, range, absent"),
        Case(label: "bad regex", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, when: {\"/a\": {regex: \"(x\"}}}]\n",
             line: 4, column: 57, keyPath: "tools.t.rules[0].when[\"/a\"].regex", message: "invalid regular expression '(x': expected ')'"),
        Case(label: "bad glob", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, when: {\"/a\": {glob: \"[x\"}}}]\n",
             line: 4, column: 56, keyPath: "tools.t.rules[0].when[\"/a\"].glob", message: "invalid glob '[x': '[' at position 1 has no closing ']'"),
        Case(label: "relative path_under",
             yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, when: {\"/a\": {path_under: [relative/dir]}}}]\n",
             line: 4, column: 63, keyPath: "tools.t.rules[0].when[\"/a\"].path_under[0]",
             message: "expected an absolute, normalised directory (no '.', '..' or '//'), found 'relative/dir'"),
        Case(label: "reversed range", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, when: {\"/a\": {range: [5, 1]}}}]\n",
             line: 4, column: 57, keyPath: "tools.t.rules[0].when[\"/a\"].range", message: "min is above max in [5, 1]"),
        Case(label: "absent not boolean", yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, when: {\"/a\": {absent: yes}}}]\n",
             line: 4, column: 58, keyPath: "tools.t.rules[0].when[\"/a\"].absent", message: "expected true or false, found a string ('yes')"),
        Case(label: "negative max_length",
             yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: a, effect: allow, when: {\"/a\": {max_length: -1}}}]\n", line: 4, column: 62,
             keyPath: "tools.t.rules[0].when[\"/a\"].max_length",
             message: "expected a whole number of characters (or array items), found a number (-1)"),
        Case(label: "zero budget", yaml: "tools:\n  t:\n    \(noop)\n    budget: {per_run: 0}\n", line: 4, column: 23,
             keyPath: "tools.t.budget.per_run", message: "must be between 1 and 1000000000, found 0"),
        Case(label: "schema not an object", yaml: "tools:\n  t:\n    input_schema: {type: array}\n    \(noop)\n", line: 3, column: 19,
             keyPath: "tools.t.input_schema", message: "the input schema must have type: object (tool arguments are an object)"),
        Case(label: "unsupported schema keyword",
             yaml: "tools:\n  t:\n    input_schema:\n      type: object\n      properties:\n        a: {type: string, format: email}\n    \(noop)\n",
             line: 6, column: 27, keyPath: "tools.t.input_schema.properties.a.format",
             message: "unsupported JSON Schema keyword 'format'; supported: type, enum, const, properties, required, additionalProperties, minLength, maxLength, pattern, minimum, maximum, exclusiveMinimum, exclusiveMaximum, items, minItems, maxItems (annotations $comment, $schema, default, description, examples, title are ignored)"),
        Case(label: "relative program", yaml: "tools:\n  t:\n    backend: {command: {argv: [cat, x]}}\n", line: 3, column: 32,
             keyPath: "tools.t.backend.command.argv[0]",
             message: "the program must be a literal absolute path (no PATH lookup, no template), found 'cat'"),
        Case(label: "template names no property",
             yaml: "tools:\n  t:\n    input_schema: {type: object, properties: {path: {type: string}}}\n    backend: {command: {argv: [/bin/cat, \"{pth}\"]}}\n",
             line: 4, column: 42, keyPath: "tools.t.backend.command.argv[1]",
             message: "'{pth}' is not a property of the tool's input_schema; did you mean '{path}'? (properties: path)"),
        Case(label: "secret in argv", yaml: "tools:\n  t:\n    backend: {command: {argv: [/bin/cat, \"{secret:x}\"]}}\n", line: 3, column: 42,
             keyPath: "tools.t.backend.command.argv[1]",
             message: "'{secret:x}' is not allowed here: argv and URLs are visible in host process lists and logs; pass secrets in env or headers"),
        Case(label: "unclosed template", yaml: "tools:\n  t:\n    backend: {command: {argv: [/bin/cat, \"{oops\"]}}\n", line: 3, column: 42,
             keyPath: "tools.t.backend.command.argv[1]", message: "a '{' without '}' in a template; write '{{' for a literal '{'"),
        Case(label: "templated host",
             yaml: "tools:\n  t:\n    input_schema: {type: object, properties: {host: {type: string}}}\n    backend: {http: {url: \"https://{host}/x\"}}\n",
             line: 4, column: 27, keyPath: "tools.t.backend.http.url",
             message: "the host must be literal: a template may only appear in the path or query"),
        Case(label: "URL scheme", yaml: "tools:\n  t:\n    backend: {http: {url: \"ftp://h/x\"}}\n", line: 3, column: 27,
             keyPath: "tools.t.backend.http.url", message: "the URL must start with http:// or https://, found 'ftp://h/x'"),
        Case(label: "forbidden header", yaml: "tools:\n  t:\n    backend: {http: {url: \"https://h/x\", headers: {Host: h}}}\n", line: 3,
             column: 52, keyPath: "tools.t.backend.http.headers.Host", message: "'Host' is set by agentrun itself and cannot be configured"),
        Case(label: "unknown secret", yaml: "tools:\n  t:\n    backend: {command: {argv: [/bin/true], env: {A: \"{secret:nope}\"}}}\n", line: 3,
             column: 53, keyPath: "tools.t.backend.command.env.A",
             message: "'{secret:nope}' names no credential (define it under credentials: with type: secret)"),
        Case(label: "jwt as secret",
             yaml: "credentials:\n  j: {type: jwt, audiences: [a]}\ntools:\n  t:\n    backend: {command: {argv: [/bin/true], env: {A: \"{secret:j}\"}}}\n",
             line: 5, column: 53, keyPath: "tools.t.backend.command.env.A",
             message: "'{secret:j}' names a jwt credential; only type: secret credentials can be injected"),
        Case(label: "secret passed by env.pass", yaml: "credentials:\n  s: {type: secret, env: GH_TOKEN}\nprocess:\n  env:\n    pass: [GH_*]\n",
             line: 2, column: 26, keyPath: "credentials.s.env",
             message: "the secret's variable GH_TOKEN is passed into the sandbox by process.env.pass (GH_*); the agent would see it. Remove it from env.pass or use another variable"),
        Case(label: "secret set by env.set", yaml: "credentials:\n  s: {type: secret, env: GH_TOKEN}\nprocess:\n  env:\n    set: {GH_TOKEN: x}\n",
             line: 2, column: 26, keyPath: "credentials.s.env",
             message: "the secret's variable GH_TOKEN is also set by process.env.set; use another variable for the secret"),
        Case(label: "secret file mounted", yaml: "credentials:\n  s: {type: secret, file: /etc/agentrun/s}\nfilesystem:\n  read_only: [/etc/agentrun]\n",
             line: 2, column: 27, keyPath: "credentials.s.file",
             message: "the secret file /etc/agentrun/s is inside /etc/agentrun, which the sandbox mounts: the agent could read it. Keep secrets outside every mounted path"),
        Case(label: "env and file", yaml: "credentials:\n  s: {type: secret, env: A, file: /x}\n", line: 2, column: 29, keyPath: "credentials.s.file",
             message: "give exactly one of env and file"),
        Case(label: "secret without source", yaml: "credentials:\n  s: {type: secret}\n", line: 2, column: 3, keyPath: "credentials.s",
             message: "a secret credential needs exactly one of env: VARIABLE or file: /absolute/path"),
        Case(label: "jwt without audiences", yaml: "credentials:\n  s: {type: jwt, audiences: []}\n", line: 2, column: 3,
             keyPath: "credentials.s.audiences",
             message: "a jwt credential needs at least one audience (tokens without aud are accepted too widely)"),
        Case(label: "max_ttl above 1h", yaml: "credentials:\n  s: {type: jwt, audiences: [a], max_ttl: 2h}\n", line: 2, column: 43,
             keyPath: "credentials.s.max_ttl", message: "must be between 1s and 1h, found 2h"),
        Case(label: "credential type", yaml: "credentials:\n  s: {type: jwx, audiences: [a]}\n", line: 2, column: 13, keyPath: "credentials.s.type",
             message: "unknown credential type 'jwx'; did you mean 'jwt'? allowed: jwt, secret"),
        Case(label: "missing type", yaml: "credentials:\n  s: {audiences: [a]}\n", line: 2, column: 3, keyPath: "credentials.s",
             message: "missing key 'type'; allowed: jwt, secret"),
        Case(label: "key of the other type", yaml: "credentials:\n  s: {type: jwt, audiences: [a], env: X}\n", line: 2, column: 34,
             keyPath: "credentials.s.env",
             message: "'env' belongs to type: secret credentials; allowed for type: jwt: type, audiences, scopes, max_ttl, issuer"),
        Case(label: "relative MCP program", yaml: "mcp_servers:\n  gh: {command: [gh-mcp]}\n", line: 2, column: 17, keyPath: "mcp_servers.gh.command",
             message: "the program must be an absolute path (no PATH lookup)"),
        Case(label: "tool in a server's prefix", yaml: "mcp_servers:\n  gh: {command: [/bin/gh-mcp]}\ntools:\n  gh_x: {\(noop)}\n", line: 4,
             column: 3, keyPath: "tools.gh_x",
             message: "the tool name starts with 'gh_', the prefix of mcp_servers.gh's tools; rename the tool or set another prefix"),
        Case(label: "overlapping prefixes", yaml: "mcp_servers:\n  gh: {command: [/bin/gh-mcp]}\n  ghx: {command: [/bin/gh-mcp], prefix: gh_x}\n",
             line: 3, column: 41, keyPath: "mcp_servers.ghx.prefix",
             message: "prefix 'gh_x' overlaps the prefix 'gh_' of mcp_servers.gh; a tool name must resolve to one server"),
        Case(label: "rule id shared by a tool and a server",
             yaml: "tools:\n  t:\n    \(noop)\n    rules: [{id: r, effect: allow}]\nmcp_servers:\n  gh:\n    command: [/bin/gh-mcp]\n    rules: [{id: r, effect: allow}]\n",
             line: 8, column: 18, keyPath: "mcp_servers.gh.rules[0].id",
             message: "duplicate rule id 'r' (already used by tools.t.rules[0]); rule ids are unique in the profile"),
    ]

    @Test(arguments: cases)
    func diagnostic(_ c: Case) throws {
        let error = try #require(loadError(c.yaml, file: "profiles/bad.yaml"))
        #expect(error.file == "profiles/bad.yaml")
        #expect(error.message == c.message)
        #expect(error.keyPath == c.keyPath)
        #expect(error.line == c.line)
        #expect(error.column == c.column)
    }
}

@Suite struct BrokerExtendsTests {
    @Test func entriesReplaceByNameOthersInherited() throws {
        let directory = TemporaryDirectory()
        directory.write("base.yaml", """
            credentials:
              gh: {type: secret, env: GH_TOKEN}
              tok: {type: jwt, audiences: [a]}
            tools:
              one:
                rules: [{id: one-ok, effect: allow}]
                backend: {noop: {}}
              two:
                rules: [{id: two-ok, effect: allow}]
                backend: {noop: {}}
            mcp_servers:
              fs: {command: [/bin/fs]}
            """)
        let child = directory.write("child.yaml", """
            extends: ./base.yaml
            credentials:
              tok: {type: jwt, audiences: [b], max_ttl: 1m}
            tools:
              two:
                rules: [{id: two-new, effect: deny}]
                backend: {command: {argv: [/bin/true], env: {T: "{secret:gh}"}}}
              three:
                backend: {noop: {}}
            """)
        let profile = try ProfileStore(searchPaths: []).load(child)
        #expect(profile.broker.credentials.map(\.name) == ["gh", "tok"])
        #expect(profile.broker.credentials[1].kind == .jwt(JWTCredential(audiences: ["b"], maxTTL: 60)))
        #expect(profile.broker.tools.map(\.name) == ["one", "two", "three"])
        #expect(profile.broker.tools[1].rules.map(\.id) == ["two-new"])
        #expect(profile.broker.tools[1].backend == .command(CommandBackendSpec(argv: ["/bin/true"], env: ["T": "{secret:gh}"])))
        #expect(profile.broker.mcpServers.map(\.name) == ["fs"])
    }

    @Test func childThatBreaksTheParentsSecretIsNamed() throws {
        let directory = TemporaryDirectory()
        directory.write("base.yaml", "credentials:\n  gh: {type: secret, env: GH_TOKEN}\n")
        let child = directory.write("child.yaml", "extends: ./base.yaml\nprocess:\n  env:\n    pass+: [GH_TOKEN]\n")
        let error = try #require(loadError(named: child, store: ProfileStore(searchPaths: [])))
        #expect(error.file == child)
        #expect(error.keyPath == "credentials.gh.env")
        #expect(error.line == nil)
        #expect(error.message.hasPrefix("the secret's variable GH_TOKEN is passed into the sandbox by process.env.pass (GH_TOKEN)"))
    }

    @Test func ruleIDsAreUniqueAcrossTheChain() throws {
        let directory = TemporaryDirectory()
        directory.write("base.yaml", "tools:\n  a:\n    rules: [{id: r, effect: allow}]\n    backend: {noop: {}}\n")
        let child = directory.write("child.yaml", "extends: ./base.yaml\ntools:\n  b:\n    rules: [{id: r, effect: allow}]\n    backend: {noop: {}}\n")
        let error = try #require(loadError(named: child, store: ProfileStore(searchPaths: [])))
        #expect(error.keyPath == "tools.b.rules[0].id")
        #expect(error.line == 4)
        // Replacing the tool that owned the id is fine.
        let replacing = directory.write("replace.yaml", "extends: ./base.yaml\ntools:\n  a:\n    rules: [{id: r, effect: deny}]\n    backend: {noop: {}}\n")
        #expect(try ProfileStore(searchPaths: []).load(replacing).broker.tools[0].rules[0].effect == .deny)
    }
}

import AgentrunJSON
import Testing
@testable import AgentrunPolicy

/// A profile with every broker key, loaded from YAML.
let fullBrokerYAML = """
    name: broker-full
    credentials:
      deploy:
        type: jwt
        audiences: [https://api.example.com, ci]
        scopes: [read, write]
        max_ttl: 2m
        issuer: agentrun-test
      gh:
        type: secret
        env: GH_TOKEN
      key:
        type: secret
        file: /var/secrets/key
    tools:
      read_file:
        description: Read a file of the docs.
        input_schema:
          type: object
          properties:
            path: {type: string, maxLength: 4096}
            limit: {type: integer, minimum: 1, maximum: 100}
            ratio: {type: number, maximum: 0.5}
            tag: {type: string, enum: [a, "007", 7]}
          required: [path]
          additionalProperties: false
        rules:
          - id: no-env
            effect: deny
            when:
              /path: {glob: "**/.env"}
          - id: docs
            effect: allow
            when:
              /path: {path_under: /work/docs, max_length: 200}
              /limit: {range: [1, 50]}
        budget: {per_run: 10, per_minute: 5}
        backend:
          command:
            argv: [/usr/bin/cat, "--", "{path}"]
            env: {TOKEN: "{secret:gh}", LITERAL: "{{x}}"}
            cwd: /work
            timeout: 5s
            max_output: 64KiB
      issue:
        description: Open an issue.
        input_schema:
          type: object
          properties:
            repo: {type: string, pattern: "^[a-z]+/[a-z]+$"}
            title: {type: string}
          required: [repo, title]
        rules:
          - id: issue-any
            effect: allow
            when:
              /repo: {in: [acme/web, acme/api], prefix: acme/, regex: "[a-z/]+"}
              /title: {absent: false, eq: hello}
              /other: {absent: true}
        backend:
          http:
            method: POST
            url: https://api.github.com/repos/{repo}/issues
            headers: {Authorization: "Bearer {secret:gh}", Accept: application/json}
            timeout: 10s
            max_response: 1MiB
      ping:
        input_schema: {type: object}
        rules: [{id: ping-ok, effect: allow}]
        backend: {noop: {}}
    mcp_servers:
      github:
        command: [/usr/local/bin/github-mcp, --stdio]
        env: {GITHUB_TOKEN: "{secret:gh}"}
        prefix: gh_
        rules:
          - {id: gh-read, effect: allow, tools: ["get_*", "list_*"]}
          - {id: gh-no-delete, effect: deny, tools: ["delete_*"]}
        budget: {per_minute: 30}
        timeout: 20s
        max_output: 2MiB
    """

@Suite struct BrokerDecodingTests {
    @Test func everyKeyDecodes() throws {
        let profile = try builtinStore.load(yaml: fullBrokerYAML, file: "/tmp/broker-full.yaml")
        let broker = profile.broker
        #expect(broker.credentials.map(\.name) == ["deploy", "gh", "key"])
        #expect(broker.credentials[0].kind == .jwt(JWTCredential(
            audiences: ["https://api.example.com", "ci"], scopes: ["read", "write"], maxTTL: 120, issuer: "agentrun-test")))
        #expect(broker.credentials[1].kind == .secret(.environment("GH_TOKEN")))
        #expect(broker.credentials[2].kind == .secret(.file("/var/secrets/key")))

        #expect(broker.tools.map(\.name) == ["read_file", "issue", "ping"])
        let read = broker.tools[0]
        #expect(read.description == "Read a file of the docs.")
        #expect(read.inputSchema["properties"]?["limit"]?["minimum"] == .number(JSONNumber(1)))
        #expect(read.inputSchema["properties"]?["ratio"]?["maximum"] == .number(JSONNumber(validatedText: "0.5")))
        #expect(read.inputSchema["properties"]?["tag"]?["enum"] == ["a", "007", 7])
        #expect(read.inputSchema["additionalProperties"] == false)
        #expect(read.rules == [
            ToolRule(id: "no-env", effect: .deny, conditions: [ArgumentCondition(pointer: "/path", matcher: .glob(["**/.env"]))]),
            ToolRule(id: "docs", effect: .allow, conditions: [
                ArgumentCondition(pointer: "/path", matcher: .pathUnder(["/work/docs"])),
                ArgumentCondition(pointer: "/path", matcher: .maxLength(200)),
                ArgumentCondition(pointer: "/limit", matcher: .range(min: 1, max: 50)),
            ]),
        ])
        #expect(read.budget == ToolBudget(perRun: 10, perMinute: 5))
        #expect(read.backend == .command(CommandBackendSpec(
            argv: ["/usr/bin/cat", "--", "{path}"], env: ["TOKEN": "{secret:gh}", "LITERAL": "{{x}}"], cwd: "/work", timeout: 5,
            maxOutput: 64 << 10)))

        let issue = broker.tools[1]
        #expect(issue.description == "Open an issue.")
        #expect(issue.rules[0].conditions.map(\.matcher) == [
            .oneOf(["acme/web", "acme/api"]), .prefix(["acme/"]), .regex("[a-z/]+"), .absent(false), .eq("hello"), .absent(true),
        ])
        #expect(issue.backend == .http(HTTPBackendSpec(
            method: "POST", url: "https://api.github.com/repos/{repo}/issues",
            headers: ["Authorization": "Bearer {secret:gh}", "Accept": "application/json"], sendArguments: true, timeout: 10,
            maxResponse: 1 << 20)))
        #expect(issue.budget == ToolBudget())
        #expect(broker.tools[2].backend == .noop)
        #expect(broker.tools[2].description == "")

        #expect(broker.mcpServers == [MCPServerPolicy(
            name: "github", command: ["/usr/local/bin/github-mcp", "--stdio"], env: ["GITHUB_TOKEN": "{secret:gh}"], prefix: "gh_",
            rules: [
                ToolRule(id: "gh-read", effect: .allow, tools: ["get_*", "list_*"]),
                ToolRule(id: "gh-no-delete", effect: .deny, tools: ["delete_*"]),
            ],
            budget: ToolBudget(perMinute: 30), timeout: 20, maxOutput: 2 << 20)])
    }

    @Test func defaults() throws {
        let profile = try builtinStore.load(yaml: """
            credentials:
              t: {type: jwt, audiences: [x]}
            tools:
              get:
                input_schema: {type: object, properties: {id: {type: string}}}
                backend: {http: {url: "http://127.0.0.1:8080/items/{id}"}}
              post:
                backend: {http: {method: PUT, url: "https://h/x"}}
              run:
                backend: {command: {argv: [/bin/true]}}
            mcp_servers:
              fs: {command: [/usr/bin/fs-mcp]}
            """, file: "/tmp/d.yaml")
        #expect(profile.broker.credentials[0].kind == .jwt(JWTCredential(audiences: ["x"], scopes: [], maxTTL: 300, issuer: "agentrun")))
        #expect(profile.broker.tools[0].backend == .http(HTTPBackendSpec(url: "http://127.0.0.1:8080/items/{id}")))
        #expect(profile.broker.tools[0].rules.isEmpty)
        #expect(profile.broker.tools[1].inputSchema == ["type": "object"])
        guard case .http(let put) = profile.broker.tools[1].backend else { Issue.record("not http"); return }
        #expect(put.sendArguments)
        #expect(profile.broker.tools[2].backend == .command(CommandBackendSpec(argv: ["/bin/true"])))
        #expect(profile.broker.mcpServers[0].prefix == "fs_")
        #expect(profile.broker.mcpServers[0].timeout == 30)
    }

    @Test func builtinsHaveNoBrokerSections() throws {
        for name in ["default", "offline", "python-agent", "ci-untrusted"] {
            #expect(try builtinStore.load(name).broker.isEmpty)
        }
    }

    @Test func showRoundTrips() throws {
        let profile = try builtinStore.load(yaml: fullBrokerYAML, file: "/tmp/broker-full.yaml")
        let rendered = profile.renderYAML()
        let again = try builtinStore.load(yaml: rendered, file: "/tmp/broker-full.yaml")
        #expect(again.broker == profile.broker)
        #expect(rendered.contains("  read_file:\n"))
        #expect(rendered.contains("audiences: [\"https://api.example.com\", \"ci\"]"))
        let empty = try builtinStore.load("default").renderYAML()
        #expect(empty.hasSuffix("credentials: {}\ntools: {}\nmcp_servers: {}\n"))
        #expect(try builtinStore.load(yaml: empty, file: "/tmp/default.yaml").broker.isEmpty)
    }

    @Test func yamlScalarsBecomeJSON() throws {
        let profile = try builtinStore.load(yaml: """
            tools:
              t:
                input_schema:
                  type: object
                  properties:
                    a: {const: +5}
                    b: {const: 007}
                    c: {const: -0.50}
                    d: {const: ~}
                    e: {const: "true"}
                    f: {const: true}
                    g: {const: yes}
                    h: {const: "12"}
                    i: {const: 1e3}
                backend: {noop: {}}
            """, file: "/tmp/t.yaml")
        let properties = try #require(profile.broker.tools[0].inputSchema["properties"])
        #expect(properties["a"]?["const"] == .number(JSONNumber(validatedText: "5")))
        #expect(properties["b"]?["const"] == .number(JSONNumber(validatedText: "7")))
        #expect(properties["c"]?["const"] == .number(JSONNumber(validatedText: "-0.50")))
        #expect(properties["d"]?["const"] == .null)
        #expect(properties["e"]?["const"] == "true")
        #expect(properties["f"]?["const"] == true)
        #expect(properties["g"]?["const"] == "yes")
        #expect(properties["h"]?["const"] == "12")
        #expect(properties["i"]?["const"] == "1e3")
    }
}

import AgentrunPolicy
import ArgumentParser
import Foundation
import Testing

@testable import AgentrunCLI

@Suite("check-call and profile explain")
struct CheckCallTests {
    static let profileYAML = """
        name: tools-demo
        credentials:
          gh: {type: secret, env: GH_TOKEN}
        tools:
          read_file:
            description: Read a file.
            input_schema:
              type: object
              properties: {path: {type: string}}
              required: [path]
            rules:
              - {id: no-env, effect: deny, when: {/path: {glob: "**/.env"}}}
              - {id: docs, effect: allow, when: {/path: {path_under: /work/docs}}}
            budget: {per_run: 1}
            backend: {command: {argv: [/usr/bin/cat, "{path}"], env: {T: "{secret:gh}"}}}
          never:
            backend: {noop: {}}
        """

    func withProfile<T>(_ body: (String) throws -> T) throws -> T {
        let path = NSTemporaryDirectory() + "agentrun-check-call-\(UUID().uuidString).yaml"
        try Self.profileYAML.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    let store = ProfileStore(searchPaths: [])

    @Test func decisionsAndExitStatus() throws {
        try withProfile { path in
            let allow = CheckCallCommand.check(store: store, profile: path, tool: "read_file", argumentsText: #"{"path": "/work/docs/a"}"#, json: false)
            #expect(allow == .init(output: "allow (rule docs): allowed by rule 'docs'", status: 0))
            // A dry run: the per-run budget of 1 is not charged, so the same call is allowed again.
            #expect(CheckCallCommand.check(store: store, profile: path, tool: "read_file", argumentsText: #"{"path": "/work/docs/a"}"#, json: false).status == 0)
            let deny = CheckCallCommand.check(store: store, profile: path, tool: "read_file", argumentsText: #"{"path": "/work/docs/.env"}"#, json: false)
            #expect(deny == .init(output: "deny (rule no-env): denied by rule 'no-env'", status: 1))
            let invalid = CheckCallCommand.check(store: store, profile: path, tool: "read_file", argumentsText: "{}", json: false)
            #expect(invalid == .init(output: "deny (rule invalid-arguments): missing required property 'path'", status: 1))
            let unknown = CheckCallCommand.check(store: store, profile: path, tool: "write_file", argumentsText: "{}", json: true)
            #expect(unknown.status == 1)
            #expect(unknown.output == #"{"decision":"deny","dry_run":true,"profile":"tools-demo","reason":"unknown tool 'write_file'","rule_id":"unknown-tool","tool":"write_file"}"#)
        }
    }

    @Test func usageErrorsExit64() throws {
        try withProfile { path in
            let badJSON = CheckCallCommand.check(store: store, profile: path, tool: "read_file", argumentsText: "{path: 1}", json: false)
            #expect(badJSON.status == 64)
            #expect(badJSON.output.hasPrefix("agentrun: ARGS_JSON: invalid JSON at byte 1"))
        }
        let missing = CheckCallCommand.check(store: store, profile: "/nonexistent/p.yaml", tool: "t", argumentsText: "{}", json: false)
        #expect(missing.status == 64)
        #expect(throws: (any Error).self) { try AgentrunCommand.parseAsRoot(["check-call", "read_file", "{}"]) }
        let parsed = try AgentrunCommand.parseAsRoot(["check-call", "--profile", "x", "--json", "t", "{}"])
        let command = try #require(parsed as? CheckCallCommand)
        #expect(command.profile == "x" && command.json && command.tool == "t" && command.arguments == "{}")
    }

    @Test func explainSpellsOutHostEffectsAndWarnings() throws {
        try withProfile { path in
            let text = try store.load(path).explanation()
            #expect(text.contains("  gh: host secret from the supervisor's environment variable GH_TOKEN; never given to the agent; used by tool read_file"))
            #expect(text.contains("    backend: RUNS ON THE HOST: /usr/bin/cat {path} (no shell; cwd /, timeout 30s, output up to 1MiB); env T={secret:gh}"))
            #expect(text.contains("      deny [no-env] when /path matches '**/.env'"))
            #expect(text.contains("      allow [docs] when /path is a path under /work/docs"))
            #expect(text.contains("    budget: 1 calls per run"))
            #expect(text.contains("  - tool never has no allow rule: it is never callable (and not listed)"))
            #expect(text.contains("  - tool read_file: the command backend passes agent-controlled text as argv items ({path})"))
            #expect(!text.contains("GH_TOKEN=") )
            _ = try AgentrunCommand.parseAsRoot(["profile", "explain", path])
        }
    }
}

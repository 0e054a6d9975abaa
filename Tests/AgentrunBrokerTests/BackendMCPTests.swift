import AgentrunJSON
import AgentrunPolicy
import Foundation
import Testing

@testable import AgentrunBroker

@Suite(.serialized) struct BackendMCPTests {
    typealias F = BackendFixtures

    func server(
        _ flags: [String] = [], timeout: Double = 10, maxOutput: Int = 1 << 20, env: [String: String] = ["API_KEY": "{secret:TOKEN}"]
    ) -> MCPServerPolicy {
        MCPServerPolicy(
            name: "fake", command: [F.python, F.fakeMCPServer] + flags, env: env, timeout: timeout, maxOutput: maxOutput
        )
    }

    func started(_ policy: MCPServerPolicy, tools: [ToolPolicy] = []) async throws -> ToolBackends {
        let backends = ToolBackends(policy: F.policy(tools: tools, servers: [policy]), secrets: F.secrets)
        try await backends.start()
        return backends
    }

    func call(_ backends: ToolBackends, _ name: String, _ arguments: JSON = [:], timeout: Double = 10) async throws -> ToolCallResult {
        let backend = try #require(backends.backend(for: name))
        return await backend.call(arguments: arguments, timeout: timeout)
    }

    @Test(arguments: [false, true])
    func listsTheToolsUnderThePrefix(paged: Bool) async throws {
        let backends = try await started(server(paged ? ["--paged"] : []))
        let names = backends.upstreamTools.map(\.name)
        #expect(names == ["fake_echo", "fake_env", "fake_sleep", "fake_crash", "fake_fail", "fake_big", "fake_ask"])
        let echo = try #require(backends.upstreamTools.first)
        #expect(echo.upstreamName == "echo" && echo.server == "fake" && echo.description == "Echo text")
        #expect(echo.inputSchema["properties"]?["text"] == ["type": "string"])
        #expect(backends.backend(for: "fake_bad name!") == nil)
        await backends.shutdown()
    }

    @Test func callsGoThroughAndTheSecretReachesTheServerButNotTheAgent() async throws {
        let backends = try await started(server())
        let echo = try await call(backends, "fake_echo", ["text": "hi {secret:TOKEN}"])
        #expect(echo.status == .ok && F.text(echo) == "hi {secret:TOKEN}")
        let env = try await call(backends, "fake_env", ["name": "API_KEY"])
        // The server saw the value (else "<unset>"); the agent sees only the marker.
        #expect(F.text(env) == "[secret:TOKEN]")
        #expect(env.structuredContent == ["value": "[secret:TOKEN]"])
        // Nothing else of the supervisor's environment passes.
        let home = try await call(backends, "fake_env", ["name": "HOME"])
        #expect(F.text(home) == "<unset>")
        let path = try await call(backends, "fake_env", ["name": "PATH"])
        #expect(F.text(path) == "/usr/bin:/bin")
        await backends.shutdown()
    }

    @Test func concurrentCallsAreMatchedById() async throws {
        let backends = try await started(server())
        let results = await withTaskGroup(of: (Int, String).self) { group in
            for i in 0..<20 {
                group.addTask { (i, F.text((try? await call(backends, "fake_echo", ["text": .string("n\(i)")])) ?? .failure("x"))) }
            }
            var all: [Int: String] = [:]
            for await (i, text) in group { all[i] = text }
            return all
        }
        for i in 0..<20 { #expect(results[i] == "n\(i)") }
        await backends.shutdown()
    }

    @Test func theServersOwnRequestsAreAnswered() async throws {
        let backends = try await started(server())
        let result = try await call(backends, "fake_ask")
        let answers = try #require(JSON.parse(F.text(result)).objectValue)
        #expect(answers["s1"]?["result"] == [:])
        #expect(answers["s2"]?["result"] == ["roots": []])
        #expect(answers["s3"]?["error"]?["code"] == -32601)
        await backends.shutdown()
    }

    @Test func errorsTimeoutsAndOversizedResponses() async throws {
        let backends = try await started(server(maxOutput: 4000))
        let failed = try await call(backends, "fake_fail")
        #expect(failed.isError && F.text(failed).contains("failing on purpose"))

        // `timeout` (not ok) proves the deadline fired before the 1 s answer; no wall-clock bound:
        // in the full parallel suite the test runner's own pool can be held for seconds.
        let slow = try await call(backends, "fake_sleep", ["seconds": 1], timeout: 0.3)
        #expect(slow.status == .timeout && slow.isError)

        let big = try await call(backends, "fake_big", ["size": 10000])
        #expect(big.isError && F.text(big).contains("max_output"))
        // The connection still works afterwards (the late sleep answer and the big line were dropped).
        let echo = try await call(backends, "fake_echo", ["text": "still here"])
        #expect(F.text(echo) == "still here")
        await backends.shutdown()
    }

    @Test func aCrashedServerFailsCallsAtOnce() async throws {
        let backends = try await started(server())
        let crash = try await call(backends, "fake_crash")
        #expect(crash.isError && crash.status == .error)
        #expect(F.text(crash).contains("not running"))
        let started = ContinuousClock.now
        let after = try await call(backends, "fake_echo", ["text": "x"], timeout: 10)
        #expect(after.isError && after.status == .error)
        #expect(ContinuousClock.now - started < .seconds(1))
        await backends.shutdown()
    }

    @Test func aServerThatNeverInitializesStopsTheStart() async throws {
        let marker = "agentrun-noinit-\(UUID().uuidString)"
        let backends = ToolBackends(
            policy: F.policy(servers: [server(["--no-init", "--stderr", marker], timeout: 0.5)]), secrets: F.secrets
        )
        let started = ContinuousClock.now
        do {
            try await backends.start()
            Issue.record("started")
        } catch {
            #expect(error.message.contains("mcp server `fake`"))
            #expect(error.message.contains("initialize"))
            #expect(error.message.contains(marker))  // the end of its stderr
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(processesMatching(marker).isEmpty)
        await backends.shutdown()
    }

    @Test func startFailuresNameTheServer() async throws {
        for policy in [
            MCPServerPolicy(name: "fake", command: ["/nonexistent/server"]),
            MCPServerPolicy(name: "fake", command: ["/bin/true"]),
            MCPServerPolicy(name: "fake", command: [F.python, F.fakeMCPServer], env: ["K": "{arg}"]),
        ] {
            let backends = ToolBackends(policy: F.policy(servers: [policy]), secrets: F.secrets)
            await #expect(throws: BrokerError.self) { try await backends.start() }
            await backends.shutdown()
        }
    }

    @Test func aNameClashStopsTheStart() async throws {
        let backends = ToolBackends(
            policy: F.policy(tools: [ToolPolicy(name: "fake_echo", backend: .noop)], servers: [server()]), secrets: F.secrets
        )
        do {
            try await backends.start()
            Issue.record("started")
        } catch {
            #expect(error.message.contains("fake_echo"))
        }
        await backends.shutdown()
    }

    @Test func shutdownStopsTheServerAndFailsLaterCalls() async throws {
        let marker = "agentrun-shutdown-\(UUID().uuidString)"
        let backends = try await started(server(["--stderr", marker]))
        let backend = try #require(backends.backend(for: "fake_echo"))
        #expect(processesMatching(marker).count == 1)
        // A call in flight when the server is stopped fails instead of hanging.
        async let pending = call(backends, "fake_sleep", ["seconds": 30], timeout: 60)
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        await backends.shutdown()
        #expect(ContinuousClock.now - started < .seconds(4))
        let interrupted = try await pending
        #expect(interrupted.isError)
        #expect(processesMatching(marker).isEmpty)
        let after = await backend.call(arguments: ["text": "x"], timeout: 5)
        #expect(after.isError)
        #expect(backends.backend(for: "fake_echo") == nil)
    }

    @Test func aProfileToolBoundToAnUpstreamTool() async throws {
        let backends = try await started(server(), tools: [ToolPolicy(name: "say", backend: .mcp(server: "fake", tool: "echo"))])
        let result = try await call(backends, "say", ["text": "via profile"])
        #expect(F.text(result) == "via profile")
        await backends.shutdown()
    }
}

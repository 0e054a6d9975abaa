import AgentrunJSON
import AgentrunPolicy
import Foundation
import Testing

@testable import AgentrunBroker

/// Shared pieces of the backend tests: fixture paths, policies, local servers.
enum BackendFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let fakeMCPServer = directory + "/fake_mcp_server.py"
    static let httpServer = directory + "/http_test_server.py"
    static let python = "/usr/bin/python3"

    /// A secret whose 3-character substrings occur in no `[secret:NAME]` marker.
    static let secretValue = "Zq9Xw7Vp5Ry3"
    static let secrets = SecretStore(values: ["TOKEN": secretValue])

    static func policy(tools: [ToolPolicy] = [], servers: [MCPServerPolicy] = []) -> BrokerPolicy {
        BrokerPolicy(
            credentials: [CredentialPolicy(name: "TOKEN", kind: .secret(.environment("AGENTRUN_TEST_TOKEN")))],
            tools: tools, mcpServers: servers
        )
    }

    /// Backends with a single tool `t`, started.
    static func single(_ backend: ToolBackendSpec, secrets: SecretStore = secrets) async throws -> ToolBackends {
        let backends = ToolBackends(policy: policy(tools: [ToolPolicy(name: "t", backend: backend)]), secrets: secrets)
        try await backends.start()
        return backends
    }

    /// The text of every text content item, joined by newlines.
    static func text(_ result: ToolCallResult) -> String {
        result.content.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
    }
}

/// A Python server from Fixtures, started for one test: it prints its port first.
final class LocalServer: @unchecked Sendable {
    let process = Process()
    let port: Int

    init(script: String, arguments: [String] = [], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: BackendFixtures.python)
        process.arguments = [script] + arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
            throw BrokerError("the test server did not start")
        }
        self.port = port
    }

    /// SIGKILL: Foundation's Process starts children with the signal mask of the thread that
    /// spawned them (SIGTERM may be blocked there, swift-corelibs-foundation #4772).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Processes whose command line contains `marker` (to prove none is left behind).
func processesMatching(_ marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        let text = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        guard text.contains(marker) else { return nil }
        // A zombie still shows its (empty) cmdline only while unreaped; count live ones.
        let status = (try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8)) ?? ""
        return status.contains("State:\tZ") ? nil : pid
    }
}

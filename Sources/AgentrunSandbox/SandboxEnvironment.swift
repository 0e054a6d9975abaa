import AgentrunBroker
import AgentrunPolicy

/// The agent's environment: scrubbed to an allow-list so host secrets (AWS_*, GITHUB_TOKEN, SSH
/// agent sockets...) never pass unless named, plus the variables agentrun itself defines.
///
/// Precedence, lowest first: the defaults below, host variables matching `process.env.pass`,
/// `process.env.set`, `--env`. `AGENTRUN_*` identity variables are set last and cannot be overridden.
public struct SandboxEnvironment {
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public enum Problem: Error, Sendable, CustomStringConvertible {
        case badName(String)
        public var description: String {
            switch self {
            case .badName(let text):
                "--env \(text): a variable name is letters, digits and '_', not starting with a digit"
            }
        }
    }

    /// Builds the environment as `KEY=VALUE` strings, sorted by key.
    public static func build(
        process: ProcessPolicy,
        overrides: [String],
        host: [String: String],
        runID: String,
        profileName: String,
        home: String
    ) throws(Problem) -> [String: String] {
        var env: [String: String] = [
            "PATH": defaultPath,
            "HOME": home,
            "USER": "agent",
            "LOGNAME": "agent",
            "SHELL": "/bin/sh",
            "TMPDIR": "/tmp",
        ]
        for (key, value) in host where matches(key, process.envPass) {
            env[key] = value
        }
        for (key, value) in process.envSet {
            env[key] = value
        }
        for item in overrides {
            if let eq = item.firstIndex(of: "=") {
                let key = String(item[..<eq])
                guard isValidName(key) else { throw .badName(item) }
                env[key] = String(item[item.index(after: eq)...])
            } else {
                guard isValidName(item) else { throw .badName(item) }
                if let value = host[item] { env[item] = value } else { env[item] = nil }
            }
        }
        env["AGENTRUN"] = "1"
        env["AGENTRUN_RUN_ID"] = runID
        env["AGENTRUN_PROFILE"] = profileName
        env["AGENTRUN_SOCKET"] = BrokerEndpoint.environmentValue
        return env
    }

    /// `NAME` matches exactly; `PREFIX*` matches names starting with PREFIX.
    public static func matches(_ name: String, _ patterns: [String]) -> Bool {
        patterns.contains { pattern in
            if pattern.hasSuffix("*") { return name.hasPrefix(pattern.dropLast()) }
            return name == pattern
        }
    }

    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(48...57).contains(first) else { return false }
        return name.utf8.allSatisfy { $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }
}

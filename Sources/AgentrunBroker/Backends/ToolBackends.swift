import AgentrunJSON
import AgentrunPolicy
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The host side of every tool the profile defines: builds a backend per `tools:` entry (templates
/// parsed and checked once), starts the `mcp_servers:` and re-exports their tools, and stops
/// them at the end of the run.
///
/// Life cycle: `init` → `start()` (always, even without upstream servers: it reports profile
/// problems found while building the backends) → `backend(for:)` per call → `shutdown()`
/// (always: it stops the servers and the HTTP event loop).
public final class ToolBackends: Sendable {
    private let policy: BrokerPolicy
    private let secrets: SecretStore
    private let scrubber: SecretScrubber
    /// Backends of the profile's `tools:` entries (those of upstream tools come with `start()`).
    private let profileBackends: [String: any ToolBackend]
    /// Problems found while building `profileBackends` (reported by `start()`).
    private let configurationErrors: [String]
    /// For http backends; nil when the profile has none.
    private let eventLoopGroup: MultiThreadedEventLoopGroup?
    private let state = Mutex(State())

    private struct State {
        var started = false
        var shutDown = false
        var servers: [MCPUpstream] = []
        var upstreamTools: [UpstreamTool] = []
        var upstreamBackends: [String: any ToolBackend] = [:]
    }

    public convenience init(policy: BrokerPolicy, secrets: SecretStore) {
        self.init(policy: policy, secrets: secrets, additionalTrustedPEM: nil)
    }

    /// `additionalTrustedPEM` (certificates) lets tests trust a local server; the broker only
    /// uses the system trust store.
    init(policy: BrokerPolicy, secrets: SecretStore, additionalTrustedPEM: [UInt8]?) {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        var tlsError: String?
        if let additionalTrustedPEM {
            do {
                tlsConfiguration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMBytes(additionalTrustedPEM))]
            } catch {
                tlsError = "cannot read the additional trusted certificates: \(error)"
            }
        }
        self.policy = policy
        self.secrets = secrets
        let scrubber = SecretScrubber(secrets)
        self.scrubber = scrubber
        let needsHTTP = policy.tools.contains { if case .http = $0.backend { true } else { false } }
        let group = needsHTTP ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : nil
        eventLoopGroup = group
        var backends: [String: any ToolBackend] = [:]
        var errors: [String] = []
        let servers = Set(policy.mcpServers.map(\.name))
        for tool in policy.tools {
            do throws(Template.Failure) {
                switch tool.backend {
                case .noop:
                    backends[tool.name] = NoopBackend()
                case .command(let spec):
                    backends[tool.name] = try CommandBackend(spec: spec, secrets: secrets, scrubber: scrubber)
                case .http(let spec):
                    guard let group else { throw Template.Failure("no event loop for http") }
                    backends[tool.name] = try HTTPBackend(
                        spec: spec, secrets: secrets, scrubber: scrubber, group: group, tlsConfiguration: tlsConfiguration
                    )
                case .mcp(let server, _):
                    // Bound to the server's connection by start().
                    guard servers.contains(server) else { throw Template.Failure("no `mcp_servers` entry named `\(server)`") }
                }
            } catch {
                errors.append("tool `\(tool.name)`: \(error.message)")
                backends[tool.name] = MisconfiguredBackend(message: error.message)
            }
        }
        profileBackends = backends
        configurationErrors = (tlsError.map { [$0] } ?? []) + errors
    }

    /// Checks the profile's backends and starts every upstream MCP server (`initialize`, then
    /// `tools/list`). Any failure stops what was started and throws: the run must not start.
    public func start() async throws(BrokerError) {
        if let first = configurationErrors.first { throw BrokerError(first) }
        let proceed = state.withLock { state in
            defer { state.started = true }
            return !state.started && !state.shutDown
        }
        guard proceed else { throw BrokerError("the tool backends were already started or shut down") }

        var started: [MCPUpstream] = []
        do throws(BrokerError) {
            for server in policy.mcpServers {
                started.append(try await MCPUpstream.start(server, secrets: secrets, scrubber: scrubber))
            }
            let (tools, backends) = try upstreamBackends(started)
            let stillRunning = state.withLock { state in
                guard !state.shutDown else { return false }
                state.servers = started
                state.upstreamTools = tools
                state.upstreamBackends = backends
                return true
            }
            guard stillRunning else { throw BrokerError("the tool backends were shut down while starting") }
        } catch {
            await ToolBackends.stop(started)
            throw error
        }
    }

    /// Backends for the upstream tools (by their prefixed names) and for `tools:` entries bound
    /// to an upstream tool. Names must be unique across the profile and all servers.
    private func upstreamBackends(_ servers: [MCPUpstream]) throws(BrokerError) -> ([UpstreamTool], [String: any ToolBackend]) {
        var tools: [UpstreamTool] = []
        var backends: [String: any ToolBackend] = [:]
        let profileNames = Set(policy.tools.map(\.name))
        for server in servers {
            for tool in server.tools {
                guard !profileNames.contains(tool.name), backends[tool.name] == nil else {
                    throw BrokerError("mcp server `\(server.policy.name)`: its tool `\(tool.upstreamName)` would be exported as `\(tool.name)`, a name already taken (change `prefix`)")
                }
                backends[tool.name] = MCPToolBackend(
                    connection: server.connection, upstreamName: tool.upstreamName, serverTimeout: server.policy.timeout,
                    scrubber: scrubber
                )
                tools.append(tool)
            }
        }
        for tool in policy.tools {
            guard case .mcp(let serverName, let upstreamName) = tool.backend else { continue }
            guard let server = servers.first(where: { $0.policy.name == serverName }) else {
                throw BrokerError("tool `\(tool.name)`: no `mcp_servers` entry named `\(serverName)`")
            }
            backends[tool.name] = MCPToolBackend(
                connection: server.connection, upstreamName: upstreamName, serverTimeout: server.policy.timeout, scrubber: scrubber
            )
        }
        return (tools, backends)
    }

    /// The tools the upstream servers offer, as the agent sees them (valid after `start()`).
    public var upstreamTools: [UpstreamTool] { state.withLock { $0.upstreamTools } }

    /// The backend of a profile tool or an upstream tool; nil for an unknown name.
    public func backend(for toolName: String) -> (any ToolBackend)? {
        if let backend = state.withLock({ $0.upstreamBackends[toolName] }) { return backend }
        return profileBackends[toolName]
    }

    /// Stops the upstream servers (SIGTERM, SIGKILL after 2 s) and the HTTP event loop. Calls
    /// still waiting on a server fail. Idempotent.
    public func shutdown() async {
        let servers = state.withLock { state in
            state.shutDown = true
            let servers = state.servers
            state.servers = []
            state.upstreamBackends = [:]
            return servers
        }
        await ToolBackends.stop(servers)
        if let eventLoopGroup {
            try? await eventLoopGroup.shutdownGracefully()
        }
    }

    private static func stop(_ servers: [MCPUpstream]) async {
        await withTaskGroup(of: Void.self) { group in
            for server in servers {
                group.addTask { await server.connection.stop() }
            }
        }
    }
}

import AgentrunJSON
import AgentrunPolicy

/// One `mcp_servers:` entry brought up: spawned with its environment (secrets included), then
/// the MCP handshake (`initialize`, `notifications/initialized`) and `tools/list` with all its
/// pages. Its tools are re-exported as `<prefix><name>`.
struct MCPUpstream: Sendable {
    /// The protocol version agentrun asks upstream servers for.
    static let protocolVersion = "2025-06-18"
    /// `tools/list` pages followed at most (a server that keeps returning cursors is broken).
    static let maxPages = 100

    let policy: MCPServerPolicy
    let connection: MCPConnection
    let tools: [UpstreamTool]

    /// The process to start for `policy` (env values may only use `{secret:NAME}`).
    static func commandLine(for policy: MCPServerPolicy, secrets: SecretStore) throws(Template.Failure) -> ToolCommandLine {
        guard let program = policy.command.first, !program.isEmpty else { throw .init("`command` is empty") }
        var variables: [String: String] = ["PATH": ToolCommandLine.defaultPath]
        for name in policy.env.keys.sorted() {
            guard !name.isEmpty, !name.contains("="), !name.containsNUL else { throw .init("`env` has an invalid variable name") }
            let template: Template
            do {
                template = try Template(parsing: policy.env[name] ?? "")
            } catch {
                throw .init("env \(name): \(error.message)")
            }
            if let argument = template.argumentNames.first {
                throw .init("env \(name): `{\(argument)}` — a server's environment can only use `{secret:NAME}`")
            }
            for secret in template.secretNames where secrets[secret] == nil {
                throw .init("the secret `\(secret)` is not a loaded `type: secret` credential")
            }
            variables[name] = try template.render(arguments: [:], secrets: secrets)
        }
        for item in policy.command where item.containsNUL { throw .init("`command` contains a NUL byte") }
        let searchPath = variables["PATH"] ?? ToolCommandLine.defaultPath
        guard let path = ToolCommandLine.resolveProgram(program, searchPath: searchPath) else {
            throw .init("the program `\(program)` is not in \(searchPath)")
        }
        return ToolCommandLine(
            path: path, argv: policy.command, environment: variables.keys.sorted().map { "\($0)=\(variables[$0] ?? "")" }, cwd: "/"
        )
    }

    /// Starts the server and lists its tools; on failure the server is stopped and the error
    /// names it (with the end of its stderr, secrets scrubbed).
    static func start(_ policy: MCPServerPolicy, secrets: SecretStore, scrubber: SecretScrubber) async throws(BrokerError) -> MCPUpstream {
        func failure(_ message: String) -> BrokerError { BrokerError("mcp server `\(policy.name)`: \(message)") }
        let line: ToolCommandLine
        do {
            line = try commandLine(for: policy, secrets: secrets)
        } catch {
            throw failure(error.message)
        }
        let connection: MCPConnection
        switch MCPConnection.start(serverName: policy.name, commandLine: line, maxLine: max(policy.maxOutput, 1)) {
        case .failure(let spawnFailure): throw failure(spawnFailure.description)
        case .success(let started): connection = started
        }
        do throws(BrokerError) {
            let tools = try await handshake(policy, connection: connection, scrubber: scrubber)
            return MCPUpstream(policy: policy, connection: connection, tools: tools)
        } catch {
            await connection.stop()
            let (tail, truncated) = connection.stderrTail
            let drop = truncated ? max(scrubber.maxLength - 1, 0) : 0
            let text = String(decoding: scrubber.scrub(tail, dropLeading: drop).suffix(1024), as: UTF8.self)
            throw BrokerError(error.message + (text.isEmpty ? "" : "\nits stderr ends with:\n" + text))
        }
    }

    private static func handshake(
        _ policy: MCPServerPolicy, connection: MCPConnection, scrubber: SecretScrubber
    ) async throws(BrokerError) -> [UpstreamTool] {
        func failure(_ message: String) -> BrokerError { BrokerError("mcp server `\(policy.name)`: \(scrubber.scrub(message))") }
        let initialize = await connection.request(
            "initialize",
            params: [
                "protocolVersion": .string(protocolVersion), "capabilities": [:],
                "clientInfo": ["name": "agentrun", "version": "1"],
            ],
            timeout: policy.timeout
        )
        switch initialize {
        case .result(let result):
            guard result.objectValue != nil else { throw failure("`initialize` returned a \(result.typeName), not an object") }
        case .error(let code, let message):
            throw failure("`initialize` failed: \(message) (\(code.map(String.init) ?? "no code"))")
        case .failed(let reason):
            throw failure("`initialize` failed: \(reason)")
        case .timeout:
            throw failure("no answer to `initialize` within \(formatSeconds(policy.timeout)) s")
        }
        connection.notify("notifications/initialized", params: [:])

        var tools: [UpstreamTool] = []
        var cursor: String?
        var seen: Set<String> = []
        for _ in 0..<maxPages {
            let params: JSON = cursor.map { ["cursor": .string($0)] } ?? [:]
            let page: JSON
            switch await connection.request("tools/list", params: params, timeout: policy.timeout) {
            case .result(let result): page = result
            case .error(let code, let message):
                throw failure("`tools/list` failed: \(message) (\(code.map(String.init) ?? "no code"))")
            case .failed(let reason): throw failure("`tools/list` failed: \(reason)")
            case .timeout: throw failure("no answer to `tools/list` within \(formatSeconds(policy.timeout)) s")
            }
            guard let list = page["tools"]?.arrayValue else { throw failure("`tools/list` returned no `tools` array") }
            for item in list {
                guard let upstreamName = item["name"]?.stringValue else { throw failure("`tools/list` has a tool without a name") }
                let name = policy.prefix + upstreamName
                // A name the agent could not call, or could confuse with another: not exposed.
                guard MCPUpstream.isValidToolName(name) else { continue }
                guard seen.insert(name).inserted else { throw failure("`tools/list` lists `\(upstreamName)` twice") }
                let schema = item["inputSchema"].flatMap { $0.objectValue != nil ? $0 : nil } ?? ["type": "object"]
                tools.append(
                    UpstreamTool(
                        name: name, description: item["description"]?.stringValue ?? "", inputSchema: schema, server: policy.name,
                        upstreamName: upstreamName
                    )
                )
            }
            guard let next = page["nextCursor"]?.stringValue, !next.isEmpty else { return tools }
            cursor = next
        }
        throw failure("`tools/list` returned more than \(maxPages) pages")
    }

    /// MCP tool names as the broker serves them: 1-128 of `A-Za-z0-9_.-`.
    static func isValidToolName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}

/// A re-exported upstream tool: `tools/call` on its server, the result passed back with secret
/// values scrubbed. A dead server or a timeout is an error result, never a hang.
struct MCPToolBackend: ToolBackend {
    let connection: MCPConnection
    let upstreamName: String
    let serverTimeout: Double
    let scrubber: SecretScrubber

    func call(arguments: JSON, timeout: Double) async -> ToolCallResult {
        let seconds = effectiveTimeout(timeout, serverTimeout)
        let outcome = await connection.request(
            "tools/call", params: ["name": .string(upstreamName), "arguments": arguments], timeout: seconds
        )
        let server = connection.serverName
        switch outcome {
        case .timeout:
            return .failure("the upstream MCP server `\(server)` did not answer within \(formatSeconds(seconds)) s", status: .timeout)
        case .failed(let reason):
            return .failure(scrubber.scrub(reason))
        case .error(let code, let message):
            return .failure(scrubber.scrub("the upstream MCP server `\(server)` answered with an error: \(message) (\(code.map(String.init) ?? "no code"))"))
        case .result(let result):
            guard let fields = result.objectValue else {
                return .failure("the upstream MCP server `\(server)` returned a \(result.typeName), not a result object")
            }
            let content = fields["content"]?.arrayValue ?? []
            guard content.allSatisfy({ $0.objectValue != nil }) else {
                return .failure("the upstream MCP server `\(server)` returned content that is not a list of objects")
            }
            let isError = fields["isError"]?.boolValue ?? false
            let structured = fields["structuredContent"].flatMap { $0.objectValue != nil ? scrubber.scrub($0) : nil }
            return ToolCallResult(
                content: content.map { scrubber.scrub($0) }, structuredContent: structured, isError: isError,
                status: isError ? .error : .ok, detail: "upstream `\(server)`: \(isError ? "isError" : "ok"), \(content.count) content items"
            )
        }
    }
}

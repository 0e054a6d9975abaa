import AgentrunJSON

/// What a backend returns for one tool call: an MCP `CallToolResult` plus how it went, for the
/// provenance record.
public struct ToolCallResult: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable {
        /// The tool ran and succeeded.
        case ok
        /// The tool failed (non-zero exit, HTTP status >= 400, upstream error, could not start...).
        case error
        /// The call's deadline passed (the process group was killed, the request abandoned).
        case timeout
    }

    /// MCP content objects, e.g. `{"type": "text", "text": "..."}`. Secret values are scrubbed.
    public var content: [JSON]
    /// MCP `structuredContent` (always an object when present).
    public var structuredContent: JSON?
    public var isError: Bool
    public var status: Status
    /// One line for the log (exit status, HTTP status, byte counts); never a secret.
    public var detail: String?

    public init(content: [JSON], structuredContent: JSON? = nil, isError: Bool, status: Status, detail: String? = nil) {
        self.content = content
        self.structuredContent = structuredContent
        self.isError = isError
        self.status = status
        self.detail = detail
    }

    /// A failed call whose only content is `message` (already free of secrets).
    static func failure(_ message: String, status: Status = .error, detail: String? = nil) -> ToolCallResult {
        ToolCallResult(content: [.text(message)], isError: true, status: status, detail: detail ?? message)
    }

    /// The MCP `CallToolResult` object for a `tools/call` response.
    public var mcpResult: JSON {
        var result: [String: JSON] = ["content": .array(content), "isError": .bool(isError)]
        if let structuredContent { result["structuredContent"] = structuredContent }
        return .object(result)
    }
}

extension JSON {
    /// An MCP text content object.
    static func text(_ text: String) -> JSON { ["type": "text", "text": .string(text)] }
}

/// A host-side implementation of one tool. Calls never throw: every failure is a result with
/// `isError` (the agent sees why; the broker records it).
public protocol ToolBackend: Sendable {
    /// Runs one call whose arguments the policy already allowed. `timeout` (seconds) bounds the
    /// call together with the backend's own `timeout:` (the smaller wins).
    func call(arguments: JSON, timeout: Double) async -> ToolCallResult
}

/// A tool re-exported from an upstream MCP server, as `tools/list` of that server described it.
public struct UpstreamTool: Sendable, Equatable {
    /// `<prefix><upstreamName>`: the name the agent sees and the policy governs.
    public var name: String
    public var description: String
    public var inputSchema: JSON
    /// The `mcp_servers` entry it comes from.
    public var server: String
    /// The tool's name on its server.
    public var upstreamName: String

    public init(name: String, description: String, inputSchema: JSON, server: String, upstreamName: String) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
        self.server = server
        self.upstreamName = upstreamName
    }
}

/// The smaller of a call's timeout and a backend's own (non-positive values mean "not set").
func effectiveTimeout(_ call: Double, _ backend: Double) -> Double {
    let candidates = [call, backend].filter { $0 > 0 && $0.isFinite }
    return candidates.min() ?? 30
}

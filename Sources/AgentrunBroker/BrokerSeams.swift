import AgentrunJSON
import AgentrunPolicy

/// What the broker needs of the tool-call policy (`ToolPolicyEngine` provides it). Kept as a
/// protocol so the server does not depend on how decisions are made.
protocol ToolPolicyEvaluating: Sendable {
    /// The decision for a call; `consume` counts it against the budgets when allowed.
    func evaluate(tool: String, arguments: JSON, consume: Bool) -> ToolDecision
    /// Whether `tools/list` shows the tool.
    func isListed(tool: String) -> Bool
    /// What is left of the budgets, for /v1/session (`{tool: {per_run, per_minute}}`).
    func remainingBudgetsJSON() -> JSON
}

/// A tool as `tools/list` shows it.
struct ToolListing: Sendable {
    var name: String
    var description: String
    var inputSchema: JSON
}

/// What the broker needs of the tool backends (`ToolBackends` provides it).
protocol ToolRunning: Sendable {
    /// Tools learnt from upstream MCP servers (listed when the policy lists them).
    var upstreamListings: [ToolListing] { get }
    /// Runs the call; nil when no backend serves this tool.
    func run(tool: String, arguments: JSON) async -> ToolCallResult?
}

extension ToolPolicyEngine: ToolPolicyEvaluating {
    func remainingBudgetsJSON() -> JSON {
        var out: [String: JSON] = [:]
        for (name, left) in remainingBudgets() {
            out[name] = [
                "per_run": left.perRun.map { .number(JSONNumber($0)) } ?? .null,
                "per_minute": left.perMinute.map { .number(JSONNumber($0)) } ?? .null,
            ]
        }
        return .object(out)
    }
}

extension ToolBackends: ToolRunning {
    /// Upper bound of one call from the broker's side; each backend's own `timeout:` is usually smaller.
    static let callTimeout: Double = 600

    var upstreamListings: [ToolListing] {
        upstreamTools.map { ToolListing(name: $0.name, description: $0.description, inputSchema: $0.inputSchema) }
    }

    func run(tool: String, arguments: JSON) async -> ToolCallResult? {
        guard let backend = backend(for: tool) else { return nil }
        return await backend.call(arguments: arguments, timeout: Self.callTimeout)
    }
}

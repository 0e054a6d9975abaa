import AgentrunJSON
import Synchronization

/// Decides tool calls against the profile's `tools:` and `mcp_servers:` (docs/profiles.md).
///
/// Order of checks, each ending the evaluation when it denies:
/// 1. the name must be a tool of the profile, or `<prefix><tool>` of an MCP server (`unknown-tool`);
/// 2. the arguments must be an object valid against the tool's input schema (`invalid-arguments`);
/// 3. any matching deny rule denies (rule order does not matter: deny beats allow);
/// 4. else the first matching allow rule (in profile order) allows, if the budget has room
///    (`budget-per-run`, `budget-per-minute`); a consumed allow is charged;
/// 5. else `default-deny`.
///
/// A matcher that meets a value of another type (a number for `prefix`, say) does not match, so
/// neither an allow nor a deny rule applies through it: give deny rules' arguments a type in the
/// input schema, so such calls are refused as `invalid-arguments` before any rule runs.
///
/// Everything is compiled at init; `evaluate` takes the lock only to check and charge a budget.
public final class ToolPolicyEngine: Sendable {
    private let tools: [String: Target]
    /// Upstream servers, longest prefix first.
    private let servers: [Target]
    private let budgets: [ToolBudget]
    private let budgetNames: [String]
    private let now: @Sendable () -> Double
    private let state: Mutex<State>

    private struct State {
        var perRunUsed: [Int]
        /// Per budget: the times of the last `perMinute` charged calls, a ring.
        var recent: [[Double]]
        var next: [Int]
        /// Per server index: the upstream tool names it advertised, when known.
        var upstreamTools: [Int: Set<String>] = [:]
    }

    private struct Rule: Sendable {
        var id: String
        var allow: Bool
        var toolGlobs: [GlobPattern]
        var conditions: [(pointer: ArgumentPointer, matcher: CompiledMatcher)]
    }

    private struct Target: Sendable {
        var name: String
        /// For servers: the prefix.
        var prefix: String
        var serverIndex: Int?
        var schema: InputSchemaValidator?
        var rules: [Rule]
        var budget: Int?
        /// Set when the policy could not be compiled: every call is denied with this reason.
        var brokenReason: String?
    }

    public init(policy: BrokerPolicy, now: @escaping @Sendable () -> Double) {
        var budgets: [ToolBudget] = []
        var budgetNames: [String] = []
        func budgetIndex(_ budget: ToolBudget, _ name: String) -> Int? {
            guard budget.perRun != nil || budget.perMinute != nil else { return nil }
            budgets.append(budget)
            budgetNames.append(name)
            return budgets.count - 1
        }
        var tools: [String: Target] = [:]
        for tool in policy.tools {
            var target = Target(name: tool.name, prefix: "", schema: nil, rules: [], budget: budgetIndex(tool.budget, tool.name))
            switch InputSchemaValidator.compile(tool.inputSchema) {
            case .success(let schema): target.schema = schema
            case .failure(let error): target.brokenReason = "the tool's input schema is invalid at '\(error.pointer)': \(error.message)"
            }
            if tool.inputSchema["type"] != .string("object") { target.brokenReason = "the tool's input schema is not type: object" }
            Self.compileRules(tool.rules, into: &target)
            tools[tool.name] = target
        }
        var servers: [Target] = []
        for (index, server) in policy.mcpServers.enumerated() {
            var target = Target(
                name: server.name, prefix: server.prefix, serverIndex: index, schema: nil, rules: [],
                budget: budgetIndex(server.budget, "mcp:" + server.name))
            Self.compileRules(server.rules, into: &target)
            servers.append(target)
        }
        self.tools = tools
        self.servers = servers.sorted { $0.prefix.utf8.count > $1.prefix.utf8.count }
        self.budgets = budgets
        self.budgetNames = budgetNames
        self.now = now
        self.state = Mutex(State(
            perRunUsed: Array(repeating: 0, count: budgets.count),
            recent: budgets.map { Array(repeating: -Double.infinity, count: $0.perMinute ?? 0) },
            next: Array(repeating: 0, count: budgets.count)))
    }

    private static func compileRules(_ rules: [ToolRule], into target: inout Target) {
        for rule in rules {
            var compiled = Rule(id: rule.id, allow: rule.effect == .allow, toolGlobs: [], conditions: [])
            for pattern in rule.tools {
                switch GlobPattern.compile(pattern) {
                case .success(let glob): compiled.toolGlobs.append(glob)
                case .failure(let error): target.brokenReason = "rule '\(rule.id)': invalid tools glob '\(pattern)': \(error.message)"
                }
            }
            for condition in rule.conditions {
                guard case .success(let pointer) = ArgumentPointer.parse(condition.pointer) else {
                    target.brokenReason = "rule '\(rule.id)': invalid JSON pointer '\(condition.pointer)'"
                    continue
                }
                switch CompiledMatcher.compile(condition.matcher) {
                case .success(let matcher): compiled.conditions.append((pointer, matcher))
                case .failure(let error): target.brokenReason = "rule '\(rule.id)': \(error.message)"
                }
            }
            if BrokerNames.reservedRuleIDs.contains(rule.id) { target.brokenReason = "rule id '\(rule.id)' is reserved" }
            target.rules.append(compiled)
        }
    }

    /// The target governing `tool` and, for an upstream tool, its name without the prefix.
    private func resolve(_ tool: String) -> (target: Target, upstreamName: String?)? {
        if let target = tools[tool] { return (target, nil) }
        for server in servers where tool.utf8.starts(with: server.prefix.utf8) && tool.utf8.count > server.prefix.utf8.count {
            let name = String(tool.utf8.dropFirst(server.prefix.utf8.count))!
            return (server, name)
        }
        return nil
    }

    /// Decides a call. `consume: false` is a dry run (`/v1/check`, `check-call`): budgets are
    /// checked but not charged.
    public func evaluate(tool: String, arguments: JSON, consume: Bool) -> ToolDecision {
        guard let (target, upstreamName) = resolve(tool) else {
            return ToolDecision(effect: .deny, ruleID: "unknown-tool", reason: "unknown tool '\(tool)'")
        }
        if let upstreamName, let index = target.serverIndex {
            let known = state.withLock { $0.upstreamTools[index] }
            if let known, !known.contains(upstreamName) {
                return ToolDecision(effect: .deny, ruleID: "unknown-tool", reason: "unknown tool '\(tool)' (mcp server '\(target.name)' has no tool '\(upstreamName)')")
            }
        }
        if let broken = target.brokenReason {
            return ToolDecision(effect: .deny, ruleID: "default-deny", reason: "the policy of '\(tool)' cannot be used: \(broken)")
        }
        guard case .object = arguments else {
            return ToolDecision(effect: .deny, ruleID: "invalid-arguments", reason: "the arguments must be an object, found \(arguments.typeName)")
        }
        if let schema = target.schema, let problem = schema.validate(arguments) {
            return ToolDecision(effect: .deny, ruleID: "invalid-arguments", reason: problem)
        }
        var allowing: Rule?
        for rule in target.rules where Self.applies(rule, upstreamName) && Self.conditionsHold(rule, arguments) {
            if !rule.allow {
                return ToolDecision(effect: .deny, ruleID: rule.id, reason: "denied by rule '\(rule.id)'")
            }
            if allowing == nil { allowing = rule }
        }
        guard let allowing else {
            return ToolDecision(effect: .deny, ruleID: "default-deny", reason: "no rule allows this call (default deny)")
        }
        if let budget = target.budget, let exhausted = charge(budget, consume: consume) {
            return exhausted
        }
        return ToolDecision(effect: .allow, ruleID: allowing.id, reason: "allowed by rule '\(allowing.id)'")
    }

    @inline(__always)
    private static func applies(_ rule: Rule, _ upstreamName: String?) -> Bool {
        guard let upstreamName, !rule.toolGlobs.isEmpty else { return true }
        return rule.toolGlobs.contains { $0.matches(upstreamName) }
    }

    @inline(__always)
    private static func conditionsHold(_ rule: Rule, _ arguments: JSON) -> Bool {
        for condition in rule.conditions where !condition.matcher.matches(condition.pointer.resolve(in: arguments)) {
            return false
        }
        return true
    }

    /// Nil when the budget has room (and, with `consume`, the call is charged), else the denial.
    private func charge(_ index: Int, consume: Bool) -> ToolDecision? {
        let budget = budgets[index]
        let time = budget.perMinute == nil ? 0 : now()
        return state.withLock { state -> ToolDecision? in
            if let perRun = budget.perRun, state.perRunUsed[index] >= perRun {
                return ToolDecision(effect: .deny, ruleID: "budget-per-run", reason: "budget exhausted: at most \(perRun) calls per run")
            }
            if let perMinute = budget.perMinute {
                // The oldest of the last `perMinute` calls must have left the 60 s window.
                let oldest = state.recent[index][state.next[index]]
                if oldest > time - 60 {
                    return ToolDecision(effect: .deny, ruleID: "budget-per-minute", reason: "rate limit: at most \(perMinute) calls per minute")
                }
            }
            if consume {
                state.perRunUsed[index] += 1
                if let perMinute = budget.perMinute {
                    state.recent[index][state.next[index]] = time
                    state.next[index] = (state.next[index] + 1) % perMinute
                }
            }
            return nil
        }
    }

    /// Whether `tools/list` should offer the tool: it exists, its policy compiled, some allow rule
    /// can apply, and no unconditional deny rule shuts it.
    public func isListed(tool: String) -> Bool {
        guard let (target, upstreamName) = resolve(tool), target.brokenReason == nil else { return false }
        if let upstreamName, let index = target.serverIndex, let known = state.withLock({ $0.upstreamTools[index] }),
            !known.contains(upstreamName)
        {
            return false
        }
        let applicable = target.rules.filter { Self.applies($0, upstreamName) }
        if applicable.contains(where: { !$0.allow && $0.conditions.isEmpty }) { return false }
        return applicable.contains { $0.allow }
    }

    /// Records the tools an upstream MCP server advertised (its `tools/list`, names without the
    /// prefix); calls to other names under its prefix are then `unknown-tool`. Until this is
    /// called, any name under the prefix goes to the server's rules.
    public func setUpstreamTools(server: String, tools names: [String]) {
        guard let index = servers.first(where: { $0.name == server })?.serverIndex else { return }
        state.withLock { $0.upstreamTools[index] = Set(names) }
    }

    /// The MCP server name and unprefixed tool name of an upstream tool, or nil for a profile tool or an unknown name.
    public func upstream(of tool: String) -> (server: String, tool: String)? {
        guard let (target, name) = resolve(tool), let name, target.serverIndex != nil else { return nil }
        return (target.name, name)
    }

    /// What is left of each budget: keyed by tool name, or `mcp:<server>` for an MCP server's
    /// shared budget. Only tools and servers with a budget appear; nil = no limit of that kind.
    public func remainingBudgets() -> [String: BudgetRemaining] {
        let time = budgets.contains { $0.perMinute != nil } ? now() : 0
        return state.withLock { state in
            var result: [String: BudgetRemaining] = [:]
            for (index, budget) in budgets.enumerated() {
                let perRun = budget.perRun.map { max(0, $0 - state.perRunUsed[index]) }
                let perMinute = budget.perMinute.map { limit in limit - state.recent[index].filter { $0 > time - 60 }.count }
                result[budgetNames[index]] = BudgetRemaining(perRun: perRun, perMinute: perMinute)
            }
            return result
        }
    }
}

/// Calls a budget still allows; nil = unlimited.
public struct BudgetRemaining: Sendable, Equatable {
    public var perRun: Int?
    /// Calls allowed right now within the sliding 60 s window.
    public var perMinute: Int?

    public init(perRun: Int?, perMinute: Int?) {
        self.perRun = perRun
        self.perMinute = perMinute
    }
}

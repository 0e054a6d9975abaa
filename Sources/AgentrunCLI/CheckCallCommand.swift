import AgentrunJSON
import AgentrunOS
import AgentrunPolicy
import ArgumentParser

/// `agentrun check-call --profile PROFILE TOOL ARGS_JSON`: the decision the broker would make
/// for one tool call, and the rule that made it, without running anything (a dry run: budgets
/// are full and nothing is charged).
struct CheckCallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-call",
        abstract: "Show the policy decision for a tool call without running it.",
        discussion: """
            Exit status: 0 allowed, 1 denied, 64 for a usage error, invalid JSON arguments or a
            profile that does not load.
            """
    )

    @Option(help: ArgumentHelp("Profile name or path.", valueName: "NAME_OR_PATH"))
    var profile: String

    @Flag(help: "Print the decision as one JSON object.")
    var json = false

    @Argument(help: ArgumentHelp("Tool name, as the agent calls it (upstream MCP tools with their prefix).", valueName: "TOOL"))
    var tool: String

    @Argument(help: ArgumentHelp("The call's arguments, a JSON object (e.g. '{\"path\": \"/work/a\"}').", valueName: "ARGS_JSON"))
    var arguments: String

    func run() throws {
        let outcome = Self.check(store: ProfileCommand.store(), profile: profile, tool: tool, argumentsText: arguments, json: json)
        if outcome.status == 64 {
            Console.error(outcome.output)
        } else {
            Console.out(outcome.output)
        }
        if outcome.status != 0 { throw ExitCode(outcome.status) }
    }

    /// What `run` prints and its exit status; separate so tests drive it without a process.
    struct Outcome: Equatable {
        var output: String
        var status: Int32
    }

    static func check(store: ProfileStore, profile name: String, tool: String, argumentsText: String, json: Bool) -> Outcome {
        let profile: Profile
        do {
            profile = try store.load(name)
        } catch {
            return Outcome(output: "agentrun: \(error)", status: 64)
        }
        let arguments: JSON
        do {
            arguments = try JSON.parse(argumentsText)
        } catch {
            return Outcome(output: "agentrun: ARGS_JSON: \(error)", status: 64)
        }
        let engine = ToolPolicyEngine(policy: profile.broker, now: { 0 })
        let decision = engine.evaluate(tool: tool, arguments: arguments, consume: false)
        let status: Int32 = decision.effect == .allow ? 0 : 1
        if json {
            let object: JSON = [
                "decision": .string(decision.effect.rawValue),
                "rule_id": .string(decision.ruleID),
                "reason": .string(decision.reason),
                "tool": .string(tool),
                "profile": .string(profile.name),
                "dry_run": true,
            ]
            return Outcome(output: object.serializedString, status: status)
        }
        return Outcome(output: "\(decision.effect.rawValue) (rule \(decision.ruleID)): \(decision.reason)", status: status)
    }
}

import AgentrunOS
import AgentrunSandbox
import ArgumentParser

/// `agentrun`: run an untrusted agent in a kernel-enforced sandbox.
public struct AgentrunCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "agentrun",
        abstract: "Run an untrusted AI agent (any Linux program) in a kernel-enforced sandbox.",
        discussion: """
            agentrun -- python agent.py            run under the built-in `default` profile
            agentrun --profile ci-untrusted -- ./agent
            agentrun profile list | show NAME | explain NAME | check FILE...
            agentrun check-call --profile NAME TOOL '{"arg": 1}'   dry-run a tool call
            agentrun log list | show RUN | verify RUN [--key PUB] | export RUN --format ocsf
            agentrun doctor                         check what this host supports

            Exit status: the agent's own; 128+N if it was killed by signal N; 123 if the
            provenance log could not be written (the agent was stopped); 124 on timeout;
            125 if agentrun failed (bad profile, launch failure); 126 if the command cannot be
            executed; 127 if it was not found inside the sandbox.
            """,
        version: AgentrunVersion.current,
        subcommands: [RunCommand.self, ProfileCommand.self, CheckCallCommand.self, LogCommand.self, DoctorCommand.self],
        defaultSubcommand: RunCommand.self
    )

    public init() {}
}

public enum AgentrunVersion {
    public static let current = "0.1.0"
}

/// Writes to stderr without Foundation.
enum Console {
    static func error(_ text: String) {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        _ = Array(line.utf8).withUnsafeBytes { Files.writeAll(fd: 2, $0) }
    }

    static func out(_ text: String) {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        _ = Array(line.utf8).withUnsafeBytes { Files.writeAll(fd: 1, $0) }
    }
}

import ArgumentParser
import Testing

@testable import AgentrunCLI

@Suite("the fast run parser agrees with ArgumentParser")
struct FastRunParserTests {
    /// What ArgumentParser makes of the same arguments, as RunOptions.
    func viaArgumentParser(_ arguments: [String]) -> RunOptions? {
        guard let command = try? AgentrunCommand.parseAsRoot(arguments) as? RunCommand else { return nil }
        return command.options
    }

    @Test("accepted forms parse identically", arguments: [
        ["--", "python3", "agent.py"],
        ["run", "--", "true"],
        ["--profile", "ci-untrusted", "--", "true"],
        ["--profile=offline", "--workspace", "/tmp", "--", "sh", "-c", "exit 3"],
        ["--timeout", "30s", "--env", "FOO=bar", "--env", "BAZ", "-v", "--", "x"],
        ["--verbose", "--env=A=1", "--", "--profile", "x"],
        ["--", "--help"],
        ["run", "--timeout=1h30m", "--", "a", "--", "b"],
        ["--log", "/tmp/run1", "--sign-key=/etc/agentrun/operator.key", "--", "true"],
    ])
    func agree(arguments: [String]) throws {
        let fast = try #require(FastRunParser.parse(arguments))
        let slow = try #require(viaArgumentParser(arguments))
        #expect(fast == slow)
    }

    @Test("everything else is left to ArgumentParser", arguments: [
        ["python3", "agent.py"],
        ["--help"],
        ["--profile"],
        ["--profile", "--", "x"],
        ["--unknown", "x", "--", "true"],
        ["-v", "-v", "--", "true"],
        ["--timeout", "0s", "--", "true"],
        ["--timeout", "soon", "--", "true"],
        ["profile", "list"],
        ["doctor"],
        ["--"],
        [],
        ["--log", "a", "--log", "b", "--", "true"],
    ])
    func declined(arguments: [String]) {
        #expect(FastRunParser.parse(arguments) == nil)
    }
}

import AgentrunJSON
import AgentrunPolicy
import Foundation
import Testing

@testable import AgentrunBroker

@Suite struct BackendCommandTests {
    typealias F = BackendFixtures

    func run(
        _ argv: [String], env: [String: String] = [:], cwd: String = "/", timeout: Double = 10, maxOutput: Int = 1 << 20,
        arguments: JSON = [:]
    ) async throws -> ToolCallResult {
        let backends = try await F.single(.command(CommandBackendSpec(argv: argv, env: env, cwd: cwd, timeout: timeout, maxOutput: maxOutput)))
        let backend = try #require(backends.backend(for: "t"))
        let result = await backend.call(arguments: arguments, timeout: 30)
        await backends.shutdown()
        return result
    }

    @Test func eachTemplateIsExactlyOneArgvItemWhateverTheValueHolds() async throws {
        let hostile = "x; rm -rf / $(id) `id` | cat > /tmp/owned\nsecond line ../../etc {secret:TOKEN} *"
        let result = try await run(["printf", "[%s]\\n", "{a}", "--flag={n}", "{b}"], arguments: ["a": .string(hostile), "n": 7, "b": ""])
        #expect(result.status == .ok)
        #expect(F.text(result) == "[\(hostile)]\n[--flag=7]\n[]\n")
    }

    @Test func nonScalarOrMissingArgumentsFailTheCall() async throws {
        let missing = try await run(["echo", "{a}"], arguments: [:])
        #expect(missing.isError && F.text(missing).contains("`a` is missing"))
        let array = try await run(["echo", "{a}"], arguments: ["a": [1, 2]])
        #expect(array.isError && F.text(array).contains("an array"))
        let nul = try await run(["echo", "{a}"], arguments: ["a": "a\u{0}b"])
        #expect(nul.isError && F.text(nul).contains("NUL"))
    }

    @Test func theEnvironmentIsPathPlusTheSpecAndSecretsAreScrubbedFromOutput() async throws {
        let result = try await run(["env"], env: ["TOKEN": "{secret:TOKEN}", "PLAIN": "p-{a}"], arguments: ["a": "1"])
        #expect(result.status == .ok)
        let lines = F.text(result).split(separator: "\n").sorted()
        #expect(lines == ["PATH=/usr/bin:/bin", "PLAIN=p-1", "TOKEN=[secret:TOKEN]"])
        #expect(!F.text(result).contains(F.secretValue))
    }

    @Test func theSecretReachesTheCommand() async throws {
        // The command compares the variable itself; only the verdict comes back.
        let result = try await run(
            ["sh", "-c", "[ \"$TOKEN\" = \"$EXPECTED\" ] && echo same"], env: ["TOKEN": "{secret:TOKEN}", "EXPECTED": F.secretValue]
        )
        #expect(F.text(result) == "same\n")
    }

    @Test func aNonZeroExitIsAnErrorWithTheStatusAndScrubbedStderr() async throws {
        let result = try await run(["sh", "-c", "echo partial; echo \"oops $TOKEN\" >&2; exit 3"], env: ["TOKEN": "{secret:TOKEN}"])
        #expect(result.isError && result.status == .error)
        let text = F.text(result)
        #expect(text.contains("exited with status 3"))
        #expect(text.contains("oops [secret:TOKEN]"))
        #expect(text.contains("partial"))
        #expect(!text.contains(F.secretValue))
    }

    @Test func theStderrTailIsCappedAndNeverShowsPartOfASecret() async throws {
        let result = try await run(
            ["sh", "-c", "i=0; while [ $i -lt 3000 ]; do printf %s \"$TOKEN\"; i=$((i+1)); done >&2; exit 1"],
            env: ["TOKEN": "{secret:TOKEN}"]
        )
        let message = F.text(result)
        #expect(result.isError)
        #expect(message.utf8.count < 4096 + 200)
        #expect(message.contains("[secret:TOKEN]"))
        let secret = Array(F.secretValue)
        for start in 0...(secret.count - 3) {
            #expect(!message.contains(String(secret[start..<start + 3])))
        }
    }

    @Test func aSignalIsReported() async throws {
        let result = try await run(["sh", "-c", "kill -TERM $$"])
        #expect(result.isError && F.text(result).contains("killed by signal 15"))
    }

    // No wall-clock bounds here: in the full parallel suite, blocking integration tests can hold
    // the test runner's concurrency pool for many seconds, which delays when an awaited call
    // resumes. What the backend did is checked through the processes instead.

    @Test func aTimeoutKillsTheProcessGroup() async throws {
        let marker = "agentrun-timeout-\(UUID().uuidString)"
        let result = try await run(["sh", "-c", "(sleep 120; echo \(marker)) & (sleep 121; echo \(marker)); echo \(marker)"], timeout: 0.5)
        // `timeout`, not `ok`: the deadline fired before the shell's normal exit at 121 s.
        #expect(result.status == .timeout && result.isError)
        try await Task.sleep(for: .milliseconds(100))
        #expect(processesMatching(marker).isEmpty)
    }

    @Test func aBackgroundChildDoesNotHoldTheCallOpen() async throws {
        let unique = "120.\(UInt32.random(in: 100_000...999_999))"
        let started = ContinuousClock.now
        let result = try await run(["sh", "-c", "sleep \(unique) & echo started"], timeout: 20)
        #expect(result.status == .ok)
        #expect(F.text(result) == "started\n")
        // The call did not wait for the background child (holding stdout) to end at 120 s.
        #expect(ContinuousClock.now - started < .seconds(90))
        for pid in processesMatching("sleep \(unique)") { kill(pid, SIGKILL) }
    }

    @Test func outputOverTheCapKillsAndFails() async throws {
        let result = try await run(["head", "-c", "100000", "/dev/zero"], maxOutput: 1000)
        #expect(result.isError && F.text(result).contains("max_output"))
        let exact = try await run(["head", "-c", "1000", "/dev/zero"], maxOutput: 1000)
        #expect(exact.status == .ok && F.text(exact).utf8.count == 1000)
    }

    @Test func onlyStdioReachesTheCommand() async throws {
        // A descriptor the supervisor holds without close-on-exec must not leak either.
        let leaky = open("/dev/null", O_RDONLY)
        defer { close(leaky) }
        #expect(leaky > 2)
        let result = try await run(["ls", "/proc/self/fd"])
        // 3 is ls's own handle on the directory it lists.
        #expect(Set(F.text(result).split(separator: "\n")) == ["0", "1", "2", "3"])
    }

    @Test func signalsAreResetAndTheToolHasItsOwnSession() async throws {
        let status = try await run(["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"])
        let lines = F.text(status).split(separator: "\n")
        #expect(lines.first == "SigBlk:\t0000000000000000")
        // glibc's posix_spawn leaves its two internal signals (32, 33) ignored; nothing else may be.
        let ignored = UInt64(lines.last?.split(separator: "\t").last ?? "", radix: 16)
        #expect(ignored.map { $0 & ~UInt64(0x1_8000_0000) } == 0)
        let stat = try await run(["cat", "/proc/self/stat"])
        // pid (comm) state ppid pgrp session ...
        let fields = F.text(stat).split(separator: ")")[1].split(separator: " ")
        let pid = F.text(stat).split(separator: " ")[0]
        #expect(fields[2] == pid && fields[3] == pid)
    }

    @Test func stdinIsDevNullAndCwdIsApplied() async throws {
        let result = try await run(["sh", "-c", "pwd; cat; echo end"], cwd: "/tmp")
        #expect(F.text(result) == "/tmp\nend\n")
    }

    @Test func aMissingProgramIsAnError() async throws {
        let result = try await run(["no-such-program-agentrun"])
        #expect(result.isError && F.text(result).contains("not in /usr/bin:/bin"))
        let absolute = try await run(["/nonexistent/tool"])
        #expect(absolute.isError && F.text(absolute).contains("cannot start /nonexistent/tool"))
    }

    @Test func anUnknownSecretStopsTheStart() async throws {
        let backends = ToolBackends(
            policy: F.policy(tools: [ToolPolicy(name: "t", backend: .command(CommandBackendSpec(argv: ["echo", "{secret:NOPE}"])))]),
            secrets: F.secrets
        )
        do {
            try await backends.start()
            Issue.record("started")
        } catch {
            #expect(error.message.contains("tool `t`") && error.message.contains("NOPE"))
        }
        let call = await backends.backend(for: "t")?.call(arguments: [:], timeout: 5)
        #expect(call?.isError == true)
        await backends.shutdown()
    }

    @Test func noopReturnsItsArguments() async throws {
        let backends = try await F.single(.noop)
        let result = await backends.backend(for: "t")?.call(arguments: ["a": [1, "b"]], timeout: 1)
        #expect(result?.structuredContent == ["a": [1, "b"]])
        #expect(result.map(F.text) == #"{"a":[1,"b"]}"#)
        #expect(result?.status == .ok)
        #expect(backends.backend(for: "unknown") == nil)
        await backends.shutdown()
    }
}

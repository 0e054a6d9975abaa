#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AgentrunJSON
import AgentrunPolicy
import CAgentrunShim

/// `backend.command:` runs a host program (no shell) per call: each argv item is a template that
/// becomes exactly one argv entry, the environment is PATH plus the spec's `env` (secrets
/// included), stdin is /dev/null, stdout is the result, a non-zero exit is an error carrying
/// the tail of stderr.
struct CommandBackend: ToolBackend {
    /// The most of stderr an error shows.
    static let stderrTailBytes = 4096

    let spec: CommandBackendSpec
    let argv: [Template]
    /// Sorted by name (a deterministic environment).
    let environment: [(name: String, value: Template)]
    let secrets: SecretStore
    let scrubber: SecretScrubber

    init(spec: CommandBackendSpec, secrets: SecretStore, scrubber: SecretScrubber) throws(Template.Failure) {
        guard !spec.argv.isEmpty else { throw .init("`argv` is empty") }
        var argv: [Template] = []
        for (index, item) in spec.argv.enumerated() {
            do {
                argv.append(try Template(parsing: item))
            } catch {
                throw .init("argv[\(index)]: \(error.message)")
            }
        }
        var environment: [(name: String, value: Template)] = []
        for name in spec.env.keys.sorted() {
            guard !name.isEmpty, !name.contains("="), !name.containsNUL else {
                throw .init("`env` has an invalid variable name")
            }
            do {
                environment.append((name, try Template(parsing: spec.env[name] ?? "")))
            } catch {
                throw .init("env \(name): \(error.message)")
            }
        }
        guard spec.cwd.hasPrefix("/") else { throw .init("`cwd` must be an absolute path") }
        guard spec.maxOutput >= 0 else { throw .init("`max_output` is negative") }
        for template in argv + environment.map(\.value) {
            for name in template.secretNames where secrets[name] == nil {
                throw .init("the secret `\(name)` is not a loaded `type: secret` credential")
            }
        }
        self.spec = spec
        self.argv = argv
        self.environment = environment
        self.secrets = secrets
        self.scrubber = scrubber
    }

    /// The process to start for `arguments`, or why the call cannot run.
    func commandLine(for arguments: JSON) throws(Template.Failure) -> ToolCommandLine {
        var items: [String] = []
        for template in argv {
            let item = try template.render(arguments: arguments, secrets: secrets)
            guard !item.containsNUL else { throw .init("an argument value contains a NUL byte") }
            items.append(item)
        }
        var variables: [String: String] = ["PATH": ToolCommandLine.defaultPath]
        for (name, template) in environment {
            let value = try template.render(arguments: arguments, secrets: secrets)
            guard !value.containsNUL else { throw .init("the value of \(name) contains a NUL byte") }
            variables[name] = value
        }
        let searchPath = variables["PATH"] ?? ToolCommandLine.defaultPath
        guard let program = ToolCommandLine.resolveProgram(items[0], searchPath: searchPath) else {
            throw .init("the program `\(items[0])` is not in \(searchPath)")
        }
        return ToolCommandLine(
            path: program, argv: items, environment: variables.keys.sorted().map { "\($0)=\(variables[$0] ?? "")" },
            cwd: spec.cwd
        )
    }

    func call(arguments: JSON, timeout: Double) async -> ToolCallResult {
        let line: ToolCommandLine
        do {
            line = try commandLine(for: arguments)
        } catch {
            return .failure(scrubber.scrub(error.message))
        }
        let seconds = effectiveTimeout(timeout, spec.timeout)
        let maxOutput = spec.maxOutput
        let stderrCapacity = CommandBackend.stderrTailBytes + scrubber.maxLength
        let run = await BackendThread.run { () -> CommandRun in
            CommandRun.execute(line, timeout: seconds, maxOutput: maxOutput, stderrCapacity: stderrCapacity)
        }
        guard let run else { return .failure("cannot start a thread for the command") }
        return result(of: run, timeout: seconds, program: line.path)
    }

    private func result(of run: CommandRun, timeout: Double, program: String) -> ToolCallResult {
        if let spawnError = run.spawnError { return .failure(scrubber.scrub(spawnError.description)) }
        switch run.outcome.kind {
        case Int32(AR_TOOL_TIMEOUT.rawValue):
            return .failure(
                "the command timed out after \(formatSeconds(timeout)) s (its process group was killed)", status: .timeout
            )
        case Int32(AR_TOOL_OUTPUT_LIMIT.rawValue):
            return .failure("the command wrote more than max_output (\(spec.maxOutput) bytes) to stdout; it was killed")
        case Int32(AR_TOOL_FAILED.rawValue):
            return .failure("collecting the command's output failed: \(String(cString: strerror(run.outcome.error)))")
        default:
            break
        }
        let stdout = scrubber.text(run.stdout)
        let exited = run.outcome.status_kind == 1
        let code = run.outcome.status_code
        if exited && code == 0 {
            return ToolCallResult(
                content: [.text(stdout)], isError: false, status: .ok, detail: "exit 0, \(run.stdout.count) bytes of stdout"
            )
        }
        let how = exited ? "exited with status \(code)" : "was killed by signal \(code)"
        var message = "the command \(how)"
        let tail = stderrTail(run)
        if !tail.isEmpty { message += "\nstderr\(run.outcome.stderr_truncated != 0 ? " (last \(CommandBackend.stderrTailBytes) bytes)" : ""):\n\(tail)" }
        var content: [JSON] = [.text(message)]
        if !stdout.isEmpty { content.append(.text(stdout)) }
        return ToolCallResult(
            content: content, isError: true, status: .error,
            detail: "\(exited ? "exit \(code)" : "signal \(code)"), \(run.stdout.count) bytes of stdout"
        )
    }

    /// The end of stderr with secrets replaced. When earlier bytes were dropped, the first bytes
    /// kept might be the end of a secret: they are dropped too (a whole secret is still replaced).
    private func stderrTail(_ run: CommandRun) -> String {
        let drop = run.outcome.stderr_truncated != 0 ? max(scrubber.maxLength - 1, 0) : 0
        let scrubbed = scrubber.scrub(run.stderr, dropLeading: drop)
        return String(decoding: scrubbed.suffix(CommandBackend.stderrTailBytes), as: UTF8.self)
    }
}

/// One execution of a command on the calling (dedicated) thread.
struct CommandRun: Sendable {
    var spawnError: ToolSpawnFailure?
    var outcome = ar_tool_outcome()
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []

    static func execute(_ line: ToolCommandLine, timeout: Double, maxOutput: Int, stderrCapacity: Int) -> CommandRun {
        var run = CommandRun()
        let process: ar_tool_process
        switch line.spawn(stdinPipe: false) {
        case .failure(let failure):
            run.spawnError = failure
            return run
        case .success(let started): process = started
        }
        var out = [UInt8](repeating: 0, count: max(maxOutput, 1))
        var err = [UInt8](repeating: 0, count: max(stderrCapacity, 1))
        var outcome = ar_tool_outcome()
        let milliseconds = Int64((timeout * 1000).rounded(.up))
        withUnsafePointer(to: process) { processPointer in
            out.withUnsafeMutableBufferPointer { outBuffer in
                err.withUnsafeMutableBufferPointer { errBuffer in
                    _ = ar_tool_collect(
                        processPointer, milliseconds, outBuffer.baseAddress, maxOutput, errBuffer.baseAddress, stderrCapacity,
                        &outcome
                    )
                }
            }
        }
        run.outcome = outcome
        run.stdout = Array(out[0..<min(outcome.stdout_len, out.count)])
        run.stderr = Array(err[0..<min(outcome.stderr_len, err.count)])
        return run
    }
}

/// `1.5` → "1.5", `30` → "30".
func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(seconds)
}

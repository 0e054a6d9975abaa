import AgentrunOS
import AgentrunPolicy
import AgentrunProvenance
import AgentrunSandbox
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `agentrun [run] [OPTIONS] -- COMMAND [ARGS...]`
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run COMMAND in a sandbox (the default subcommand: `agentrun -- cmd`)."
    )

    @Option(name: .long, help: ArgumentHelp("Profile name or path to a YAML file.", valueName: "NAME|PATH"))
    var profile: String = "default"

    @Option(name: .long, help: ArgumentHelp("Directory mounted read-write at the same path (default: current directory).", valueName: "DIR"))
    var workspace: String?

    @Option(name: .long, help: ArgumentHelp("Wall-clock limit, e.g. 90s, 30m (overrides limits.wall).", valueName: "DURATION"))
    var timeout: String?

    @Option(name: .long, help: ArgumentHelp("Set KEY=VALUE, or pass KEY from the host environment. Repeatable.", valueName: "KEY[=VALUE]"))
    var env: [String] = []

    @Option(name: .long, help: ArgumentHelp("Run directory for the provenance log (default: the state directory).", valueName: "DIR"))
    var log: String?

    @Option(name: .long, help: ArgumentHelp("Operator Ed25519 key that certifies the run's log key (overrides provenance.sign_key).", valueName: "FILE"))
    var signKey: String?

    @Flag(name: .shortAndLong, help: "Describe the sandbox on stderr before starting it.")
    var verbose = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after `--`.", valueName: "COMMAND"))
    var command: [String] = []

    var options: RunOptions {
        RunOptions(
            profile: profile, workspace: workspace, timeout: timeout, env: env, log: log, signKey: signKey, verbose: verbose,
            command: command)
    }

    func validate() throws {
        if let problem = options.problem { throw ValidationError(problem) }
    }

    func run() throws {
        throw ExitCode(options.execute())
    }
}

/// The options of `agentrun run`, independent of how they were parsed.
public struct RunOptions: Sendable, Equatable {
    public var profile: String = "default"
    public var workspace: String?
    public var timeout: String?
    public var env: [String] = []
    public var log: String?
    public var signKey: String?
    public var verbose = false
    public var command: [String] = []

    public init(
        profile: String = "default", workspace: String? = nil, timeout: String? = nil, env: [String] = [], log: String? = nil,
        signKey: String? = nil, verbose: Bool = false, command: [String] = []
    ) {
        self.profile = profile
        self.workspace = workspace
        self.timeout = timeout
        self.env = env
        self.log = log
        self.signKey = signKey
        self.verbose = verbose
        self.command = command
    }

    /// Why these options are unusable (a usage error, exit 64), or nil.
    public var problem: String? {
        if command.isEmpty {
            return "missing command: agentrun [OPTIONS] -- COMMAND [ARGS...] (the command goes after `--`)"
        }
        if let timeout, (Units.parseDuration(timeout) ?? 0) <= 0 {
            return "--timeout \(timeout): expected a positive duration such as 90s, 30m or 1h30m"
        }
        return nil
    }

    /// Runs the sandbox and returns agentrun's exit status.
    public func execute() -> Int32 {
        let environment = HostEnvironment.current()
        let store = ProfileStore(searchPaths: ProfileStore.defaultSearchPaths(environment: environment))
        let resolved: Profile
        do {
            resolved = try store.load(profile)
        } catch {
            Console.error("agentrun: profile: \(error)")
            return ExitCodes.launchFailed
        }
        guard let cwd = Files.currentDirectory() else {
            Console.error("agentrun: cannot determine the current directory")
            return ExitCodes.launchFailed
        }
        let request = LaunchRequest(
            command: command, profile: resolved, workspace: workspace,
            timeout: timeout.flatMap(Units.parseDuration), environmentOverrides: env,
            runID: RunID.make(), hostEnvironment: environment, currentDirectory: cwd,
            profileSearchPaths: store.searchPaths)
        do {
            let plan = try LaunchPlanner.plan(request, host: HostInfo.current(), seed: UInt32.random(in: 0...UInt32.max))
            let provenance = try RunLogSetup.prepare(
                options: self, profile: resolved, plan: plan, environment: environment, cwd: cwd)
            let outcome = try SandboxRun.execute(
                plan, terminal: TerminalPlan.detect(), provenance: provenance, verbose: verbose
            ) { Console.error("agentrun: \($0)") }
            switch outcome {
            case .timedOut:
                Console.error("agentrun: timed out after \(Units.formatDuration(plan.wallTimeout ?? 0)); the sandbox was killed")
            case .initDied(let reason):
                Console.error("agentrun: \(reason)")
            case .provenanceFailed(let reason):
                Console.error("agentrun: provenance log failure, the sandbox was stopped: \(reason)")
            case .exited, .signaled:
                break
            }
            Console.error("agentrun: run \(plan.runID) \(outcome.summary); log \(provenance.recorder.writer.path)")
            return outcome.exitCode
        } catch {
            Console.error("agentrun: \(error.description)")
            if error.exitCode == ExitCodes.launchFailed, !error.description.contains("agentrun doctor") {
                Console.error("  see also: agentrun doctor")
            }
            return error.exitCode
        }
    }
}

/// The supervisor's environment as a dictionary (from `environ`, without Foundation).
enum HostEnvironment {
    static func current() -> [String: String] {
        var result: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let item = String(cString: entry)
            if let eq = item.firstIndex(of: "=") {
                result[String(item[..<eq])] = String(item[item.index(after: eq)...])
            }
            p += 1
        }
        return result
    }
}

import AgentrunOS
import AgentrunPolicy
import AgentrunProvenance
import AgentrunSandbox
import AgentrunBroker

/// Opens a run's provenance log before anything starts: the run directory, a fresh run key
/// (certified by the operator key when one is configured), the redactor and the writer.
/// A run whose log cannot be created does not start (exit 123).
enum RunLogSetup {
    static func prepare(
        options: RunOptions, profile: Profile, plan: LaunchPlan, environment: [String: String], cwd: String
    ) throws(LaunchError) -> RunProvenance {
        let settings = profile.provenance
        let directory: String
        if let log = options.log {
            directory = Paths.normalize(Paths.join(cwd, log))
        } else {
            let base = settings.dir ?? RunDirectory.stateRoot(environment: environment)
            directory = base + "/" + plan.runID
        }
        do {
            try RunDirectory.create(directory)
        } catch {
            throw LaunchError(
                stage: "provenance: create the run directory \(directory)", cause: error.description,
                fix: "choose a writable place with --log DIR or provenance.dir", exitCode: ExitCodes.provenanceFailed)
        }

        let runKey = RunKey.generate()
        var certificate: JSONValue?
        if let keyPath = options.signKey ?? settings.signKey {
            do {
                certificate = try OperatorKey.load(path: Paths.join(cwd, keyPath)).certify(runID: plan.runID, runKey: runKey)
            } catch {
                throw LaunchError(
                    stage: "provenance: load the operator key \(keyPath)", cause: error.description,
                    fix: "give an Ed25519 private key (openssl genpkey -algorithm ed25519, or `agentrun log keygen`)")
            }
        }
        let brokerSecrets = try BrokerSecrets.load(profile: profile, plan: plan, environment: environment)
        let secrets = settings.secrets.compactMap { environment[$0] } + brokerSecrets.values.values.sorted()
        let redactor = Redactor(secrets: secrets)
        let writerOptions = ProvenanceWriter.Options(
            checkpointEvery: settings.checkpointEvery, checkpointInterval: settings.checkpointInterval,
            durability: settings.durability == .record ? .record : .checkpoint)
        let writer: ProvenanceWriter
        do {
            writer = try ProvenanceWriter.create(
                path: directory + "/log.jsonl", runID: plan.runID, runKey: runKey, redactor: redactor, options: writerOptions)
        } catch {
            throw LaunchError(
                stage: "provenance: create \(directory)/log.jsonl", cause: error.description,
                fix: "a run directory must be new: pass another --log DIR", exitCode: ExitCodes.provenanceFailed)
        }
        let context = RunRecorder.Context(
            version: AgentrunVersion.current, argv: CommandLine.arguments, cwd: cwd, profile: profile, certificate: certificate)
        return RunProvenance(recorder: RunRecorder(writer: writer, runKey: runKey), context: context, secrets: brokerSecrets)
    }
}

extension RunOutcome {
    /// For the end-of-run line on stderr.
    var summary: String {
        switch self {
        case .exited(let code): "exited \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        case .timedOut: "timed out"
        case .initDied: "ended abnormally"
        case .provenanceFailed: "stopped: provenance failure"
        }
    }
}

import AgentrunBroker
import AgentrunOS
import AgentrunPolicy
import AgentrunSandbox

/// Loads the profile's host secrets before anything starts, and refuses a launch through which
/// one would reach the agent: a secret must stay on the host side (the broker's tools), so its
/// value may not appear in the agent's environment or command line, and its file may not lie
/// inside anything the sandbox mounts.
enum BrokerSecrets {
    static func load(profile: Profile, plan: LaunchPlan, environment: [String: String]) throws(LaunchError) -> SecretStore {
        let sources = profile.broker.credentials.compactMap { credential -> (String, SecretSource)? in
            if case .secret(let source) = credential.kind { return (credential.name, source) }
            return nil
        }
        guard !sources.isEmpty else { return SecretStore() }
        let store: SecretStore
        do {
            store = try SecretStore.load(profile.broker, environment: environment)
        } catch {
            throw LaunchError(
                stage: "broker: load the profile's secrets", cause: error.description,
                fix: "set the variable or create the file named in the profile's credentials")
        }
        for (name, source) in sources {
            guard let value = store[name] else { continue }
            for (key, passed) in plan.environment where passed.contains(value) {
                throw LaunchError(
                    stage: "broker: keep secret `\(name)` out of the sandbox",
                    cause: "its value would reach the agent in the environment variable \(key)",
                    fix: "do not pass it with --env or process.env; tools receive it on the host through {secret:\(name)}")
            }
            if plan.argv.contains(where: { $0.contains(value) }) {
                throw LaunchError(
                    stage: "broker: keep secret `\(name)` out of the sandbox", cause: "its value is on the agent's command line",
                    fix: "never give the agent the secret; tools receive it on the host through {secret:\(name)}")
            }
            if case .file(let path) = source, let visible = plan.visibleHostPath(Files.realPath(path) ?? path) {
                throw LaunchError(
                    stage: "broker: keep secret `\(name)` out of the sandbox",
                    cause: "its file \(path) is visible inside the sandbox through \(visible)",
                    fix: "keep secret files outside the workspace and outside every path the profile mounts")
            }
        }
        return store
    }
}

extension LaunchPlan {
    /// The mount through which the host file `path` appears inside the sandbox, if any.
    func visibleHostPath(_ path: String) -> String? {
        // Binds, and the small system files that are copied in (they keep their source).
        for op in mounts where op.kind == .bind || op.kind == .bindDescriptor || op.kind == .file {
            if let source = op.source, Paths.isWithin(path, source) { return "\(op.target) (\(op.purpose))" }
        }
        return nil
    }
}

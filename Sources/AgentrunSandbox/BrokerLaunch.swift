import AgentrunBroker
import AgentrunPolicy
import AgentrunProvenance

#if canImport(Glibc)
import Glibc
#endif

/// Starts the run's broker on the socket the sandbox's init handed out. A broker that cannot
/// start stops the run (exit 125): an agent whose profile promises tools must not run without them.
enum BrokerLaunch {
    static func start(_ sandbox: SandboxProcess, _ plan: LaunchPlan, _ provenance: RunProvenance) throws(LaunchError) -> Broker {
        let profile = provenance.context.profile
        let digest = CanonicalJSON.sha256Hex(CanonicalJSON.encode(profile.jsonValue))
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let expiresAt = plan.wallTimeout.map { Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 + $0 }
        let configuration = BrokerConfiguration(
            listenerFD: sandbox.brokerListener, runID: plan.runID, profile: profile, profileDigest: digest,
            runKey: provenance.recorder.runKey, writer: provenance.recorder.writer, sandboxPIDNamespace: sandbox.pidNamespace,
            secrets: provenance.secrets, expiresAt: expiresAt)
        do {
            return try Broker.start(configuration)
        } catch {
            throw LaunchError(
                stage: "start the broker", cause: error.description,
                fix: "check the profile's mcp_servers and tools (`agentrun profile explain`)")
        }
    }
}

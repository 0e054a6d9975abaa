import AgentrunBroker
import AgentrunOS
import AgentrunPolicy
import AgentrunProvenance
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// Writes a run's lifecycle records (docs/provenance.md) through the provenance writer: the
/// session and the agent's process. Later producers (syscall mediation, the broker, the proxy)
/// append to the same writer.
public final class RunRecorder: Sendable {
    public let writer: ProvenanceWriter
    public let runKey: RunKey

    public init(writer: ProvenanceWriter, runKey: RunKey) {
        self.writer = writer
        self.runKey = runKey
    }

    /// Everything `session.start` says about the run that is not in the plan.
    public struct Context: Sendable {
        public var version: String
        public var argv: [String]
        public var cwd: String
        public var profile: Profile
        public var certificate: JSONValue?

        public init(version: String, argv: [String], cwd: String, profile: Profile, certificate: JSONValue?) {
            self.version = version
            self.argv = argv
            self.cwd = cwd
            self.profile = profile
            self.certificate = certificate
        }
    }

    public func sessionStart(_ plan: LaunchPlan, _ context: Context) throws(ProvenanceError) {
        let resolved = context.profile.jsonValue
        let system = Uname.current()
        var sandbox: [String: JSONValue] = [
            "namespaces": .array(plan.namespaces.map { .string($0) }),
            "landlock_abi": plan.landlock.map { .int(Int64($0.abi)) } ?? .null,
            "uid": .int(Int64(plan.identity.insideUID)),
            "gid": .int(Int64(plan.identity.insideGID)),
            "host_uid": .int(Int64(plan.identity.hostUID)),
            "host_gid": .int(Int64(plan.identity.hostGID)),
            "workspace": plan.workspace.map { .string($0) } ?? .null,
            "network": .string(plan.loopbackUp ? "none" : "host"),
        ]
        sandbox["seccomp_instructions"] = .int(Int64(plan.seccomp.instructionCount))
        if plan.mounts.contains(where: { $0.kind == .socket }) { sandbox["broker_socket"] = .string(BrokerEndpoint.path) }
        var fields: [String: JSONValue] = [
            "agentrun": ["version": .string(context.version)],
            "host": ["hostname": .string(system.nodename), "kernel": .string(system.release), "arch": .string(system.machine)],
            "user": ["uid": .int(Int64(getuid())), "gid": .int(Int64(getgid()))],
            "argv": .array(context.argv.map { .string($0) }),
            "cwd": .string(context.cwd),
            "env_keys": .array(plan.environment.keys.sorted().map { .string($0) }),
            "profile": [
                "name": .string(context.profile.name),
                "source": .string(context.profile.source.description),
                "sha256": .string(CanonicalJSON.sha256Hex(CanonicalJSON.encode(resolved))),
                "resolved": resolved,
            ],
            "sandbox": .object(sandbox),
            "limits": context.profile.limits.jsonValue,
            "run_key": .string(runKey.publicKeyHex),
        ]
        if let certificate = context.certificate { fields["run_key_cert"] = certificate }
        try writer.append("session.start", fields)
    }

    public func processExec(_ sandbox: SandboxProcess, _ plan: LaunchPlan) throws(ProvenanceError) {
        try writer.append("process.exec", [
            "actor": actor(sandbox, plan),
            "argv": .array(plan.argv.map { .string($0) }),
            "cwd": .string(plan.cwd),
            "uid": .int(Int64(plan.identity.insideUID)),
            "gid": .int(Int64(plan.identity.insideGID)),
        ])
    }

    public func processExit(
        _ sandbox: SandboxProcess, _ plan: LaunchPlan, _ termination: Termination, reason: String, exitCode: Int32,
        durationNanoseconds: UInt64
    ) throws(ProvenanceError) {
        var status: JSONValue = .null
        var signal: JSONValue = .null
        switch termination.outcome {
        case .exited(let code): status = .int(Int64(code))
        case .signaled(let number): signal = .int(Int64(number))
        case .timedOut, .initDied, .provenanceFailed: break
        }
        try writer.append("process.exit", [
            "actor": actor(sandbox, plan),
            "status": status,
            "signal": signal,
            "exit_code": .int(Int64(exitCode)),
            "reason": .string(reason),
            "duration_ns": .int(Int64(clamping: durationNanoseconds)),
            "rusage": [
                "utime_ns": .int(Int64(clamping: termination.usage.utime_ns)),
                "stime_ns": .int(Int64(clamping: termination.usage.stime_ns)),
                "maxrss_kb": .int(Int64(clamping: termination.usage.maxrss_kb)),
            ],
        ])
    }

    /// `session.end`, then the final signed checkpoint.
    public func finish(exitCode: Int32, reason: String, error: String?) throws(ProvenanceError) {
        var fields: [String: JSONValue] = ["exit_code": .int(Int64(exitCode)), "reason": .string(reason)]
        if let error { fields["error"] = .string(error) }
        try writer.append("session.end", fields)
        _ = try writer.finish()
    }

    /// The agent as the host sees it: its host pid and the file it executes, read from /proc
    /// (the agent is init's only child right after the launch). When /proc cannot tell (the agent
    /// already exited), the sandbox's init and the first candidate that exists stand in.
    private func actor(_ sandbox: SandboxProcess, _ plan: LaunchPlan) -> JSONValue {
        if let agent = sandbox.agent {
            return ["pid": .int(Int64(agent.pid)), "exe": .string(agent.exe)]
        }
        let exe = plan.execCandidates.first { Files.kind($0) != .missing } ?? plan.argv.first ?? ""
        return ["pid": .int(Int64(sandbox.pid)), "exe": .string(exe)]
    }
}

/// `uname(2)` without Foundation.
struct Uname {
    var nodename: String
    var release: String
    var machine: String

    static func current() -> Uname {
        var u = utsname()
        _ = uname(&u)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return Uname(nodename: text(u.nodename), release: text(u.release), machine: text(u.machine))
    }
}

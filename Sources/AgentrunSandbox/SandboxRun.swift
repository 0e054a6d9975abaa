import AgentrunOS
import AgentrunSeccomp
import AgentrunPolicy
import AgentrunProvenance
import AgentrunBroker
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// A run's provenance: the recorder and what `session.start` needs beyond the plan.
public struct RunProvenance: Sendable {
    public var recorder: RunRecorder
    public var context: RunRecorder.Context
    /// The host secrets of the profile's `type: secret` credentials, for the broker's tools.
    public var secrets: SecretStore

    public init(recorder: RunRecorder, context: RunRecorder.Context, secrets: SecretStore = .init()) {
        self.recorder = recorder
        self.context = context
        self.secrets = secrets
    }
}

/// Holds the notifier the launch callback creates.
final class NotifierBox: @unchecked Sendable {
    var notifier: SyscallNotifier?
}

/// One agent run, start to finish: provenance, cgroup, launch, supervision, cleanup.
///
/// Fail closed: when a provenance record cannot be written the agent does not start, or is
/// stopped at once (SIGKILL to the whole sandbox), and the run ends with exit status 123.
public enum SandboxRun {
    /// Runs the plan on the calling (main) thread. `log` receives verbose lines and warnings.
    public static func execute(
        _ plan: LaunchPlan, terminal: TerminalPlan? = nil, provenance: RunProvenance? = nil, verbose: Bool,
        log: (String) -> Void
    ) throws(LaunchError) -> RunOutcome {
        if plan.landlock == nil {
            // Never degrade silently: say so on every run, not only with --verbose.
            log("warning: this kernel offers no Landlock; the sandbox runs without it (profile `landlock: best-effort`; `agentrun doctor` says how to enable it)")
        }
        let recorder = provenance?.recorder
        if let provenance {
            do {
                try provenance.recorder.sessionStart(plan, provenance.context)
                // Written now, not gathered for later: a log that cannot take session.start must
                // stop the run before the agent exists (the writer batches appends otherwise).
                try provenance.recorder.writer.tick()
            } catch {
                throw LaunchError(
                    stage: "provenance: write session.start to \(provenance.recorder.writer.path)", cause: error.description,
                    fix: "make the run directory writable (--log DIR or provenance.dir)", exitCode: ExitCodes.provenanceFailed)
            }
        }

        var cgroup: RunCgroup?
        if plan.limits.memory != nil || plan.limits.processes != nil {
            switch RunCgroup.create(runID: plan.runID, limits: plan.limits, allowV1: plan.identity.workspaceIdmap != nil || getuid() == 0) {
            case .success(let group): cgroup = group
            case .failure(let reason):
                if verbose { log("cgroup: not used: \(reason); rlimits still apply") }
            }
        }
        defer { cgroup?.remove() }
        if verbose {
            for line in plan.summary(cgroup: cgroup) { log(line) }
            if let terminal {
                let fds = (0...2).filter { terminal.fds & (1 << UInt32($0)) != 0 }.map(String.init).joined(separator: ",")
                log("terminal: a pty inside the sandbox (\(terminal.cols)x\(terminal.rows)) on fds \(fds), relayed; the host terminal is never the agent's")
            } else {
                log("terminal: none (no output to a terminal); fds 0-2 pass through")
            }
        }

        // Syscall mediation: the notifier starts when the agent hands over its listener, before
        // the agent's execve, and stops after the sandbox is gone.
        let notifierBox = NotifierBox()
        defer { notifierBox.notifier?.stop() }
        let mediation: ((Int32, Int32, SyscallNotifier.InitialExec) -> Int32)? =
            plan.seccomp.notifyProgram.isEmpty ? nil : { listener, initPidfd, known in
                let writable = plan.landlock?.rules.filter { $0.access & LandlockPolicy.writeFile != 0 }.map(\.path)
                let notifier = SyscallNotifier(
                    listener: listener,
                    configuration: .init(
                        policy: plan.mediation, filter: plan.seccomp, profileDenied: plan.profileDenied,
                        agentHostUID: plan.identity.hostUID, agentHostGID: plan.identity.hostGID, writableRoots: writable,
                        initialExec: known, execDenied: plan.execDenied),
                    writer: recorder?.writer)
                let started = notifier.start(initPidfd: initPidfd)
                if started < 0 {
                    notifier.stop()
                    return started
                }
                notifierBox.notifier = notifier
                return 0
            }
        if verbose, !plan.seccomp.notifyProgram.isEmpty {
            log("syscall mediation: \(plan.mediation.recordAll ? "every syscall" : "record " + plan.mediation.record.joined(separator: ", "))"
                + (plan.mediation.exactFiles ? "; files opened for writing by the supervisor (exact)" : "")
                + "; \(plan.mediation.denyExec.count) deny_exec and \(plan.mediation.denyWrite.count) deny_write rules")
        }

        let sandbox: SandboxProcess
        do {
            sandbox = try SandboxLauncher.spawn(plan, cgroup: cgroup, terminal: terminal, mediation: mediation)
            notifierBox.notifier?.launchFinished()
        } catch {
            notifierBox.notifier?.stop()
            notifierBox.notifier = nil
            removeCreated(plan.created, verbose: verbose, log: log)
            if let recorder {
                do {
                    try recorder.finish(exitCode: error.exitCode, reason: "launch-failed", error: error.description)
                } catch {
                    log("provenance: \(error)")
                }
            }
            throw error
        }
        let started = Monotonic.nanoseconds()
        var execFailure: String?
        do {
            try recorder?.processExec(sandbox, plan)
        } catch {
            // The agent is already running: stop it before it does anything unrecorded.
            _ = ar_pidfd_send_signal(sandbox.pidfd, SIGKILL)
            execFailure = error.description
        }
        // The broker serves the socket init bound. The agent may already be connecting: its
        // connections wait in the listen backlog until the broker accepts them.
        var broker: Broker?
        if execFailure == nil, let provenance {
            do {
                broker = try BrokerLaunch.start(sandbox, plan, provenance)
            } catch {
                sandbox.kill()
                removeCreated(plan.created, verbose: verbose, log: log)
                do {
                    try provenance.recorder.finish(exitCode: ExitCodes.launchFailed, reason: "launch-failed", error: error.description)
                } catch {
                    log("provenance: \(error)")
                }
                throw error
            }
        } else if sandbox.brokerListener >= 0 {
            close(sandbox.brokerListener)  // nothing records requests: refuse them (ECONNREFUSED)
        }
        let tick: (() -> String?)? = recorder.map { recorder in
            {
                do {
                    try recorder.writer.tick()
                    return nil
                } catch {
                    return "\(error)"
                }
            }
        }
        let tickEvery = min(Supervisor.tickInterval, provenance?.context.profile.provenance.checkpointInterval ?? Supervisor.tickInterval)
        var termination = Supervisor.wait(
            for: sandbox, wallTimeout: plan.wallTimeout, killGrace: plan.killGrace, tick: tick, tickEvery: tickEvery)
        let duration = Monotonic.nanoseconds() &- started
        broker?.shutdown()
        // The sandbox is gone: no call is left to answer, and the log is about to be sealed.
        notifierBox.notifier?.stop()
        notifierBox.notifier = nil
        if let execFailure { termination.outcome = .provenanceFailed(execFailure) }
        let outOfMemory = cgroup?.sawOutOfMemory == true
        if outOfMemory {
            switch termination.outcome {
            case .initDied:
                termination.outcome = .initDied("the sandbox ran out of memory (limits.memory) and the kernel killed it")
            case .signaled(SIGKILL):
                log("the agent ran out of memory (limits.memory \(plan.limits.memory.map { Units.formatSize($0) } ?? "?")) and the kernel killed it")
            default:
                break
            }
        }
        removeCreated(plan.created, verbose: verbose, log: log)

        var outcome = termination.outcome
        if let recorder {
            let reason = reasonText(termination, outOfMemory: outOfMemory)
            do {
                try recorder.processExit(
                    sandbox, plan, termination, reason: reason, exitCode: outcome.exitCode, durationNanoseconds: duration)
                try recorder.finish(exitCode: outcome.exitCode, reason: reason, error: nil)
            } catch {
                if case .provenanceFailed = outcome {} else { outcome = .provenanceFailed(error.description) }
            }
        }
        return outcome
    }

    /// `process.exit`'s `reason`.
    static func reasonText(_ termination: Termination, outOfMemory: Bool) -> String {
        switch termination.outcome {
        case .provenanceFailed: return "provenance-failure"
        case .timedOut: return "timeout"
        case .exited: return termination.stopSignal == nil ? "exited" : "supervisor-stopped"
        case .signaled, .initDied:
            if outOfMemory { return "out-of-memory" }
            return termination.stopSignal == nil ? "signaled" : "supervisor-stopped"
        }
    }

    /// Removes the mount points agentrun created for protected paths, when still empty.
    static func removeCreated(_ created: [CreatedPath], verbose: Bool, log: (String) -> Void) {
        for item in created.reversed() {
            let kind = Files.kind(item.path)
            if item.isDirectory, kind == .directory {
                if rmdir(item.path) == 0 { continue }
            } else if !item.isDirectory, kind == .regular, (try? Files.read(item.path, limit: 4096)) == item.content {
                if unlink(item.path) == 0 { continue }
            }
            if kind != .missing, verbose { log("left \(item.path) in place (it is no longer an empty placeholder)") }
        }
    }
}

extension LaunchPlan {
    /// What `--verbose` prints before the launch.
    public func summary(cgroup: RunCgroup?) -> [String] {
        var lines: [String] = []
        lines.append("run \(runID), profile \(profileName)")
        lines.append("namespaces: \(namespaces.joined(separator: ", "))\(loopbackUp ? " (network: loopback only)" : " (network: host, UNSAFE)")")
        lines.append("identity: uid \(identity.insideUID) gid \(identity.insideGID) inside = host uid \(identity.hostUID) gid \(identity.hostGID)"
            + (identity.workspaceIdmap != nil ? "; workspace idmapped to the invoking user" : ""))
        lines.append("workspace: \(workspace ?? "none"), cwd \(cwd)")
        for op in mounts { lines.append("  mount: \(op) [\(op.purpose)]") }
        if let landlock {
            lines.append("landlock: ABI \(landlock.abi), \(landlock.rules.count) rules, scoped: \(landlock.scoped != 0 ? "signals, abstract unix sockets" : "none")")
            for rule in landlock.rules { lines.append("  landlock: \(rule.path) \(LandlockPolicy.describe(rule.access))") }
        } else {
            lines.append("landlock: off")
        }
        lines.append("seccomp: native arch only, \(seccomp.allowedCount) syscalls allowed, \(seccomp.deniedCount) refused with EPERM, others ENOSYS; argument rules for ioctl, socket, clone, unshare, personality; \(seccomp.instructionCount) BPF instructions"
            + (seccomp.notifyProgram.isEmpty ? "" : "; a third filter sends the mediated calls to the supervisor (refusals answered there, with a record)"))
        lines.append("capabilities: all dropped; no_new_privs; securebits 0x\(String(securebits, radix: 16))")
        lines.append("rlimits: " + rlimits.map { "\($0.name)=\($0.soft == .max ? "unlimited" : String($0.soft))" }.joined(separator: " "))
        if let cgroup { lines.append(cgroup.summary) }
        lines.append("timeout: \(wallTimeout.map { Units.formatDuration($0) } ?? "none"), kill grace \(Units.formatDuration(killGrace))")
        lines.append("exec: \(argv.joined(separator: " ")) (allowed from: \(execLocations))")
        for note in notes { lines.append("note: \(note)") }
        return lines
    }
}

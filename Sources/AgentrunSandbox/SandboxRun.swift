import AgentrunOS
import AgentrunSeccomp
import AgentrunPolicy
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// One agent run, start to finish: cgroup, launch, supervision, cleanup.
public enum SandboxRun {
    /// Runs the plan on the calling (main) thread. `log` receives verbose lines.
    public static func execute(_ plan: LaunchPlan, terminal: TerminalPlan? = nil, verbose: Bool, log: (String) -> Void) throws(LaunchError) -> RunOutcome {
        if plan.landlock == nil {
            // Never degrade silently: say so on every run, not only with --verbose.
            log("warning: this kernel offers no Landlock; the sandbox runs without it (profile `landlock: best-effort`; `agentrun doctor` says how to enable it)")
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

        let sandbox: SandboxProcess
        do {
            sandbox = try SandboxLauncher.spawn(plan, cgroup: cgroup, terminal: terminal)
        } catch {
            removeCreated(plan.created, verbose: verbose, log: log)
            throw error
        }
        var outcome = Supervisor.wait(for: sandbox, wallTimeout: plan.wallTimeout, killGrace: plan.killGrace)
        if cgroup?.sawOutOfMemory == true {
            switch outcome {
            case .initDied:
                outcome = .initDied("the sandbox ran out of memory (limits.memory) and the kernel killed it")
            case .signaled(SIGKILL):
                log("the agent ran out of memory (limits.memory \(plan.limits.memory.map { Units.formatSize($0) } ?? "?")) and the kernel killed it")
            default:
                break
            }
        }
        removeCreated(plan.created, verbose: verbose, log: log)
        return outcome
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
        lines.append("seccomp: native arch only, \(seccomp.allowedCount) syscalls allowed, \(seccomp.deniedCount) refused with EPERM, others ENOSYS; argument rules for ioctl, socket, clone, unshare, personality; \(seccomp.instructionCount) BPF instructions")
        lines.append("capabilities: all dropped; no_new_privs; securebits 0x\(String(securebits, radix: 16))")
        lines.append("rlimits: " + rlimits.map { "\($0.name)=\($0.soft == .max ? "unlimited" : String($0.soft))" }.joined(separator: " "))
        if let cgroup { lines.append(cgroup.summary) }
        lines.append("timeout: \(wallTimeout.map { Units.formatDuration($0) } ?? "none"), kill grace \(Units.formatDuration(killGrace))")
        lines.append("exec: \(argv.joined(separator: " ")) (allowed from: \(execLocations))")
        for note in notes { lines.append("note: \(note)") }
        return lines
    }
}

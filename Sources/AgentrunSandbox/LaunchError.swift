import AgentrunOS
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// Why a sandbox could not start: the stage, the cause, and the fix when one is known.
///
/// Printed as `agentrun: <stage>: <cause>` plus a `fix:` line. The exit code is 125 (agentrun
/// failed), 126 (the command exists but cannot be executed) or 127 (command not found), so a
/// caller can tell agentrun's failures from the agent's own exit status.
public struct LaunchError: Error, Sendable, CustomStringConvertible {
    public var stage: String
    public var cause: String
    public var fix: String?
    public var exitCode: Int32

    public init(stage: String, cause: String, fix: String? = nil, exitCode: Int32 = ExitCodes.launchFailed) {
        self.stage = stage
        self.cause = cause
        self.fix = fix
        self.exitCode = exitCode
    }

    public var description: String {
        var text = "\(stage): \(cause)"
        if let fix { text += "\n  fix: \(fix)" }
        return text
    }
}

/// Exit codes of `agentrun run` that are not the agent's own.
public enum ExitCodes {
    /// The provenance log could not be written (full disk, I/O error, file removed): the agent
    /// was stopped, since nothing may run unrecorded.
    public static let provenanceFailed: Int32 = 123
    /// The agent ran past its wall-clock limit and was killed (as timeout(1)).
    public static let timeout: Int32 = 124
    /// agentrun itself failed: bad profile, launch failure, host not supported (as podman).
    public static let launchFailed: Int32 = 125
    /// The command was found but could not be executed.
    public static let notExecutable: Int32 = 126
    /// The command was not found inside the sandbox.
    public static let notFound: Int32 = 127
}

/// Turns a `{stage, errno, index}` report from the shim into a `LaunchError`.
enum LaunchFailure {
    static func describe(_ report: ar_spawn_error, plan: LaunchPlan) -> LaunchError {
        let err = report.err
        let cause = Errno.describe(err)
        let index = Int(report.index)
        let doctor = "run `agentrun doctor` to see what this host supports"
        func mountOp() -> MountOp? { plan.mounts.indices.contains(index) ? plan.mounts[index] : nil }

        switch Int(report.stage) {
        case Int(AR_STAGE_CLONE.rawValue):
            let fix: String
            if err == EPERM || err == EACCES || err == ENOSPC {
                fix = "unprivileged user namespaces seem disabled (sysctl kernel.unprivileged_userns_clone=1, "
                    + "user.max_user_namespaces > 0, kernel.apparmor_restrict_unprivileged_userns=0); \(doctor)"
            } else {
                fix = doctor
            }
            return LaunchError(stage: "create namespaces (clone3)", cause: cause, fix: fix)
        case Int(AR_STAGE_SETGROUPS_DENY.rawValue), Int(AR_STAGE_UID_MAP.rawValue), Int(AR_STAGE_GID_MAP.rawValue):
            let file = report.stage == Int32(AR_STAGE_UID_MAP.rawValue) ? "uid_map" : report.stage == Int32(AR_STAGE_GID_MAP.rawValue) ? "gid_map" : "setgroups"
            return LaunchError(
                stage: "write /proc/<child>/\(file)", cause: cause,
                fix: "the kernel refused the user namespace id mapping (\(plan.identity.uidMap.trimmingNewline)); \(doctor)")
        case Int(AR_STAGE_IDENTITY.rawValue):
            return LaunchError(stage: "switch to the sandbox uid/gid", cause: cause, fix: doctor)
        case Int(AR_STAGE_MOUNT_PRIVATE.rawValue):
            return LaunchError(stage: "make mounts private", cause: cause, fix: doctor)
        case Int(AR_STAGE_MOUNT_SOURCE.rawValue):
            let op = mountOp()
            let source = op?.source ?? "?"
            var fix = doctor
            if err == ELOOP { fix = "\(source) contains a symlink that changed since the launch was planned; retry" }
            if err == ENOENT { fix = "\(source) disappeared while the sandbox was starting; retry" }
            return LaunchError(stage: "open \(source) (\(op?.purpose ?? "mount"))", cause: cause, fix: fix)
        case Int(AR_STAGE_STAGING.rawValue):
            return LaunchError(stage: "mount the new root on \(plan.staging)", cause: cause, fix: doctor)
        case Int(AR_STAGE_MOUNT.rawValue):
            let op = mountOp()
            let what = op.map { "\($0.kindVerb) \($0.target)" } ?? "mount"
            var fix = doctor
            if err == ELOOP {
                fix = "a path component of \(op?.target ?? "?") is a symlink; agentrun never follows symlinks when it builds the mount view"
            } else if op?.kind == .bindDescriptor || op?.purpose == "workspace" {
                fix = "choose a workspace on a local filesystem (ext4, xfs, btrfs, tmpfs); \(doctor)"
            } else if op?.kind == .proc {
                fix = "mounting /proc needs a fully visible /proc on the host (not masked, as in some containers); \(doctor)"
            }
            return LaunchError(stage: "\(what) (\(op?.purpose ?? "?"))", cause: cause, fix: fix)
        case Int(AR_STAGE_PIVOT_ROOT.rawValue):
            return LaunchError(stage: "pivot_root", cause: cause, fix: doctor)
        case Int(AR_STAGE_HOSTNAME.rawValue):
            return LaunchError(stage: "set hostname", cause: cause, fix: doctor)
        case Int(AR_STAGE_LOOPBACK.rawValue):
            return LaunchError(stage: "bring up loopback", cause: cause, fix: doctor)
        case Int(AR_STAGE_RLIMIT.rawValue):
            let name = plan.rlimits.indices.contains(index) ? plan.rlimits[index].name : "?"
            return LaunchError(stage: "set \(name)", cause: cause, fix: "lower limits.\(name) in the profile")
        case Int(AR_STAGE_FORK_AGENT.rawValue):
            return LaunchError(stage: "fork the agent", cause: cause, fix: "raise limits.processes in the profile")
        case Int(AR_STAGE_CHDIR.rawValue):
            return LaunchError(stage: "chdir \(plan.cwd)", cause: cause)
        case Int(AR_STAGE_SECUREBITS.rawValue), Int(AR_STAGE_CAPABILITIES.rawValue):
            return LaunchError(stage: "drop capabilities", cause: cause, fix: doctor)
        case Int(AR_STAGE_NO_NEW_PRIVS.rawValue):
            return LaunchError(stage: "set no_new_privs", cause: cause, fix: doctor)
        case Int(AR_STAGE_LANDLOCK.rawValue):
            let path = plan.landlock.flatMap { $0.rules.indices.contains(index) ? $0.rules[index].path : nil }
            return LaunchError(
                stage: path.map { "landlock rule for \($0)" } ?? "landlock", cause: cause, fix: doctor)
        case Int(AR_STAGE_SECCOMP.rawValue):
            return LaunchError(stage: "load the seccomp filter", cause: cause, fix: doctor)
        case Int(AR_STAGE_EXEC.rawValue):
            let name = plan.argv.first ?? "?"
            if err == ENOENT || err == ENOTDIR {
                return LaunchError(
                    stage: "exec \(name)", cause: "command not found inside the sandbox",
                    fix: "the sandbox sees only the profile's system paths and the workspace; use an absolute path, or add its directory with filesystem.read_only",
                    exitCode: ExitCodes.notFound)
            }
            var fix: String? = nil
            if err == EACCES {
                fix = "the file is not executable here: the profile allows exec only from \(plan.execLocations), and syscalls.mediate.deny_exec may refuse it"
            } else if err == EPERM && !plan.seccomp.notifyProgram.isEmpty {
                fix = "a syscalls.mediate.deny_exec rule of the profile may refuse it; `agentrun log show` names the rule"
            }
            return LaunchError(stage: "exec \(name)", cause: cause, fix: fix, exitCode: ExitCodes.notExecutable)
        case Int(AR_STAGE_DUMPABLE.rawValue):
            return LaunchError(stage: "make the sandbox init non-dumpable", cause: cause)
        case Int(AR_STAGE_CGROUP.rawValue):
            return LaunchError(stage: "move the sandbox into its cgroup", cause: cause, fix: doctor)
        case Int(AR_STAGE_NOTIFY.rawValue):
            let what = ["install the syscall mediation filter", "hand the mediation listener to the supervisor", "start the supervisor's mediation thread"]
            return LaunchError(
                stage: index >= 0 && index < what.count ? what[Int(index)] : "syscall mediation", cause: cause,
                fix: "seccomp user notification needs Linux 5.9 or later; a profile without syscalls.mediate runs without it. \(doctor)")
        case Int(AR_STAGE_PTY.rawValue):
            return LaunchError(stage: "set up the sandbox's terminal", cause: cause, fix: "run without a terminal (redirect stdin) to skip it; \(doctor)")
        case Int(AR_STAGE_SETSID.rawValue):
            return LaunchError(stage: "start a new session", cause: cause)
        default:
            return LaunchError(stage: "launch (stage \(report.stage))", cause: cause, fix: doctor)
        }
    }
}

extension MountOp {
    var kindVerb: String {
        switch kind {
        case .directory: "mkdir"
        case .bind, .bindDescriptor, .rebind: "mount"
        case .tmpfs: "mount tmpfs"
        case .proc: "mount proc"
        case .devpts: "mount devpts"
        case .mqueue: "mount mqueue"
        case .symlink: "symlink"
        case .file: "create"
        case .setAttributes: "remount"
        case .socket: "create the broker socket"
        }
    }
}

extension String {
    var trimmingNewline: String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s.replacingNewlines
    }

    private var replacingNewlines: String {
        String(map { $0 == "\n" ? ";" : $0 })
    }
}

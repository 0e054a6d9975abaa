import AgentrunOS
import AgentrunPolicy
import AgentrunProfiles
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// The checks `agentrun doctor` runs, each with the exact fix when it fails.
public enum HostChecks {
    public enum Status: Sendable, Equatable {
        case ok, warn, fail
        public var label: String {
            switch self {
            case .ok: "ok  "
            case .warn: "warn"
            case .fail: "FAIL"
            }
        }
    }

    public struct Check: Sendable {
        public var name: String
        public var status: Status
        public var detail: String
        public var fix: String?
    }

    public static func all(host: HostInfo) -> [Check] {
        [userNamespaces(host: host), namespaces(), landlock(host: host), seccomp(), cgroup(host: host), proc(), idmap(host: host)]
    }

    static func userNamespaces(host: HostInfo) -> Check {
        let name = "user namespaces"
        if let max = Files.readText("/proc/sys/user/max_user_namespaces"), Int(max) == 0 {
            return Check(name: name, status: .fail, detail: "user.max_user_namespaces is 0",
                         fix: "sysctl -w user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)")
        }
        if !host.isRoot, let value = Files.readText("/proc/sys/kernel/unprivileged_userns_clone"), value == "0" {
            return Check(name: name, status: .fail, detail: "kernel.unprivileged_userns_clone is 0",
                         fix: "sysctl -w kernel.unprivileged_userns_clone=1 (persist it in /etc/sysctl.d/)")
        }
        if !host.isRoot, let value = Files.readText("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"), value == "1" {
            let probe = ar_probe_namespaces(LaunchPlan.newUser | LaunchPlan.newNet, 1)
            if probe != 0 {
                return Check(name: name, status: .fail,
                             detail: "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): \(Errno.describe(-probe))",
                             fix: "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or install an AppArmor profile for agentrun granting `userns,`")
            }
        }
        let probe = ar_probe_namespaces(LaunchPlan.newUser, 1)
        if probe != 0 {
            return Check(name: name, status: .fail, detail: "cannot create one: \(Errno.describe(-probe))",
                         fix: "enable unprivileged user namespaces (see the sysctls above), or run agentrun as root")
        }
        return Check(name: name, status: .ok, detail: host.isRoot ? "available (running as root)" : "available to unprivileged users")
    }

    static func namespaces() -> Check {
        let all = LaunchPlan.newUser | LaunchPlan.newPID | LaunchPlan.newNS | LaunchPlan.newNet | LaunchPlan.newIPC
            | LaunchPlan.newUTS | LaunchPlan.newCgroup
        let probe = ar_probe_namespaces(all, 1)
        if probe != 0 {
            return Check(name: "pid, mount, net, ipc, uts, cgroup namespaces", status: .fail,
                         detail: "cannot create them together: \(Errno.describe(-probe))",
                         fix: "the kernel must have CONFIG_{PID,NET,IPC,UTS,CGROUP}_NS; inside a container, run it with --privileged or a seccomp profile allowing clone3/unshare")
        }
        return Check(name: "pid, mount, net, ipc, uts, cgroup namespaces", status: .ok, detail: "available")
    }

    static func landlock(host: HostInfo) -> Check {
        if host.landlockABI > 0 {
            let scoping = host.landlockABI >= 6 ? ", with signal and abstract-socket scoping" : " (no scoping before ABI 6)"
            return Check(name: "landlock", status: .ok, detail: "ABI \(host.landlockABI)\(scoping)")
        }
        return Check(name: "landlock", status: .warn,
                     detail: "unavailable (\(Errno.describe(-host.landlockABI))); profiles with `landlock: required` (ci-untrusted) will refuse to start",
                     fix: "boot a kernel with CONFIG_SECURITY_LANDLOCK=y and add `landlock` to the lsm= kernel parameter")
    }

    static func seccomp() -> Check {
        guard let actions = Files.readText("/proc/sys/kernel/seccomp/actions_avail") else {
            return Check(name: "seccomp", status: .fail, detail: "no seccomp filter support (/proc/sys/kernel/seccomp missing)",
                         fix: "use a kernel built with CONFIG_SECCOMP_FILTER=y")
        }
        let list = actions.split(separator: " ")
        let missing = ["errno", "kill_process"].filter { !list.contains(Substring($0)) }
        if !missing.isEmpty {
            return Check(name: "seccomp", status: .fail, detail: "missing actions: \(missing.joined(separator: ", "))", fix: "use a newer kernel")
        }
        guard list.contains("user_notif") else {
            return Check(
                name: "seccomp", status: .fail,
                detail: "filters available, but no user notification: profiles with syscalls.mediate (the built-in ones record exec, network, file writes, denied calls and signals) refuse to start",
                fix: "use Linux 5.9 or later (6.6+ for synchronous wake-up), or a profile with `syscalls: {mediate: {record: []}}`")
        }
        return Check(name: "seccomp", status: .ok, detail: "filters available; user notification available (syscall mediation)")
    }

    static func cgroup(host: HostInfo) -> Check {
        let fallback = host.isRoot && ["memory", "pids"].allSatisfy { ar_is_cgroup1("/sys/fs/cgroup/\($0)") != 0 }
        let v1 = "cgroup v1 memory and pids hierarchies are used instead (as root)"
        switch RunCgroup.locate() {
        case .failure(let reason):
            if fallback { return Check(name: "cgroups", status: .ok, detail: "\(reason); \(v1)") }
            return Check(name: "cgroup v2", status: .warn, detail: "\(reason); limits.memory is not enforced (rlimits still are)",
                         fix: "boot with systemd.unified_cgroup_hierarchy=1")
        case .success(let location):
            let needed = ["memory", "pids"]
            let missing = needed.filter { !location.delegated.contains($0) }
            if !missing.isEmpty, fallback {
                return Check(name: "cgroups", status: .ok, detail: "cgroup v2 at \(location.directory) lacks \(missing.joined(separator: ", ")); \(v1)")
            }
            if !missing.isEmpty {
                let bound = missing.filter { !location.available.contains($0) }
                let fix = bound.isEmpty
                    ? "enable them for children: echo '+memory +pids' > \(location.directory)/cgroup.subtree_control (or run under systemd-run --user --scope -p Delegate=yes)"
                    : "the \(bound.joined(separator: ", ")) controller(s) are held by cgroup v1: boot with systemd.unified_cgroup_hierarchy=1"
                return Check(name: "cgroup v2", status: .warn,
                             detail: "\(location.directory): controllers \(missing.joined(separator: ", ")) not delegated; limits.memory is not enforced (rlimits still are)",
                             fix: fix)
            }
            let probe = location.directory + "/agentrun-doctor-\(getpid())"
            if mkdir(probe, 0o755) != 0 {
                return Check(name: "cgroup v2", status: .warn, detail: "cannot create a cgroup under \(location.directory): \(Errno.describe(errno))",
                             fix: "run as root, or in a delegated subtree (systemd-run --user --scope -p Delegate=yes agentrun ...)")
            }
            rmdir(probe)
            return Check(name: "cgroup v2", status: .ok, detail: "agentrun can create cgroups under \(location.directory) (memory.max, pids.max)")
        }
    }

    static func proc() -> Check {
        guard Files.kind("/proc/self/status") != .missing else {
            return Check(name: "/proc", status: .fail, detail: "not mounted", fix: "mount -t proc proc /proc")
        }
        return Check(name: "/proc", status: .ok, detail: "mounted")
    }

    static func idmap(host: HostInfo) -> Check {
        guard host.isRoot else {
            return Check(name: "idmapped workspace", status: .ok, detail: "not needed (the agent keeps your uid)")
        }
        let userns = ar_userns_fd("0 \(Identity.rootModeHostBase) 1\n", "0 \(Identity.rootModeHostBase) 1\n")
        guard userns >= 0 else {
            return Check(name: "idmapped workspace", status: .fail, detail: "cannot create a user namespace: \(Errno.describe(-userns))", fix: nil)
        }
        defer { close(userns) }
        let directory = Files.currentDirectory() ?? "/tmp"
        let tree = ar_idmapped_tree(directory, userns, 0, 1)
        if tree < 0 {
            return Check(name: "idmapped workspace", status: .warn,
                         detail: "the filesystem of \(directory) does not support idmapped mounts (\(Errno.describe(-tree))); as root, agentrun cannot use it as a workspace",
                         fix: "use a workspace on ext4, xfs, btrfs or tmpfs, or run agentrun as an ordinary user")
        }
        close(tree)
        return Check(name: "idmapped workspace", status: .ok, detail: "supported for \(directory)")
    }

    /// Starts `/bin/true` under the built-in default profile in a temporary workspace.
    public static func launchDefaultProfile(host: HostInfo) -> Check {
        let name = "default profile"
        guard let yaml = BuiltinProfiles.yaml(named: "default") else {
            return Check(name: name, status: .fail, detail: "the built-in profile is missing", fix: nil)
        }
        let profile: Profile
        do {
            profile = try ProfileStore(searchPaths: []).load(yaml: yaml, file: "<built-in default>")
        } catch {
            return Check(name: name, status: .fail, detail: "\(error)", fix: nil)
        }
        var template = Array("/tmp/agentrun-doctor-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else {
            return Check(name: name, status: .fail, detail: "cannot create a temporary workspace: \(Errno.describe(errno))", fix: nil)
        }
        let workspace = String(cString: dir)
        defer { rmdir(workspace) }
        let request = LaunchRequest(
            command: ["true"], profile: profile, workspace: workspace, runID: "doctor-\(getpid())",
            hostEnvironment: ["PATH": SandboxEnvironment.defaultPath], currentDirectory: workspace)
        do {
            let plan = try LaunchPlanner.plan(request, host: host, seed: UInt32(truncatingIfNeeded: getpid()))
            let outcome = try SandboxRun.execute(plan, verbose: false) { _ in }
            if outcome == .exited(0) {
                return Check(name: name, status: .ok, detail: "started `true` in a full sandbox (namespaces, mount view, seccomp\(plan.landlock != nil ? ", landlock" : ""))")
            }
            return Check(name: name, status: .fail, detail: "the sandboxed `true` ended with \(outcome)", fix: nil)
        } catch {
            return Check(name: name, status: .fail, detail: "\(error.stage): \(error.cause)", fix: error.fix)
        }
    }
}

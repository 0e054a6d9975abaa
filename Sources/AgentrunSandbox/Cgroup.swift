import AgentrunOS
import AgentrunPolicy
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// A cgroup for one run, when agentrun may create one: the profile's memory and process limits
/// become memory.max and pids.max.
///
/// cgroup v2 (root, or a delegated subtree): the init is cloned straight into it
/// (CLONE_INTO_CGROUP). On hybrid hosts whose memory and pids controllers are still held by
/// cgroup v1 (common on older systemd and in some VMs), root gets a v1 cgroup per controller
/// instead; the supervisor writes the init's pid into them before the init starts.
public final class RunCgroup {
    public enum Version: String, Sendable { case v1, v2 }

    public let version: Version
    /// Directories agentrun created (one for v2, one per controller for v1).
    public let paths: [String]
    /// v2: the directory fd for CLONE_INTO_CGROUP; -1 for v1.
    public let cloneFD: Int32
    /// v1: `cgroup.procs` fds to write the init's pid into.
    public let procsFDs: [Int32]
    public let controllers: [String]

    init(version: Version, paths: [String], cloneFD: Int32, procsFDs: [Int32], controllers: [String]) {
        self.version = version
        self.paths = paths
        self.cloneFD = cloneFD
        self.procsFDs = procsFDs
        self.controllers = controllers
    }

    /// Why a cgroup could not be used, for `--verbose` and `doctor`.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Where this process's cgroup v2 lives, and which controllers it can hand to a child.
    public struct Location: Sendable {
        public var mountPoint: String
        public var cgroupPath: String
        public var directory: String { cgroupPath == "/" ? mountPoint : mountPoint + cgroupPath }
        public var available: [String]
        public var delegated: [String]
    }

    /// Where cgroup v2 is mounted on systemd hosts (unified, or hybrid with v1 controllers).
    static let mountCandidates = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]

    /// This process's cgroup path per hierarchy: "" for v2, the controller names for v1.
    static func membership() -> [(controllers: [String], path: String)] {
        guard let text = Files.readText("/proc/self/cgroup") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return nil }
            return (parts[1].split(separator: ",").map(String.init), String(parts[2]))
        }
    }

    public static func locate() -> Result<Location, Unavailable> {
        guard let own = membership().first(where: { $0.controllers.isEmpty }) else {
            return .failure(.init(reason: "this process is not in a cgroup v2 hierarchy"))
        }
        // statfs on the usual mount points is much cheaper than parsing /proc/self/mountinfo.
        guard let mountPoint = mountCandidates.first(where: { ar_is_cgroup2($0) != 0 }) else {
            return .failure(.init(reason: "no cgroup2 filesystem is mounted at /sys/fs/cgroup"))
        }
        let location = Location(mountPoint: mountPoint, cgroupPath: own.path, available: [], delegated: [])
        let available = (Files.readText(location.directory + "/cgroup.controllers") ?? "").split(separator: " ").map(String.init)
        let delegated = (Files.readText(location.directory + "/cgroup.subtree_control") ?? "").split(separator: " ").map(String.init)
        return .success(Location(mountPoint: mountPoint, cgroupPath: own.path, available: available, delegated: delegated))
    }

    static func wanted(_ limits: Limits) -> [String] {
        var wanted: [String] = []
        if limits.memory != nil { wanted.append("memory") }
        if limits.processes != nil { wanted.append("pids") }
        return wanted
    }

    /// Creates the run's cgroup: v2 when possible, else (as root) v1.
    public static func create(runID: String, limits: Limits, allowV1: Bool) -> Result<RunCgroup, Unavailable> {
        let v2 = createV2(runID: runID, limits: limits)
        guard case .failure(let whyNotV2) = v2, allowV1 else { return v2 }
        switch createV1(runID: runID, limits: limits) {
        case .success(let group): return .success(group)
        case .failure(let whyNotV1): return .failure(.init(reason: "\(whyNotV2); cgroup v1: \(whyNotV1)"))
        }
    }

    static func createV2(runID: String, limits: Limits) -> Result<RunCgroup, Unavailable> {
        let location: Location
        switch locate() {
        case .failure(let e): return .failure(e)
        case .success(let l): location = l
        }
        let wanted = wanted(limits)
        let missing = wanted.filter { !location.delegated.contains($0) }
        if !missing.isEmpty {
            if missing.allSatisfy({ location.available.contains($0) }) {
                return .failure(.init(reason: "controllers \(missing.joined(separator: ",")) are not enabled for children of \(location.directory) (cgroup.subtree_control)"))
            }
            return .failure(.init(reason: "cgroup v2 at \(location.mountPoint) lacks the \(missing.joined(separator: ",")) controller(s) (bound to cgroup v1, or not delegated)"))
        }
        let path = location.directory + "/agentrun-" + runID
        guard mkdir(path, 0o755) == 0 else {
            return .failure(.init(reason: "cannot create \(path): \(Errno.describe(errno))"))
        }
        do {
            if let memory = limits.memory {
                try Files.write(path + "/memory.max", String(memory))
                try? Files.write(path + "/memory.swap.max", "0")
            }
            if let processes = limits.processes { try Files.write(path + "/pids.max", String(processes)) }
        } catch {
            rmdir(path)
            return .failure(.init(reason: "cannot set limits in \(path): \(error)"))
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            rmdir(path)
            return .failure(.init(reason: "cannot open \(path): \(Errno.describe(errno))"))
        }
        return .success(RunCgroup(version: .v2, paths: [path], cloneFD: fd, procsFDs: [], controllers: wanted))
    }

    static func createV1(runID: String, limits: Limits) -> Result<RunCgroup, Unavailable> {
        let membership = membership()
        var paths: [String] = []
        var fds: [Int32] = []
        func fail(_ reason: String) -> Result<RunCgroup, Unavailable> {
            for fd in fds { close(fd) }
            for path in paths.reversed() { rmdir(path) }
            return .failure(.init(reason: reason))
        }
        let wanted = wanted(limits)
        for controller in wanted {
            let mount = "/sys/fs/cgroup/" + controller
            guard ar_is_cgroup1(mount) != 0,
                let own = membership.first(where: { $0.controllers.contains(controller) })
            else {
                return fail("no v1 \(controller) hierarchy at \(mount)")
            }
            let path = (own.path == "/" ? mount : mount + own.path) + "/agentrun-" + runID
            guard mkdir(path, 0o755) == 0 else { return fail("cannot create \(path): \(Errno.describe(errno))") }
            paths.append(path)
            do {
                if controller == "memory", let memory = limits.memory {
                    try Files.write(path + "/memory.limit_in_bytes", String(memory))
                    // The same bound on memory+swap, where swap accounting exists.
                    try? Files.write(path + "/memory.memsw.limit_in_bytes", String(memory))
                }
                if controller == "pids", let processes = limits.processes {
                    try Files.write(path + "/pids.max", String(processes))
                }
            } catch {
                return fail("cannot set limits in \(path): \(error)")
            }
            let fd = open(path + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return fail("cannot open \(path)/cgroup.procs: \(Errno.describe(errno))") }
            fds.append(fd)
        }
        return .success(RunCgroup(version: .v1, paths: paths, cloneFD: -1, procsFDs: fds, controllers: wanted))
    }

    /// True when the kernel killed something in this cgroup for running out of memory.
    public var sawOutOfMemory: Bool {
        for path in paths {
            let file = version == .v2 ? path + "/memory.events" : path + "/memory.oom_control"
            guard let events = Files.readText(file) else { continue }
            for line in events.split(separator: "\n") where line.hasPrefix("oom_kill ") {
                if (Int(line.dropFirst("oom_kill ".count)) ?? 0) > 0 { return true }
            }
        }
        return false
    }

    /// Kills whatever is left (v2) and removes the cgroup directories.
    public func remove() {
        if version == .v2, let path = paths.first { try? Files.write(path + "/cgroup.kill", "1") }
        if cloneFD >= 0 { close(cloneFD) }
        for fd in procsFDs { close(fd) }
        for path in paths {
            for _ in 0..<100 {
                if rmdir(path) == 0 || errno == ENOENT { break }
                usleep(2000)
            }
        }
    }

    /// What `--verbose` says about it.
    public var summary: String {
        "cgroup \(version.rawValue): " + paths.joined(separator: ", ") + " (" + controllers.joined(separator: ", ") + ")"
    }
}

import AgentrunOS
import AgentrunPolicy
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// A cgroup v2 for one run, when agentrun may create one (root, or a delegated subtree): the
/// profile's memory and process limits become memory.max and pids.max, the agent is cloned
/// straight into it (CLONE_INTO_CGROUP), and the sandbox gets its own cgroup namespace.
public final class RunCgroup {
    public let path: String
    public let fd: Int32
    public let controllers: [String]

    init(path: String, fd: Int32, controllers: [String]) {
        self.path = path
        self.fd = fd
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

    public static func locate() -> Result<Location, Unavailable> {
        guard let text = Files.readText("/proc/self/cgroup") else {
            return .failure(.init(reason: "cannot read /proc/self/cgroup"))
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else {
            return .failure(.init(reason: "this process is not in a cgroup v2 hierarchy"))
        }
        let cgroupPath = String(line.dropFirst(3))
        // statfs on the usual mount points is much cheaper than parsing /proc/self/mountinfo.
        guard let mountPoint = mountCandidates.first(where: { ar_is_cgroup2($0) != 0 }) else {
            return .failure(.init(reason: "no cgroup2 filesystem is mounted at /sys/fs/cgroup"))
        }
        let directory = cgroupPath == "/" ? mountPoint : mountPoint + cgroupPath
        let available = (Files.readText(directory + "/cgroup.controllers") ?? "").split(separator: " ").map(String.init)
        let delegated = (Files.readText(directory + "/cgroup.subtree_control") ?? "").split(separator: " ").map(String.init)
        return .success(Location(mountPoint: mountPoint, cgroupPath: cgroupPath, available: available, delegated: delegated))
    }

    /// Creates `agentrun-<run id>` next to this process's cgroup with the profile's limits.
    public static func create(runID: String, limits: Limits) -> Result<RunCgroup, Unavailable> {
        let location: Location
        switch locate() {
        case .failure(let e): return .failure(e)
        case .success(let l): location = l
        }
        var wanted: [String] = []
        if limits.memory != nil { wanted.append("memory") }
        if limits.processes != nil { wanted.append("pids") }
        let missing = wanted.filter { !location.delegated.contains($0) }
        if !missing.isEmpty {
            let where_ = location.directory
            if missing.allSatisfy({ location.available.contains($0) }) {
                return .failure(.init(reason: "controllers \(missing.joined(separator: ",")) are not enabled for children of \(where_) (cgroup.subtree_control)"))
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
        return .success(RunCgroup(path: path, fd: fd, controllers: wanted))
    }

    /// True when the kernel killed something in this cgroup for running out of memory.
    public var sawOutOfMemory: Bool {
        guard let events = Files.readText(path + "/memory.events") else { return false }
        for line in events.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return (Int(line.dropFirst("oom_kill ".count)) ?? 0) > 0
        }
        return false
    }

    /// Kills whatever is left and removes the cgroup.
    public func remove() {
        try? Files.write(path + "/cgroup.kill", "1")
        close(fd)
        for _ in 0..<50 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            usleep(2000)
        }
    }
}

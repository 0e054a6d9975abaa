import AgentrunPolicy

#if canImport(Glibc)
import Glibc
#endif

/// rlimits applied inside the sandbox (to init and inherited by the agent).
///
/// A hard limit above the supervisor's own cannot be set (that needs CAP_SYS_RESOURCE in the
/// initial namespace), so each value is capped at the current hard limit; verbose output says so.
public struct ResourceLimit: Sendable, Equatable {
    public var name: String
    public var resource: Int32
    public var soft: UInt64
    public var hard: UInt64

    // Linux resource numbers (the Glibc module imports them as an enum).
    static let cpu: Int32 = 0
    static let fileSize: Int32 = 1
    static let core: Int32 = 4
    static let processes: Int32 = 6
    static let openFiles: Int32 = 7
    static let addressSpace: Int32 = 9
    static let infinity = UInt64.max

    public static func plan(_ limits: Limits) -> (limits: [ResourceLimit], notes: [String]) {
        var out: [ResourceLimit] = []
        var notes: [String] = []
        func add(_ name: String, _ resource: Int32, _ value: UInt64?, hardExtra: UInt64 = 0) {
            let current = currentHard(resource)
            guard let value else {
                return
            }
            var soft = value
            var hard = value == infinity ? infinity : value &+ hardExtra
            if hard < value { hard = infinity }
            if current != infinity && hard > current {
                notes.append("\(name): \(value) capped at the current hard limit \(current)")
                hard = current
                soft = min(soft, current)
            }
            out.append(ResourceLimit(name: name, resource: resource, soft: soft, hard: hard))
        }
        add("core", core, 0)
        // RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard limit a few seconds later.
        add("cpu", cpu, limits.cpu.map { UInt64($0.rounded(.up)) }, hardExtra: 5)
        add("address_space", addressSpace, limits.addressSpace)
        add("processes", processes, limits.processes)
        add("open_files", openFiles, limits.openFiles)
        add("file_size", fileSize, limits.fileSize)
        return (out, notes)
    }

    /// The soft limit this process runs under (the sandbox inherits it until its own apply).
    static func currentSoft(_ resource: Int32) -> UInt64 {
        var rl = rlimit()
        guard getrlimit(__rlimit_resource_t(UInt32(resource)), &rl) == 0 else { return infinity }
        return rl.rlim_cur == rlim_t.max ? infinity : UInt64(rl.rlim_cur)
    }

    static func currentHard(_ resource: Int32) -> UInt64 {
        var rl = rlimit()
        guard getrlimit(__rlimit_resource_t(UInt32(resource)), &rl) == 0 else { return infinity }
        return rl.rlim_max == rlim_t.max ? infinity : UInt64(rl.rlim_max)
    }
}

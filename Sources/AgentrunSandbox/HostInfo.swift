import AgentrunOS
import CAgentrunShim
import CLibcap

#if canImport(Glibc)
import Glibc
#endif

/// What agentrun needs to know about the host and the invoking user.
public struct HostInfo: Sendable {
    public var uid: UInt32
    public var gid: UInt32
    /// Highest capability number the kernel knows (libcap reads /proc/sys/kernel/cap_last_cap).
    public var lastCapability: Int32
    /// Landlock ABI version, or a negative errno when Landlock is unavailable.
    public var landlockABI: Int32
    public var kernelRelease: String

    public var isRoot: Bool { uid == 0 }

    public static func current() -> HostInfo {
        return HostInfo(
            uid: geteuid(),
            gid: getegid(),
            lastCapability: Int32(cap_max_bits()) - 1,
            landlockABI: ar_landlock_abi(),
            kernelRelease: Uname.current().release)
    }
}

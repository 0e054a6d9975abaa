#if canImport(Glibc)
import Glibc
#endif

/// Who the agent is inside the sandbox and on the host.
///
/// - Run by an ordinary user: the agent keeps that user's uid inside (`U U 1`), the only mapping an
///   unprivileged process may write; files it creates in the workspace are the user's.
/// - Run by root: the agent is uid/gid 1000 inside, mapped to a fresh unprivileged host id per run
///   (never 0, so root-owned files stay out of reach through the mapping). The workspace is mounted
///   through an idmapped mount that maps the invoking user's ids on disk to that host id, so files
///   the agent creates there are owned by the invoking user.
public struct Identity: Sendable, Equatable {
    public var insideUID: UInt32
    public var insideGID: UInt32
    /// The agent's ids as the host kernel sees them.
    public var hostUID: UInt32
    public var hostGID: UInt32
    public var uidMap: String
    public var gidMap: String
    /// An unprivileged writer of gid_map must first deny setgroups(2).
    public var denySetgroups: Bool
    /// Drop the invoking user's supplementary groups (possible when the maps were written by root).
    public var clearGroups: Bool
    /// Maps for the idmapped workspace mount (root only): on-disk invoking ids -> the agent's host ids.
    public var workspaceIdmap: (uidMap: String, gidMap: String)?

    public static func == (lhs: Identity, rhs: Identity) -> Bool {
        lhs.insideUID == rhs.insideUID && lhs.insideGID == rhs.insideGID && lhs.hostUID == rhs.hostUID
            && lhs.hostGID == rhs.hostGID && lhs.uidMap == rhs.uidMap && lhs.gidMap == rhs.gidMap
            && lhs.denySetgroups == rhs.denySetgroups && lhs.clearGroups == rhs.clearGroups
            && lhs.workspaceIdmap?.uidMap == rhs.workspaceIdmap?.uidMap
            && lhs.workspaceIdmap?.gidMap == rhs.workspaceIdmap?.gidMap
    }

    /// The uid/gid the agent has inside when agentrun runs as root.
    public static let rootModeInsideID: UInt32 = 1000
    /// Per-run host ids for root mode are drawn from [base, base + span): far above ordinary users
    /// and systemd's container ranges, below 2^31 so every tool handles them.
    public static let rootModeHostBase: UInt32 = 0x6000_0000
    public static let rootModeHostSpan: UInt32 = 0x1000_0000

    public static func make(invokingUID: UInt32, invokingGID: UInt32, seed: UInt32) -> Identity {
        if invokingUID != 0 {
            return Identity(
                insideUID: invokingUID, insideGID: invokingGID, hostUID: invokingUID, hostGID: invokingGID,
                uidMap: "\(invokingUID) \(invokingUID) 1\n", gidMap: "\(invokingGID) \(invokingGID) 1\n",
                denySetgroups: true, clearGroups: false, workspaceIdmap: nil)
        }
        let host = rootModeHostBase + seed % rootModeHostSpan
        let inside = rootModeInsideID
        return Identity(
            insideUID: inside, insideGID: inside, hostUID: host, hostGID: host,
            uidMap: "\(inside) \(host) 1\n", gidMap: "\(inside) \(host) 1\n",
            denySetgroups: false, clearGroups: true,
            workspaceIdmap: (uidMap: "\(invokingUID) \(host) 1\n", gidMap: "\(invokingGID) \(host) 1\n"))
    }
}

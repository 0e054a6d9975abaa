import AgentrunProvenance
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Who is on the other end of a broker connection, as the kernel tells it (never as the caller
/// says). Recorded as the `actor` of every record the connection causes.
struct PeerIdentity: Sendable {
    /// Host pid (SO_PEERCRED, at connect time).
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
    /// readlink /proc/<pid>/exe (nil when unreadable).
    var exe: String?
    /// The pid inside the peer's own pid namespace (last field of NSpid in /proc/<pid>/status).
    var innerPID: Int32?

    var actor: JSONValue {
        var a: [String: JSONValue] = ["pid": .int(Int64(pid)), "uid": .int(Int64(uid))]
        if let exe { a["exe"] = .string(exe) }
        if let innerPID { a["inner_pid"] = .int(Int64(innerPID)) }
        return .object(a)
    }
}

/// Why a peer was refused (recorded in `broker.refused`).
struct PeerRefusal: Error, Sendable {
    var pid: Int32?
    var uid: UInt32?
    var reason: String
}

/// The accept-time check: the peer must be a live process in the sandbox's pid namespace.
///
/// Preferred path (race-free against pid reuse): SO_PEERPIDFD gives a pidfd of the connecting
/// process and PIDFD_GET_PID_NAMESPACE an fd of its pid namespace, compared by st_dev/st_ino.
/// Fallback (kernel < 6.5 / < 6.11, or an ioctl refused): stat /proc/<pid>/ns/pid, then check
/// that the pidfd (from SO_PEERPIDFD or pidfd_open) is still alive, so the stat cannot have
/// been of a process that reused the pid after the peer exited.
enum PeerAuthenticator {
    static func authenticate(
        cred: ar_peer_cred, peerPIDFD: Int32?, expected: (device: UInt64, inode: UInt64)
    ) -> Result<PeerIdentity, PeerRefusal> {
        let pid = cred.pid
        func refuse(_ reason: String) -> Result<PeerIdentity, PeerRefusal> {
            .failure(PeerRefusal(pid: pid > 0 ? pid : nil, uid: cred.uid, reason: reason))
        }
        guard pid > 0 else { return refuse("the kernel reported no peer process") }

        var pidfd = peerPIDFD ?? -1
        var ownsPIDFD = false
        if pidfd < 0 {
            let opened = ar_peer_pidfd_open(pid)
            guard opened >= 0 else { return refuse("peer process \(pid) is gone (pidfd_open: \(describe(-opened)))") }
            pidfd = opened
            ownsPIDFD = true
        }
        defer { if ownsPIDFD { close(pidfd) } }

        var dev: UInt64 = 0
        var ino: UInt64 = 0
        let nsfd = ar_pidfd_pid_namespace(pidfd)
        if nsfd >= 0 {
            let rc = ar_fd_dev_ino(nsfd, &dev, &ino)
            close(nsfd)
            guard rc == 0 else { return refuse("cannot stat the peer's pid namespace: \(describe(-rc))") }
        } else if nsfd == -ESRCH {
            return refuse("peer process \(pid) has exited")
        } else {
            let rc = ar_path_dev_ino("/proc/\(pid)/ns/pid", &dev, &ino)
            guard rc == 0 else { return refuse("cannot stat /proc/\(pid)/ns/pid: \(describe(-rc))") }
        }
        guard dev == expected.device, ino == expected.inode else {
            return refuse("peer process \(pid) is not in this run's pid namespace")
        }

        // Details for the records, read from /proc and only trusted if the process is still the same.
        let exe = readLink("/proc/\(pid)/exe")
        let inner = innerPID(pid)
        let alive = ar_peer_pidfd_alive(pidfd)
        guard alive == 0 else { return refuse("peer process \(pid) exited during the check") }
        return .success(PeerIdentity(pid: pid, uid: cred.uid, gid: cred.gid, exe: exe, innerPID: inner))
    }

    static func describe(_ err: Int32) -> String {
        guard let text = strerror(err) else { return "errno \(err)" }
        return String(cString: text)
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The last NSpid field of /proc/<pid>/status: the pid as the peer's own namespace numbers it.
    static func innerPID(_ pid: Int32) -> Int32? {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 64 << 10 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: "NSpid:".utf8) {
            let fields = line.dropFirst(6).split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
            if let last = fields.last { return Int32(String(decoding: last, as: UTF8.self)) }
        }
        return nil
    }
}

// Socket and IPC attacks: host TCP listeners (loopback and external), host Unix sockets (path
// and abstract), forbidden address families, network interfaces.
//
// Each listener is a host process the test starts: the host control connects (proving a
// "refused" in the sandbox is not just "nothing listening"), and for TCP a second control runs
// the same connect inside a sandbox with `network: host`, i.e. with the protection off.

import Foundation
import Glibc
import Testing

@Suite("Socket attacks", .needsSandbox, .timeLimit(.minutes(1)))
struct SocketAttacks {
    private let hostNetwork = "extends: default\nnetwork: host\n"

    private func listenTCP(_ t: TestDir, _ addr: String) throws -> (HostProcess, String) {
        let l = try HostProcess([t.probe, "listen-tcp", addr, "0"])
        let port = try #require(l.waitForLine(prefix: "listening "), "the host listener did not start\n\(l.child.stderr)")
        return (l, port)
    }

    private func tcp(_ addr: String) throws {
        let t = try TestDir("sock")
        let (listener, port) = try listenTCP(t, addr)
        expectControlSucceeds(t.probeOnHost(["connect-tcp", addr, port], control: false), "connecting to \(addr):\(port) from the host")
        let off = try t.profile(hostNetwork)
        expectControlSucceeds(t.probeIn(["connect-tcp", addr, port], profile: off), "connecting to \(addr):\(port) from a sandbox with network: host")
        _ = listener.waitForLine(prefix: "never", timeout: 0.3)
        let accepted = listener.child.stdout.components(separatedBy: "accepted").count - 1
        #expect(accepted == 2, "the listener saw \(accepted) control connections, want 2")
        expectBlocked(t.probeIn(["connect-tcp", addr, port]), "connecting to the host's \(addr):\(port)")
        _ = listener.waitForLine(prefix: "never", timeout: 0.2)
        #expect(listener.child.stdout.components(separatedBy: "accepted").count - 1 == accepted, "the host listener accepted a connection from the sandbox")
    }

    @Test("a host TCP listener on 127.0.0.1 is unreachable")
    func hostLoopbackV4() throws { try tcp("127.0.0.1") }

    @Test("a host TCP listener on ::1 is unreachable")
    func hostLoopbackV6() throws { try tcp("::1") }

    @Test("a host TCP listener on the external address is unreachable")
    func hostExternal() throws {
        let addr = try #require(Host.externalIPv4(), "this host has no external IPv4 address")
        try tcp(addr)
    }

    @Test("a host Unix socket outside the workspace is unreachable")
    func hostUnixSocket() throws {
        let t = try TestDir("sock")
        let path = t.hostPath("agent.sock")
        let l = try HostProcess([t.probe, "listen-unix", path])
        _ = try #require(l.waitForLine(prefix: "listening "), "the host listener did not start")
        expectControlSucceeds(t.probeOnHost(["connect-unix", path], control: false), "connecting to \(path) from the host")
        expectBlocked(t.probeIn(["connect-unix", path]), "connecting to the host socket \(path)")
        for s in ["/run/dbus/system_bus_socket", "/var/run/docker.sock", "/run/systemd/private", "/run/containerd/containerd.sock"] {
            expectBlocked(t.probeIn(["connect-unix", s]), "connecting to \(s)")
        }
    }

    @Test("a host abstract Unix socket is unreachable")
    func hostAbstractSocket() throws {
        let t = try TestDir("sock")
        let name = "@agentrun-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let l = try HostProcess([t.probe, "listen-unix", name])
        _ = try #require(l.waitForLine(prefix: "listening "), "the host listener did not start")
        expectControlSucceeds(t.probeOnHost(["connect-unix", name], control: false), "connecting to \(name) from the host")
        expectBlocked(t.probeIn(["connect-unix", name]), "connecting to the host's abstract socket \(name)")
    }

    @Test("a host abstract Unix socket is unreachable even with network: host (Landlock scope)")
    func hostAbstractSocketSharedNetns() throws {
        let t = try TestDir("sock")
        let name = "@agentrun-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let l = try HostProcess([t.probe, "listen-unix", name])
        _ = try #require(l.waitForLine(prefix: "listening "), "the host listener did not start")
        expectControlSucceeds(t.probeOnHost(["connect-unix", name], control: false), "connecting to \(name) from the host")
        // With network: host the abstract namespace is shared; only Landlock's scope stops it.
        let shared = try t.profile(hostNetwork)
        expectBlocked(t.probeIn(["connect-unix", name], profile: shared), "connecting to a host abstract socket with network: host")
    }

    @Test("AF_PACKET sockets are refused")
    func packet() throws {
        let t = try TestDir("sock")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["socket", "packet"]), "AF_PACKET as root") }
        expectBlocked(t.probeIn(["socket", "packet"]), "socket(AF_PACKET)")
    }

    @Test("raw IP sockets are refused")
    func rawIP() throws {
        let t = try TestDir("sock")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["socket", "raw"]), "SOCK_RAW as root") }
        expectBlocked(t.probeIn(["socket", "raw"]), "socket(AF_INET, SOCK_RAW)")
    }

    @Test("AF_NETLINK other than NETLINK_ROUTE (audit, uevent, sock_diag, generic, netfilter) is refused")
    func netlink() throws {
        let t = try TestDir("sock")
        for proto in ["netlink-audit", "netlink-uevent", "netlink-diag", "netlink-generic", "netlink-netfilter"] {
            if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["socket", proto]), "\(proto) as root") }
            expectBlocked(t.probeIn(["socket", proto]), "socket(\(proto))")
        }
        // NETLINK_ROUTE stays allowed (ip, getifaddrs need it).
        expectSuccess(t.probeIn(["socket", "netlink-route"]), "NETLINK_ROUTE in the sandbox")
    }

    @Test("AF_VSOCK sockets are refused")
    func vsock() throws {
        let t = try TestDir("sock")
        expectControlSucceeds(t.probeOnHost(["socket", "vsock"]), "AF_VSOCK on the host (a virtio-vsock VM)")
        expectBlocked(t.probeIn(["socket", "vsock"]), "socket(AF_VSOCK)")
    }

    @Test("AF_ALG sockets are refused")
    func alg() throws {
        let t = try TestDir("sock")
        let c = t.probeOnHost(["socket", "alg"])
        if c.status == 1 && c.stdout.contains(String(cString: strerror(EAFNOSUPPORT))) {
            // This kernel has no AF_ALG (CONFIG_CRYPTO_USER_API_* off), so the control cannot
            // succeed. The different control opens AF_VSOCK through the same probe code path.
            expectControlSucceeds(t.probeOnHost(["socket", "vsock"]), "the probe's socket path (AF_ALG is not built into this kernel)")
        } else {
            expectControlSucceeds(c, "AF_ALG on the host")
        }
        expectBlocked(t.probeIn(["socket", "alg"]), "socket(AF_ALG)")
    }

    @Test("every other address family is refused")
    func allFamilies() throws {
        let t = try TestDir("sock")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["socket-families"]), "opening other families as root") }
        expectBlocked(t.probeIn(["socket-families"]), "opening a socket of a forbidden family")
    }

    @Test("only the loopback interface exists")
    func interfaces() throws {
        let t = try TestDir("sock")
        expectControlSucceeds(t.probeOnHost(["ifaces"], control: false), "seeing the host's interfaces")
        expectBlocked(t.probeIn(["ifaces"]), "seeing a non-loopback interface")
    }
}

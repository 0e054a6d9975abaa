// Namespace and mount attacks: nested namespaces (CVE-2022-0185 class), setns into agentrun's
// namespaces, the old and new mount APIs (flatpak CVE-2021-41133), chroot, pivot_root, hostname,
// namespaces shared with the host, SysV IPC.
//
// Host controls of destructive primitives run with `--control`: the probe first moves into a
// private mount (or UTS) namespace, so the host is untouched.

import Foundation
import Glibc
import Testing

@Suite("Namespace and mount attacks", .needsSandbox, .timeLimit(.minutes(1)))
struct NamespaceAttacks {
    static let otherNamespaces = ["mnt", "pid", "net", "ipc", "uts", "cgroup", "time"]

    @Test("unshare(CLONE_NEWUSER) is refused")
    func unshareUser() throws {
        let t = try TestDir("ns")
        // Root (or any user where unprivileged user namespaces work) may create one on the host.
        expectControlSucceeds(t.probeOnHost(["unshare", "user"]), "unshare(CLONE_NEWUSER) on the host")
        expectBlocked(t.probeIn(["unshare", "user"]), "unshare(CLONE_NEWUSER)")
    }

    @Test("unshare of every other namespace type is refused")
    func unshareOthers() throws {
        let t = try TestDir("ns")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["unshare"] + Self.otherNamespaces), "unshare on the host") }
        for ns in Self.otherNamespaces {
            expectBlocked(t.probeIn(["unshare", ns]), "unshare(CLONE_NEW\(ns.uppercased()))")
        }
    }

    @Test("clone(CLONE_NEWUSER) is refused")
    func cloneUser() throws {
        let t = try TestDir("ns")
        expectControlSucceeds(t.probeOnHost(["clone-ns", "user"]), "clone(CLONE_NEWUSER) on the host")
        expectBlocked(t.probeIn(["clone-ns", "user"]), "clone(CLONE_NEWUSER)")
    }

    @Test("clone with any other CLONE_NEW* flag is refused")
    func cloneOthers() throws {
        let t = try TestDir("ns")
        // clone() cannot ask for a time namespace (CLONE_NEWTIME lies in its exit-signal bits):
        // unshare and clone3 cover that one.
        let kinds = Self.otherNamespaces.filter { $0 != "time" }
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["clone-ns"] + kinds), "clone(CLONE_NEW*) on the host") }
        for ns in kinds {
            expectBlocked(t.probeIn(["clone-ns", ns]), "clone(CLONE_NEW\(ns.uppercased()))")
        }
    }

    @Test("clone3, whose flags seccomp cannot inspect, fails with ENOSYS")
    func clone3() throws {
        let t = try TestDir("ns")
        expectControlSucceeds(t.probeOnHost(["clone3-plain"]), "clone3 on the host")
        expectControlSucceeds(t.probeOnHost(["clone3-ns", "user"]), "clone3(CLONE_NEWUSER) on the host")
        let plain = t.probeIn(["clone3-plain"])
        expectBlocked(plain, "clone3")
        #expect(plain.stdout.contains(String(cString: strerror(ENOSYS))), "clone3 must fail with ENOSYS (so libc falls back to clone)\n\(plain)")
        expectBlocked(t.probeIn(["clone3-ns", "all"]), "clone3(CLONE_NEW*)")
    }

    @Test("setns into the namespaces of pid 1 (by /proc/1/ns/* and by pidfd) is refused")
    func setnsInit() throws {
        let t = try TestDir("ns")
        if controlNeedsRoot() {
            let target = try HostProcess([t.probe, "sleep", "60"])
            _ = target.waitForLine(prefix: "never", timeout: 0.1)
            expectControlSucceeds(t.probeOnHost(["setns-pid", "\(target.pid)"]), "setns into a host process's namespaces")
        }
        expectBlocked(t.probeIn(["setns-pid", "1"]), "setns into pid 1's namespaces")
    }

    @Test("mounting a tmpfs is refused")
    func mountTmpfs() throws {
        let t = try TestDir("ns")
        let dir = t.path("mnt")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["mount-tmpfs", dir]), "mount(tmpfs) in a private mount namespace") }
        expectBlocked(t.probeIn(["mount-tmpfs", dir]), "mount(tmpfs)")
        expectBlocked(t.probeIn(["mount-tmpfs", "/tmp"]), "mount(tmpfs) over /tmp")
    }

    @Test("remounting a read-only system directory read-write is refused")
    func remountReadWrite() throws {
        let t = try TestDir("ns")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["remount-rw", "/usr"]), "remounting a read-only bind of /usr read-write") }
        expectBlocked(t.probeIn(["remount-rw", "/usr"]), "remounting /usr read-write")
        expectBlocked(t.probeIn(["remount-rw", "/"]), "remounting / read-write")
    }

    @Test("unmounting the mounts that protect .git/hooks, .git/config and /usr is refused")
    func unmountProtection() throws {
        let t = try TestDir("ns")
        _ = Harness.run(["git", "init", "-q", t.workspace])
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["umount", t.path(".git/hooks")]), "umount in a private mount namespace") }
        for target in [t.path(".git/hooks"), t.path(".git/config"), "/usr", "/proc", t.workspace] {
            expectBlocked(t.probeIn(["umount", target]), "umount2(\(target))")
        }
    }

    @Test("fsopen/fsconfig/fsmount/move_mount are refused")
    func newMountAPI() throws {
        let t = try TestDir("ns")
        let dir = t.path("mnt")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["fsopen", dir]), "fsopen(tmpfs) in a private mount namespace") }
        expectBlocked(t.probeIn(["fsopen", dir]), "fsopen/fsmount/move_mount")
    }

    @Test("open_tree (also without OPEN_TREE_CLONE) and move_mount are refused")
    func openTree() throws {
        let t = try TestDir("ns")
        let dir = t.path("mnt")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["open-tree", "/usr", dir]), "open_tree(OPEN_TREE_CLONE) in a private mount namespace") }
        expectBlocked(t.probeIn(["open-tree", "/usr", dir]), "open_tree/move_mount")
    }

    @Test("fspick of a read-only mount is refused")
    func fspick() throws {
        let t = try TestDir("ns")
        // fspick needs the root of a mount: / on the host, /usr (a bind) and / in the sandbox.
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["fspick", "/"]), "fspick(/) in a private mount namespace") }
        expectBlocked(t.probeIn(["fspick", "/usr"]), "fspick(/usr)")
        expectBlocked(t.probeIn(["fspick", "/"]), "fspick(/)")
    }

    @Test("mount_setattr cannot clear MOUNT_ATTR_RDONLY")
    func mountSetattr() throws {
        let t = try TestDir("ns")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["mount-setattr", "/usr"]), "mount_setattr on a read-only bind in a private mount namespace") }
        expectBlocked(t.probeIn(["mount-setattr", "/usr"]), "mount_setattr(/usr, clear RDONLY)")
    }

    @Test("chroot is refused")
    func chroot() throws {
        let t = try TestDir("ns")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["chroot", t.workspace]), "chroot as root") }
        expectBlocked(t.probeIn(["chroot", t.workspace]), "chroot")
    }

    @Test("pivot_root is refused")
    func pivotRoot() throws {
        let t = try TestDir("ns")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["pivot-root", t.workspace]), "pivot_root in a private mount namespace") }
        // The workspace is a mount point inside the sandbox: pivot_root(".", ".") there.
        expectBlocked(t.probeIn(["pivot-root", t.workspace]), "pivot_root")
    }

    @Test("sethostname and setdomainname are refused, and the hostname is agentrun")
    func hostname() throws {
        let t = try TestDir("ns")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["sethostname", "pwned"]), "sethostname in a private UTS namespace") }
        expectBlocked(t.probeIn(["sethostname", "pwned"]), "sethostname")
        let id = t.probeIn(["id"])
        #expect(id.stdout.contains("hostname=agentrun\n"), "\(id)")
    }

    @Test("the sandbox shares no namespace with the host")
    func namespacesDiffer() throws {
        let t = try TestDir("ns")
        let host = t.probeOnHost(["ns-ids"], control: false)
        let inside = t.probeIn(["ns-ids"])
        expectSuccess(inside, "ns-ids in the sandbox")
        func parse(_ s: String) -> [String: String] {
            Dictionary(s.split(separator: "\n").compactMap { line -> (String, String)? in
                let f = line.split(separator: " ")
                return f.count == 2 ? (String(f[0]), String(f[1])) : nil
            }, uniquingKeysWith: { a, _ in a })
        }
        let h = parse(host.stdout), i = parse(inside.stdout)
        // Control: the host's own view is complete (same namespaces as this test process).
        #expect(h.count >= 7, "\(host)")
        for ns in ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup"] {
            #expect(i[ns] != nil && i[ns] != h[ns], "the sandbox shares the host's \(ns) namespace (\(i[ns] ?? "?"))")
        }
    }

    @Test("a nested agentrun cannot start a laxer sandbox (network: host) from inside")
    func nestedAgentrun() throws {
        let t = try TestDir("ns")
        let listener = try HostProcess([t.probe, "listen-tcp", "127.0.0.1", "0"])
        let port = try #require(listener.waitForLine(prefix: "listening "))
        let inner = t.path("agentrun")
        try FileManager.default.copyItem(atPath: Harness.agentrun, toPath: inner)
        chmod(inner, 0o755)
        try t.write("lax.yaml", "extends: default\nnetwork: host\n")
        let nested = [inner, "--profile", t.path("lax.yaml"), "--workspace", t.workspace, "--", t.probe, "connect-tcp", "127.0.0.1", port]
        // Control: run on the host, the same command line reaches the host listener.
        expectControlSucceeds(Harness.run(nested, cwd: t.workspace), "the nested command line on the host")
        let r = t.sandbox(nested)
        #expect(r.status != 0 && !r.stdout.contains("escaped:"), "ESCAPE: an agentrun started inside the sandbox ran a laxer policy\n\(r)")
    }

    @Test("SysV shared memory of the host is invisible (IPC namespace)")
    func sysvIPC() throws {
        let t = try TestDir("ns")
        let key = "\(Int32.random(in: 100_000...2_000_000_000))"
        expectSuccess(t.probeOnHost(["shm-create", key], control: false), "shm-create")
        defer { _ = t.probeOnHost(["shm-rm", key], control: false) }
        expectControlSucceeds(t.probeOnHost(["shm-attach", key], control: false), "attaching the segment on the host")
        expectBlocked(t.probeIn(["shm-attach", key]), "attaching the host's SysV shared memory")
    }
}

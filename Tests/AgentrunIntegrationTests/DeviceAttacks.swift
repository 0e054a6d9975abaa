// Device attacks: host device nodes (disks, kmsg, kvm, VTs, loop, fuse, vsock, userfaultfd),
// creating device nodes, host shared memory in /dev/shm.

import Foundation
import Glibc
import Testing

@Suite("Device attacks", .needsSandbox, .timeLimit(.minutes(1)))
struct DeviceAttacks {
    static let minimalDev: Set<String> = ["null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm", "fd", "stdin", "stdout", "stderr"]

    /// Host device nodes that exist on this machine and must not exist in the sandbox.
    static var hostDevices: [String] {
        let candidates = ["vda", "vdb", "sda", "nvme0n1", "xvda", "kmsg", "kvm", "mem", "kmem", "port", "loop-control", "loop0",
                          "fuse", "vsock", "userfaultfd", "console", "tty0", "tty1", "ttyS0", "vcs", "vcsa", "cpu_dma_latency",
                          "zram0", "btrfs-control", "hwrng", "vga_arbiter", "autofs", "net/tun", "uinput", "rtc0", "watchdog"]
        return candidates.map { "/dev/" + $0 }.filter { Host.stat($0) != nil }
    }

    @Test("only the minimal /dev is present (no host device nodes)")
    func minimalDev() throws {
        let t = try TestDir("dev")
        let hostOnly = Self.hostDevices
        // Control: the host has them.
        expectControlSucceeds(t.probeOnHost(["exists"] + hostOnly, control: false), "seeing host device nodes")
        expectBlocked(t.probeIn(["exists"] + hostOnly), "seeing host device nodes")
        let ls = t.probeIn(["ls", "/dev"])
        expectSuccess(ls, "listing /dev")
        let extra = Set(ls.stdout.split(separator: "\n").map(String.init)).subtracting(Self.minimalDev)
        #expect(extra.isEmpty, "unexpected entries in the sandbox's /dev: \(extra.sorted())")
    }

    @Test("the host's block devices cannot be opened")
    func rawDisk() throws {
        let t = try TestDir("dev")
        let disks = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? [])
            .map { "/dev/" + $0 }.filter { Host.stat($0) != nil }.sorted()
        let disk = try #require(disks.first, "no block device on this host")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["read", disk]), "reading \(disk) as root") }
        expectBlocked(t.probeIn(["read"] + disks), "reading the host's disks")
    }

    @Test("kernel device nodes (kmsg, kvm, loop-control, fuse, userfaultfd, VTs, mem) cannot be opened")
    func kernelDevices() throws {
        let t = try TestDir("dev")
        // /dev/mem, /dev/kmem and /dev/port do not exist on this kernel (CONFIG_DEVMEM is off):
        // the control uses the nodes that do exist; the attack still tries all of them.
        let nodes = ["/dev/kmsg", "/dev/kvm", "/dev/loop-control", "/dev/fuse", "/dev/userfaultfd", "/dev/tty1", "/dev/console",
                     "/dev/mem", "/dev/kmem", "/dev/port", "/dev/vsock", "/dev/hwrng"]
        let present = nodes.filter { Host.stat($0) != nil }
        if controlNeedsRoot(), !present.isEmpty {
            expectControlSucceeds(t.probeOnHost(["read"] + present), "opening kernel device nodes as root")
        }
        expectBlocked(t.probeIn(["read"] + nodes), "opening kernel device nodes")
    }

    @Test("mknod of a character device is refused")
    func mknodChar() throws {
        let t = try TestDir("dev")
        if controlNeedsRoot() {
            expectControlSucceeds(t.probeOnHost(["mknod", t.path("mem-control"), "c", "1", "1"]), "mknod as root")
        }
        expectBlocked(t.probeIn(["mknod", t.path("mem"), "c", "1", "1"]), "mknod c 1 1 (/dev/mem) in the workspace")
        expectBlocked(t.probeIn(["mknod", "/tmp/kmsg", "c", "1", "11"]), "mknod c 1 11 (/dev/kmsg) in /tmp")
        expectBlocked(t.probeIn(["mknod", "/dev/shm/null2", "c", "1", "3"]), "mknod c 1 3 in /dev/shm")
        #expect(!t.exists("mem"), "a device node appeared in the workspace")
    }

    @Test("mknod of a block device for the host disk is refused")
    func mknodBlock() throws {
        let t = try TestDir("dev")
        guard let st = Host.stat("/dev/vda") ?? Host.stat("/dev/sda") else { return }
        let major = "\(Int(st.st_rdev >> 8) & 0xfff)", minor = "\(Int(st.st_rdev & 0xff))"
        if controlNeedsRoot() {
            expectControlSucceeds(t.probeOnHost(["mknod", t.path("disk-control"), "b", major, minor]), "mknod b as root")
        }
        expectBlocked(t.probeIn(["mknod", t.path("disk"), "b", major, minor]), "mknod of the host disk")
    }

    @Test("the host's terminals in /dev/pts are unreachable (a private devpts)")
    func hostPts() throws {
        let t = try TestDir("dev")
        let pty = try PseudoTerminal()
        // Control: the host opens its own pty slave.
        expectControlSucceeds(t.probeOnHost(["read", pty.slavePath], control: false), "opening \(pty.slavePath) on the host")
        expectBlocked(t.probeIn(["read", pty.slavePath]), "opening the host terminal \(pty.slavePath)")
        let ls = t.probeIn(["ls", "/dev/pts"])
        let visible = ls.stdout.split(separator: "\n").filter { $0 != "ptmx" }
        #expect(visible.isEmpty, "the sandbox sees terminals in /dev/pts: \(visible)")
    }

    @Test("the host's /dev/shm is not shared")
    func devShmPrivate() throws {
        let t = try TestDir("dev")
        let name = "/dev/shm/agentrun-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try t.write(name, "host shm")
        defer { unlink(name) }
        expectControlSucceeds(t.probeOnHost(["read", name], control: false), "reading the host's /dev/shm")
        expectBlocked(t.probeIn(["read", name]), "reading the host's /dev/shm")
        let leak = name + "-leak"
        _ = t.probeIn(["write", leak])
        #expect(!t.exists(leak), "the agent wrote into the host's /dev/shm")
        unlink(leak)
    }
}

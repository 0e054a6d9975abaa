// Resource attacks: the profile's limits (file_size, processes, open_files, address_space, cpu)
// hold, hard limits cannot be raised, core dumps stay off, and a fork bomb is contained.
//
// Controls run the same primitive in a sandbox with the default profile's looser limits (the
// protection relaxed), and on the host for raising limits.

import Foundation
import Glibc
import Testing

@Suite("Resource attacks", .serialized, .needsSandbox, .timeLimit(.minutes(1)))
struct ResourceAttacks {
    private func limits(_ t: TestDir, _ body: String) throws -> String {
        try t.profile("extends: default\nlimits:\n" + body)
    }

    @Test("writing beyond file_size fails with EFBIG")
    func fileSize() throws {
        let t = try TestDir("res")
        let tight = try limits(t, "  file_size: 1MiB\n")
        expectControlSucceeds(t.probeIn(["write-big", t.path("big"), "2M"]), "writing 2 MiB under the default profile")
        expectBlocked(t.probeIn(["write-big", t.path("big"), "2M"], profile: tight), "writing 2 MiB with file_size 1MiB")
        let size = Host.stat(t.path("big")).map { Int($0.st_size) } ?? -1
        #expect(size <= 1 << 20, "the file grew to \(size) bytes")
        expectBlocked(t.probeIn(["write-big", "/tmp/big", "2M"], profile: tight), "writing 2 MiB to /tmp with file_size 1MiB")
    }

    @Test("the private /tmp, /dev/shm and HOME cannot grow beyond tmp_size (host memory)")
    func tmpfsSize() throws {
        let t = try TestDir("res")
        let tight = try t.profile("extends: default\nfilesystem:\n  tmp_size: 8MiB\n")
        for dir in ["/tmp", "/dev/shm", "/home/agent"] {
            expectControlSucceeds(t.probeIn(["write-big", dir + "/big", "16M"]), "writing 16 MiB to \(dir) under the default profile")
            expectBlocked(t.probeIn(["write-big", dir + "/big", "16M"], profile: tight), "writing 16 MiB to \(dir) with tmp_size 8MiB")
        }
    }

    @Test("hard limits cannot be raised")
    func raiseHardLimits() throws {
        let t = try TestDir("res")
        let names = ["core", "fsize", "nproc", "nofile", "as", "cpu"]
        if Host.hasCapability(24 /* CAP_SYS_RESOURCE */) {
            let c = t.probeOnHost(["rlimit-raise"] + names,
                                  wrapper: ["prlimit", "--core=0:0", "--fsize=1048576:1048576", "--nproc=512:512", "--nofile=256:256", "--as=17179869184:17179869184", "--cpu=600:600"])
            expectControlSucceeds(c, "raising hard limits with CAP_SYS_RESOURCE")
        } else {
            // Root here lacks CAP_SYS_RESOURCE (the VM drops it), so nobody can raise a hard limit
            // and that control cannot succeed. The different control runs the probe where the hard
            // limit is unlimited, which it reports as the escape it is.
            expectControlSucceeds(t.probeOnHost(["rlimit-raise", "fsize"]), "an unlimited hard fsize limit on the host")
        }
        for name in names {
            expectBlocked(t.probeIn(["rlimit-raise", name]), "raising the hard \(name) limit")
        }
    }

    @Test("forking beyond the processes limit fails")
    func processes() throws {
        let t = try TestDir("res")
        let tight = try limits(t, "  processes: 64\n")
        expectControlSucceeds(t.probeIn(["fork-many", "100"]), "100 processes under the default profile")
        expectBlocked(t.probeIn(["fork-many", "100"], profile: tight), "100 processes with processes: 64")
    }

    @Test("a fork bomb is contained and nothing outlives the run")
    func forkBomb() throws {
        let t = try TestDir("res")
        let tight = try limits(t, "  processes: 64\n")
        // Control: below the default limit the (capped) bomb reaches its 200 processes.
        let c = t.probeIn(["fork-bomb", "200"], timeout: 40)
        expectControlSucceeds(c, "a 200-process fork tree under the default profile")
        #expect(!c.pipesHeldOpen, "survivors of the control's fork tree outlived the run")

        let start = Date()
        let r = t.probeIn(["fork-bomb", "2000"], profile: tight, timeout: 40)
        expectBlocked(r, "a fork bomb with processes: 64")
        #expect(Date().timeIntervalSince(start) < 20, "containing the fork bomb took too long")
        #expect(!r.pipesHeldOpen, "fork bomb processes outlived the run")
        Host.sleep(0.3)
        let left = Host.pids(commandLineContaining: t.probe)
        #expect(left.isEmpty, "processes of the sandbox survive on the host: \(left)")
    }

    @Test("memory beyond limits.memory is refused by the run's cgroup (root: cgroup v2, or v1 on hybrid hosts)")
    func memoryCgroup() throws {
        let t = try TestDir("res")
        let tight = try limits(t, "  memory: 64MiB\n")
        let probe = t.sandbox(["true"], profile: tight, options: ["--verbose"])
        guard probe.stderr.contains("cgroup v") else {
            // Only root (or a delegated cgroup v2 subtree) can create the run's cgroup.
            if Harness.isRoot && Harness.requirePrivileged {
                Issue.record("running as root, agentrun should create a cgroup for limits.memory\n\(probe)")
            }
            return
        }
        let touch = ["python3", "-c", "b = bytearray(300 << 20); print('touched', len(b))"]
        let control = t.sandbox(touch)
        #expect(control.status == 0 && control.stdout.contains("touched"), "control: 300 MiB under the default profile\n\(control)")
        let r = t.sandbox(touch, profile: tight)
        #expect(r.status != 0 && !r.stdout.contains("touched"), "300 MiB with memory: 64MiB\n\(r)")
        #expect(r.stderr.contains("ran out of memory"), "agentrun should say the agent hit limits.memory\n\(r)")
    }

    @Test("opening files beyond open_files fails")
    func openFiles() throws {
        let t = try TestDir("res")
        let tight = try limits(t, "  open_files: 64\n")
        expectControlSucceeds(t.probeIn(["open-many", "100"]), "100 open files under the default profile")
        expectBlocked(t.probeIn(["open-many", "100"], profile: tight), "100 open files with open_files: 64")
    }

    @Test("reserving address space beyond address_space fails")
    func addressSpace() throws {
        let t = try TestDir("res")
        let tight = try limits(t, "  address_space: 512MiB\n")
        expectControlSucceeds(t.probeIn(["mmap-big", "2G"]), "reserving 2 GiB under the default profile")
        expectBlocked(t.probeIn(["mmap-big", "2G"], profile: tight), "reserving 2 GiB with address_space: 512MiB")
    }

    @Test("core dumps are off and cannot be re-enabled")
    func coreDumps() throws {
        let t = try TestDir("res")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["core"]), "enabling core dumps on the host") }
        expectBlocked(t.probeIn(["core"]), "enabling core dumps")
    }

    @Test("the cpu limit stops a spinning agent")
    func cpuLimit() throws {
        let t = try TestDir("res")
        let tight = try limits(t, "  cpu: 1s\n")
        expectControlSucceeds(t.probeIn(["spin", "1.5"]), "spinning 1.5 s of CPU under the default profile")
        let r = t.probeIn(["spin", "6"], profile: tight)
        #expect(r.status == 128 + SIGXCPU || r.status == 128 + SIGKILL, "want death by SIGXCPU or SIGKILL (152/137)\n\(r)")
        #expect(!r.stdout.contains("escaped:"), "ESCAPE: the agent burned 6 s of CPU with cpu: 1s\n\(r)")
    }
}

// Cross-process attacks: ptrace, process_vm_readv/writev, pidfd_getfd, signals and /proc access
// to processes outside the sandbox and to agentrun's init (pid 1), leaked file descriptors.

import Foundation
import Glibc
import Testing

@Suite("Process attacks", .needsSandbox, .timeLimit(.minutes(1)))
struct ProcessAttacks {
    /// A host process owned by the test runner's user: a target the controls may attack.
    private func hostTarget(_ t: TestDir, env: [String: String] = [:]) throws -> HostProcess {
        let p = try HostProcess([t.probe, "sleep", "60"], env: env)
        _ = p.waitForLine(prefix: "never", timeout: 0.1)
        return p
    }

    @Test("ptrace of the sandbox init (pid 1) is refused")
    func ptraceInit() throws {
        let t = try TestDir("proc")
        let target = try hostTarget(t)
        // Control: attaching to a process of the same user works on the host (no Yama here).
        expectControlSucceeds(t.probeOnHost(["ptrace-attach", "\(target.pid)"]), "PTRACE_ATTACH to a host process")
        expectBlocked(t.probeIn(["ptrace-attach", "1"]), "PTRACE_ATTACH/SEIZE to pid 1")
    }

    @Test("ptrace of a sibling or child process is refused")
    func ptraceChild() throws {
        let t = try TestDir("proc")
        expectControlSucceeds(t.probeOnHost(["ptrace-child"]), "PTRACE_ATTACH to a child, PTRACE_TRACEME")
        expectBlocked(t.probeIn(["ptrace-child"]), "PTRACE_ATTACH/SEIZE to a child and PTRACE_TRACEME")
    }

    @Test("process_vm_readv of a child is refused")
    func vmReadChild() throws {
        let t = try TestDir("proc")
        expectControlSucceeds(t.probeOnHost(["vm-read-child"]), "process_vm_readv of a child")
        expectBlocked(t.probeIn(["vm-read-child"]), "process_vm_readv of a child")
    }

    @Test("process_vm_writev into a child is refused")
    func vmWriteChild() throws {
        let t = try TestDir("proc")
        expectControlSucceeds(t.probeOnHost(["vm-write-child"]), "process_vm_writev into a child")
        expectBlocked(t.probeIn(["vm-write-child"]), "process_vm_writev into a child")
    }

    @Test("process_vm_readv of the sandbox init is refused")
    func vmReadInit() throws {
        let t = try TestDir("proc")
        let target = try hostTarget(t)
        expectControlSucceeds(t.probeOnHost(["vm-read-pid", "\(target.pid)"]), "process_vm_readv of a host process")
        expectBlocked(t.probeIn(["vm-read-pid", "1"]), "process_vm_readv of pid 1")
    }

    @Test("pidfd_getfd cannot steal a child's file descriptor")
    func pidfdGetfdChild() throws {
        let t = try TestDir("proc")
        expectControlSucceeds(t.probeOnHost(["pidfd-getfd-child"]), "pidfd_getfd from a child")
        expectBlocked(t.probeIn(["pidfd-getfd-child"]), "pidfd_getfd from a child")
    }

    @Test("pidfd_getfd cannot steal the sandbox init's file descriptors")
    func pidfdGetfdInit() throws {
        let t = try TestDir("proc")
        let target = try hostTarget(t)
        expectControlSucceeds(t.probeOnHost(["pidfd-getfd", "\(target.pid)", "1"]), "pidfd_getfd from a host process")
        for fd in ["0", "1", "2", "3"] {
            expectBlocked(t.probeIn(["pidfd-getfd", "1", fd]), "pidfd_getfd(pid 1, fd \(fd))")
        }
    }

    @Test("the sandbox init's file descriptors and mappings cannot be opened through /proc/1/fd and /proc/1/map_files")
    func procFdsInit() throws {
        let t = try TestDir("proc")
        let target = try hostTarget(t)
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["proc-fds", "\(target.pid)"]), "opening a host process's fds through /proc") }
        expectBlocked(t.probeIn(["proc-fds", "1"]), "opening pid 1's fds through /proc/1/fd")
    }

    @Test("the sandbox init's memory cannot be opened through /proc/1/mem")
    func procMemInit() throws {
        let t = try TestDir("proc")
        let target = try hostTarget(t)
        expectControlSucceeds(t.probeOnHost(["open-write", "/proc/\(target.pid)/mem"]), "opening /proc/<pid>/mem of a host process for writing")
        expectBlocked(t.probeIn(["open-write", "/proc/1/mem"]), "opening /proc/1/mem for writing")
        expectBlocked(t.probeIn(["read", "/proc/1/mem"]), "reading /proc/1/mem")
    }

    @Test("host processes are invisible in /proc")
    func hostProcessesInvisible() throws {
        let t = try TestDir("proc")
        let target = try hostTarget(t)
        // Inside: pid 1 (agentrun's init) and the probe (pid 2) only.
        expectControlSucceeds(t.probeOnHost(["count-pids", "2"], control: false), "seeing host processes")
        expectBlocked(t.probeIn(["count-pids", "2"]), "seeing more than pid 1 and 2")
        expectBlocked(t.probeIn(["exists", "/proc/\(target.pid)"]), "seeing host pid \(target.pid) in /proc")
    }

    @Test("a host process cannot be signalled")
    func signalHostProcess() throws {
        let t = try TestDir("proc")
        // Control: the probe kills a host process of the same user.
        let victim = try hostTarget(t)
        expectControlSucceeds(t.probeOnHost(["kill", "\(victim.pid)", "9"]), "kill(host pid, SIGKILL)")
        victim.child.pump(timeout: 2) { $0.exited }
        #expect(!victim.isAlive, "control: the host process survived SIGKILL")

        let target = try hostTarget(t)
        expectBlocked(t.probeIn(["kill", "\(target.pid)", "9"]), "kill(host pid \(target.pid), SIGKILL)")
        #expect(target.isAlive, "the sandbox killed host process \(target.pid)")
    }

    @Test("kill(-1, SIGKILL) reaches no process outside the sandbox")
    func killAll() throws {
        let t = try TestDir("proc")
        // Control (root): in a fresh pid namespace, kill(-1) kills the sibling sleep.
        if controlNeedsRoot() {
            let c = Harness.run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", "sleep 30 & exec \(t.probe) --control kill-all"], cwd: t.workspace)
            expectControlSucceeds(c, "kill(-1, SIGKILL) as pid 1 of a new pid namespace")
        }
        let target = try hostTarget(t)
        expectBlocked(t.probeIn(["kill-all"]), "kill(-1, SIGKILL)")
        #expect(target.isAlive, "kill(-1) from the sandbox killed a host process")
    }

    @Test("file descriptors leaked by the caller do not reach the agent (runc CVE-2024-21626)")
    func leakedDescriptors() throws {
        let t = try TestDir("proc")
        try t.write(t.hostPath("secret"), "host secret")
        // Without O_CLOEXEC, like a careless caller: a host file and a host directory.
        let file = open(t.hostPath("secret"), O_RDONLY)
        let dir = open("/", O_RDONLY | O_DIRECTORY)
        defer { close(file); close(dir) }
        expectControlSucceeds(t.probeOnHost(["fd-scan"], extraFDs: [file, dir]), "inheriting fds 3 and 4")
        expectBlocked(t.probeIn(["fd-scan"], extraFDs: [file, dir]), "finding fds beyond 0, 1, 2 in the agent")
    }

    @Test("the sandbox init's environment holds no host secret")
    func initEnvironment() throws {
        let t = try TestDir("proc")
        let secret = "ghp_agentrunIT\(UInt32.random(in: 0...UInt32.max))"
        // Spelled in hex on the probe's command line: agentrun's argv shows up in /proc/1/cmdline.
        let needle = "hex:" + secret.utf8.map { String(format: "%02x", $0) }.joined()
        // Control: a host process's environ shows the secret to the same user.
        let target = try hostTarget(t, env: ["GITHUB_TOKEN": secret])
        expectControlSucceeds(t.probeOnHost(["contains", "/proc/\(target.pid)/environ", needle]), "reading a secret from /proc/<pid>/environ")
        let env = ["GITHUB_TOKEN": secret, "AWS_SECRET_ACCESS_KEY": secret]
        expectBlocked(t.probeIn(["contains", "/proc/1/environ", needle], env: env), "reading the host secret from /proc/1/environ")
        expectBlocked(t.probeIn(["contains", "/proc/self/environ", needle], env: env), "reading the host secret from /proc/self/environ")
        expectBlocked(t.probeIn(["contains", "/proc/1/cmdline", needle], env: env), "reading the host secret from /proc/1/cmdline")
        // agentrun's init is a fork of agentrun: its memory holds the host environment.
        expectBlocked(t.probeIn(["vm-read-pid", "1"], env: env), "reading the init's memory")
    }
}

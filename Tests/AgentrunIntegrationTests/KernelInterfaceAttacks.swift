// Kernel interface attacks: the system calls the sandbox must refuse (io_uring, bpf, perf,
// userfaultfd, keyrings, kexec, modules, reboot, swap, acct, quotactl, clocks, syslog,
// personality, file handles), the i386 and x32 ABIs, and the writable kernel knobs of /proc and
// /sys (sysrq-trigger, core_pattern, cgroup v1 release_agent).
//
// Calls with host side effects are made with arguments the kernel rejects after its permission
// check; the probe reports "reached the kernel handler" when the error is anything but
// EPERM/EACCES/ENOSYS. So the root controls here change nothing on the host.

import Foundation
import Glibc
import Testing

@Suite("Kernel interface attacks", .needsSandbox, .timeLimit(.minutes(1)))
struct KernelInterfaceAttacks {
    /// Control on the host, then the attack in the sandbox.
    private func check(_ args: [String], _ what: String, needsRoot: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let t = try TestDir("kern")
        if !needsRoot || controlNeedsRoot(sourceLocation: sourceLocation) {
            expectControlSucceeds(t.probeOnHost(args), what, sourceLocation: sourceLocation)
        }
        expectBlocked(t.probeIn(args), what, sourceLocation: sourceLocation)
    }

    @Test("io_uring_setup, io_uring_enter and io_uring_register are refused")
    func ioUring() throws { try check(["io-uring"], "io_uring") }

    @Test("bpf (map create, program load) is refused")
    func bpf() throws { try check(["bpf"], "bpf") }

    @Test("perf_event_open is refused")
    func perf() throws { try check(["perf"], "perf_event_open of a user-space counter", needsRoot: false) }

    @Test("userfaultfd is refused (also with UFFD_USER_MODE_ONLY)")
    func userfaultfd() throws { try check(["userfaultfd"], "userfaultfd") }

    @Test("add_key, keyctl and request_key are refused")
    func keyrings() throws { try check(["keyctl"], "keyrings", needsRoot: false) }

    @Test("reboot is refused")
    func reboot() throws { try check(["reboot"], "reboot(bad magic)") }

    @Test("kexec_load and kexec_file_load are refused")
    func kexec() throws {
        let t = try TestDir("kern")
        if controlNeedsRoot() {
            let c = t.probeOnHost(["kexec"])
            if c.status == 1 && c.stdout.contains(String(cString: strerror(ENOSYS))) {
                // This kernel has no kexec (CONFIG_KEXEC off): the control cannot succeed. The
                // different control is reboot, which passes the same CAP_SYS_BOOT check.
                expectControlSucceeds(t.probeOnHost(["reboot"]), "reboot(bad magic) (kexec is not built into this kernel)")
            } else {
                expectControlSucceeds(c, "kexec")
            }
        }
        expectBlocked(t.probeIn(["kexec"]), "kexec_load/kexec_file_load")
    }

    @Test("init_module, finit_module and delete_module are refused")
    func modules() throws {
        let t = try TestDir("kern")
        if controlNeedsRoot() {
            let c = t.probeOnHost(["modules"])
            if c.status == 1 && c.stdout.contains(String(cString: strerror(ENOSYS))) {
                // This kernel has no loadable modules (CONFIG_MODULES off): the control cannot
                // succeed. The different control is swapon, another CAP_SYS_ADMIN-class call
                // that reaches its handler with a harmless argument.
                expectControlSucceeds(t.probeOnHost(["swap"]), "swapon(missing) (modules are not built into this kernel)")
            } else {
                expectControlSucceeds(c, "module calls")
            }
        }
        expectBlocked(t.probeIn(["modules"]), "init_module/finit_module/delete_module")
    }

    @Test("swapon and swapoff are refused")
    func swap() throws { try check(["swap"], "swapon/swapoff") }

    @Test("acct is refused")
    func acct() throws { try check(["acct"], "acct") }

    @Test("quotactl and quotactl_fd are refused")
    func quotactl() throws { try check(["quotactl"], "quotactl/quotactl_fd", needsRoot: false) }

    @Test("settimeofday, clock_settime, adjtimex and clock_adjtime are refused")
    func clocks() throws { try check(["time"], "setting or adjusting clocks") }

    @Test("syslog (the kernel log) is refused")
    func syslog() throws { try check(["syslog"], "syslog") }

    @Test("personality changes are refused")
    func personality() throws { try check(["personality"], "personality(ADDR_NO_RANDOMIZE/READ_IMPLIES_EXEC/PER_LINUX32)", needsRoot: false) }

    @Test("open_by_handle_at with a forged handle (the shocker attack) is refused")
    func shocker() throws {
        let t = try TestDir("kern")
        // Control: as root, a forged handle for inode 2 opens the root of the workspace's
        // filesystem (the host's / here).
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["shocker", t.workspace]), "open_by_handle_at as root") }
        expectBlocked(t.probeIn(["shocker", t.workspace]), "open_by_handle_at(inode 2) through the workspace")
        expectBlocked(t.probeIn(["shocker", "/usr"]), "open_by_handle_at(inode 2) through /usr")
    }

    @Test("name_to_handle_at is refused")
    func nameToHandle() throws {
        let t = try TestDir("kern")
        expectControlSucceeds(t.probeOnHost(["name-to-handle", t.probe]), "name_to_handle_at on the host")
        expectBlocked(t.probeIn(["name-to-handle", t.probe]), "name_to_handle_at")
    }

    @Test("high bits in 32-bit arguments do not slip denied calls past the filter (socket, clone, personality)")
    func highArgumentBits() throws { try check(["hibits"], "socket/clone/personality with bits above 31 set") }

    @Test("i386 system calls through int 0x80 are refused")
    func i386Getpid() throws { try check(["int80", "getpid"], "int 0x80 getpid", needsRoot: false) }

    @Test("unshare(CLONE_NEWUSER) through the i386 ABI is refused")
    func i386Unshare() throws { try check(["int80", "unshare"], "int 0x80 unshare(CLONE_NEWUSER)") }

    @Test("ptrace through the i386 ABI is refused")
    func i386Ptrace() throws { try check(["int80", "ptrace"], "int 0x80 ptrace(PTRACE_TRACEME)", needsRoot: false) }

    @Test("x32 system calls (nr | 0x40000000) are refused")
    func x32() throws {
        let t = try TestDir("kern")
        let c = t.probeOnHost(["x32", "getpid"])
        if c.status == 1 && c.stdout.contains(String(cString: strerror(ENOSYS))) {
            // This kernel is built without CONFIG_X86_X32_ABI: x32 calls fail with ENOSYS on the
            // host too, so the control cannot succeed. The different control runs the same probe
            // code path without the x32 bit, which must succeed, so a "blocked" is not a probe bug.
            expectControlSucceeds(t.probeOnHost(["x32", "native-getpid"]), "the probe's syscall path without the x32 bit")
        } else {
            expectControlSucceeds(c, "x32 getpid on the host")
        }
        expectBlocked(t.probeIn(["x32", "getpid"]), "x32 getpid")
        expectBlocked(t.probeIn(["x32", "unshare"]), "x32 unshare(CLONE_NEWUSER)")
        expectSuccess(t.probeIn(["x32", "native-getpid"]), "native getpid in the sandbox")
    }

    @Test("/proc/sysrq-trigger cannot be opened for writing")
    func sysrq() throws {
        let t = try TestDir("kern")
        if controlNeedsRoot() {
            if Host.stat("/proc/sysrq-trigger") != nil {
                expectControlSucceeds(t.probeOnHost(["open-write", "/proc/sysrq-trigger"]), "opening /proc/sysrq-trigger for writing as root")
            } else {
                // This kernel has no magic SysRq (CONFIG_MAGIC_SYSRQ off), so the control cannot
                // succeed; the different control opens another root-only kernel trigger.
                expectControlSucceeds(t.probeOnHost(["open-write", "/proc/sys/vm/drop_caches"]), "opening /proc/sys/vm/drop_caches for writing as root")
            }
        }
        expectBlocked(t.probeIn(["open-write", "/proc/sysrq-trigger"]), "opening /proc/sysrq-trigger for writing")
    }

    @Test("kernel.core_pattern and other /proc/sys knobs cannot be opened for writing")
    func procSys() throws {
        let knobs = ["/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sys/vm/drop_caches",
                     "/proc/sys/kernel/hostname", "/proc/sys/fs/binfmt_misc/register"]
        let t = try TestDir("kern")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["open-write", knobs[0]]), "opening core_pattern for writing as root") }
        for k in knobs {
            expectBlocked(t.probeIn(["open-write", k]), "opening \(k) for writing")
        }
    }

    @Test("the cgroup v1 release_agent and /sys are unreachable (CVE-2022-0492)")
    func releaseAgent() throws {
        let t = try TestDir("kern")
        let agents = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [])
            .map { "/sys/fs/cgroup/\($0)/release_agent" }.filter { Host.stat($0) != nil }
        if controlNeedsRoot(), let first = agents.first {
            expectControlSucceeds(t.probeOnHost(["open-write", first]), "opening \(first) for writing as root")
        }
        expectBlocked(t.probeIn(["open-write"] + agents + ["/sys/kernel/uevent_helper", "/sys/fs/cgroup/cgroup.procs"]), "reaching release_agent or uevent_helper")
        expectBlocked(t.probeIn(["read", "/sys/fs/cgroup", "/sys/kernel", "/sys/firmware"]), "reading /sys")
    }

    @Test("/proc/kcore and /proc/kpage* expose no physical memory")
    func kcore() throws {
        let t = try TestDir("kern")
        // /proc/kcore does not exist on this kernel (CONFIG_PROC_KCORE off), so its control
        // cannot succeed; the control reads /proc/kpageflags, another root-only view of physical
        // memory, which does exist.
        let present = ["/proc/kcore", "/proc/kpageflags", "/proc/kpagecount"].filter { Host.stat($0) != nil }
        if controlNeedsRoot(), !present.isEmpty {
            expectControlSucceeds(t.probeOnHost(["read"] + present), "reading \(present) as root")
        }
        expectBlocked(t.probeIn(["read", "/proc/kcore", "/proc/kpageflags", "/proc/kpagecount", "/proc/kpagecgroup"]), "reading physical memory through /proc")
    }

    @Test("/proc/kallsyms shows no kernel addresses (KASLR stays secret)")
    func kallsyms() throws { try check(["kallsyms"], "reading kernel addresses from /proc/kallsyms") }
}

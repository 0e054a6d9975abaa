import AgentrunPolicy
import AgentrunSeccomp
import Testing

@testable import AgentrunSandbox

/// The mediation filter and the reference verdicts the supervisor computes with BPFInterpreter.
/// These run the real libseccomp programs, so the interpreter is checked against what the
/// filters say, and the filters against what the sandbox must refuse.
@Suite("syscall mediation: filters and reference verdicts")
struct MediationFilterTests {
    static let x86_64: UInt32 = 0xC000_003E

    func nr(_ name: String) -> Int32 { SeccompFilter.resolve(name)! }

    func verdict(_ filter: SeccompFilter, _ name: String, _ args: [UInt64] = []) -> UInt32 {
        let data = BPFInterpreter.SeccompData(nr: nr(name), arch: Self.x86_64, instructionPointer: 0, args: args)
        var actions = [BPFInterpreter.run(filter.syscallProgram, on: data)]
        if !filter.argumentProgram.isEmpty { actions.append(BPFInterpreter.run(filter.argumentProgram, on: data)) }
        if !filter.notifyProgram.isEmpty { actions.append(BPFInterpreter.run(filter.notifyProgram, on: data)) }
        return BPFInterpreter.mostRestrictive(actions)
    }

    static let allow: UInt32 = 0x7FFF_0000
    static let notify: UInt32 = 0x7FC0_0000
    static func errno(_ e: UInt32) -> UInt32 { 0x0005_0000 | e }

    @Test("without mediation the interpreter agrees with the filter's rules")
    func plainVerdicts() throws {
        let f = try SeccompFilter.build()
        #expect(verdict(f, "read") == Self.allow)
        #expect(verdict(f, "ptrace") == Self.errno(1))
        #expect(verdict(f, "io_uring_setup") == Self.errno(1))
        #expect(verdict(f, "clone3") == Self.errno(38))
        #expect(verdict(f, "unshare", [0x1000_0000]) == Self.errno(1))  // CLONE_NEWUSER
        #expect(verdict(f, "unshare", [0x0000_0400]) == Self.allow)  // CLONE_FILES
        #expect(verdict(f, "ioctl", [0, 0xFFFF_FFFF_0000_5412]) == Self.errno(1))  // TIOCSTI, high bits set
        #expect(verdict(f, "socket", [17, 3, 0]) == Self.errno(1))  // AF_PACKET
        #expect(verdict(f, "socket", [2, 1, 0]) == Self.allow)
        // A foreign architecture is killed.
        let foreign = BPFInterpreter.SeccompData(nr: 0, arch: 0x4000_0003, instructionPointer: 0, args: [])
        #expect(BPFInterpreter.run(f.syscallProgram, on: foreign) == BPFInterpreter.killProcess)
        // Unknown syscall numbers get ENOSYS.
        let unknown = BPFInterpreter.SeccompData(nr: 999, arch: Self.x86_64, instructionPointer: 0, args: [])
        #expect(BPFInterpreter.run(f.syscallProgram, on: unknown) == Self.errno(38))
    }

    @Test("the default recording set notifies what it records and nothing else")
    func recordingDefault() throws {
        let f = try SeccompFilter.build(mediation: .recordingDefault)
        #expect(!f.notifyProgram.isEmpty)
        #expect(f.argumentProgram.isEmpty, "argument rules move into the notification filter")
        #expect(verdict(f, "execve") == Self.notify)
        #expect(verdict(f, "connect") == Self.notify)
        #expect(verdict(f, "ptrace") == Self.notify, "denied calls reach the supervisor to be recorded")
        #expect(verdict(f, "io_uring_setup") == Self.notify)
        #expect(verdict(f, "unshare", [0x1000_0000]) == Self.notify)
        #expect(verdict(f, "unshare", [0x0000_0400]) == Self.allow)
        #expect(verdict(f, "ioctl", [0, 0x5412]) == Self.notify)
        #expect(verdict(f, "ioctl", [0, 0x5401]) == Self.allow)  // TCGETS
        // Opens: only with a write or create flag.
        #expect(verdict(f, "openat", [0xFFFF_FF9C, 0, 0]) == Self.allow)  // O_RDONLY
        #expect(verdict(f, "openat", [0xFFFF_FF9C, 0, 0o1]) == Self.notify)  // O_WRONLY
        #expect(verdict(f, "openat", [0xFFFF_FF9C, 0, 0o2]) == Self.notify)  // O_RDWR
        #expect(verdict(f, "openat", [0xFFFF_FF9C, 0, 0o100]) == Self.notify)  // O_CREAT
        #expect(verdict(f, "openat", [0xFFFF_FF9C, 0, 0o1000]) == Self.notify)  // O_TRUNC
        #expect(verdict(f, "openat", [0xFFFF_FF9C, 0, 0o20200000]) == Self.notify)  // O_TMPFILE
        #expect(verdict(f, "open", [0, 0o2000000]) == Self.allow)  // O_RDONLY|O_CLOEXEC
        #expect(verdict(f, "open", [0, 0o101]) == Self.notify)
        // sendto only with an address; signals only beyond the caller's group.
        #expect(verdict(f, "sendto", [3, 0, 1, 0, 0, 0]) == Self.allow)
        #expect(verdict(f, "sendto", [3, 0, 1, 0, 0x1000, 16]) == Self.notify)
        #expect(verdict(f, "kill", [1, 15]) == Self.notify)
        #expect(verdict(f, "kill", [0xFFFF_FFFF, 9]) == Self.notify)  // -1
        #expect(verdict(f, "kill", [42, 15]) == Self.allow)
        #expect(verdict(f, "read") == Self.allow)
        #expect(verdict(f, "getpid") == Self.allow)
        // Unknown syscalls still get ENOSYS from filter 1, without a notification.
        let unknown = BPFInterpreter.SeccompData(nr: 999, arch: Self.x86_64, instructionPointer: 0, args: [])
        #expect(BPFInterpreter.run(f.syscallProgram, on: unknown) == Self.errno(38))
    }

    @Test("reference programs keep the refusals the installed programs hand to the supervisor")
    func referenceDecisions() throws {
        let f = try SeccompFilter.build(extraDenied: ["getcpu"], mediation: .recordingDefault)
        let decider = MediationDecider(filter: f, policy: MediationPolicy(), profileDenied: [nr("getcpu")])
        func ref(_ name: String, _ args: [UInt64] = []) -> MediationDecider.Decision? {
            decider.reference(nr: nr(name), arch: Self.x86_64, ip: 0, args: args + Array(repeating: 0, count: 6 - args.count))
        }
        #expect(ref("execve") == nil)
        #expect(ref("ptrace") == .init(allow: false, rule: "seccomp.denied", errno: 1))
        #expect(ref("mount") == .init(allow: false, rule: "seccomp.denied", errno: 1))
        #expect(ref("getcpu") == .init(allow: false, rule: "syscalls.deny", errno: 1))
        #expect(ref("unshare", [0x1000_0000]) == .init(allow: false, rule: "seccomp.arguments", errno: 1))
        #expect(ref("ioctl", [0, 0x5412]) == .init(allow: false, rule: "seccomp.arguments", errno: 1))
        #expect(ref("openat", [0, 0, 0o100, 0o4755]) == .init(allow: false, rule: "seccomp.arguments", errno: 1))  // setuid bit
        #expect(ref("openat", [0, 0, 0o100, 0o644]) == nil)
    }

    @Test("record_all notifies everything but the listener's hand-over, and keeps every refusal in the reference")
    func recordAll() throws {
        let f = try SeccompFilter.build(mediation: MediationRules(all: true))
        #expect(verdict(f, "read") == Self.notify)
        #expect(verdict(f, "getpid") == Self.notify)
        #expect(verdict(f, "sendmsg") == Self.allow)
        #expect(verdict(f, "clone3") == Self.notify)
        let decider = MediationDecider(filter: f, policy: MediationPolicy(recordAll: true), profileDenied: [])
        #expect(decider.reference(nr: nr("clone3"), arch: Self.x86_64, ip: 0, args: [0, 0, 0, 0, 0, 0])?.errno == 38)
        #expect(decider.reference(nr: nr("read"), arch: Self.x86_64, ip: 0, args: [0, 0, 0, 0, 0, 0]) == nil)
        #expect(decider.reference(nr: 999, arch: Self.x86_64, ip: 0, args: [0, 0, 0, 0, 0, 0])?.errno == 38)
    }

    @Test("the built-in profiles' groups compile to the prebuilt mediation filter")
    func prebuiltMediation() throws {
        let policy = MediationPolicy(record: ["exec", "network", "file-write", "denied", "signals"])
        #expect(LaunchPlanner.mediationRules(policy) == MediationRules.recordingDefault)
        let now = try SeccompFilter.build(mediation: .recordingDefault)
        #expect(PrebuiltSeccomp.standardMediated.notifyProgram == now.notifyProgram)
        #expect(PrebuiltSeccomp.standardMediated.syscallProgram == now.syscallProgram)
        #expect(PrebuiltSeccomp.standardMediated.referenceSyscallProgram == now.referenceSyscallProgram)
        #expect(PrebuiltSeccomp.standardMediated.referenceArgumentProgram == now.referenceArgumentProgram)
    }

    @Test("deny rules mediate their groups even when nothing is recorded; explicit names are notified always")
    func rulesImplyGroups() {
        let rules = LaunchPlanner.mediationRules(
            MediationPolicy(record: ["getdents64"], denyExec: [.init(id: "x", paths: ["curl"])], denyWrite: [.init(id: "y", paths: ["**/.env"])]))
        #expect(rules.always.isSuperset(of: ["execve", "execveat", "getdents64", "unlinkat", "renameat2"]))
        #expect(rules.writeOpens)
        #expect(!rules.denied)
        // exact_files performs every file-write call, so it mediates them all, recorded or not.
        let exact = LaunchPlanner.mediationRules(MediationPolicy(exactFiles: true))
        #expect(exact.writeOpens && exact.always.isSuperset(of: ["unlinkat", "renameat2", "mkdirat", "fchmodat", "truncate", "creat"]))
    }

    @Test("rule matching: bare names match file names, absolute globs whole paths")
    func ruleMatching() throws {
        let f = try SeccompFilter.build()
        let policy = MediationPolicy(
            denyExec: [.init(id: "no-net", paths: ["curl", "/usr/bin/nc*"])],
            denyWrite: [.init(id: "no-env", paths: ["**/.env", "/workspace/secrets/**"])])
        let d = MediationDecider(filter: f, policy: policy, profileDenied: [])
        #expect(d.execRule(paths: ["/usr/bin/curl"])?.rule == "no-net")
        #expect(d.execRule(paths: ["/workspace/x", "/workspace/tools/curl"])?.rule == "no-net")
        #expect(d.execRule(paths: ["/usr/bin/ncat"])?.rule == "no-net")
        #expect(d.execRule(paths: ["/usr/bin/curl-config2"]) == nil)
        #expect(d.execRule(paths: ["/usr/bin/ls"]) == nil)
        #expect(d.writeRule(paths: ["/workspace/.env"])?.rule == "no-env")
        #expect(d.writeRule(paths: ["/workspace/a/b/.env"])?.rule == "no-env")
        #expect(d.writeRule(paths: ["/workspace/secrets/k/key.pem"])?.rule == "no-env")
        #expect(d.writeRule(paths: ["/workspace/.envrc"]) == nil)
        #expect(d.writeRule(paths: ["/workspace/secrets"]) == nil)
    }

    @Test("decoded names: open flags, modes, signals, IPv6 text")
    func names() {
        #expect(SyscallArgumentNames.openFlags(0o1101) == ["O_WRONLY", "O_CREAT", "O_TRUNC"])
        #expect(SyscallArgumentNames.openFlags(0o2000000) == ["O_RDONLY", "O_CLOEXEC"])
        #expect(SyscallArgumentNames.openFlags(0o20200002) == ["O_RDWR", "O_TMPFILE"])
        #expect(SyscallArgumentNames.mode(0o644) == "0644")
        #expect(SyscallArgumentNames.signal(15) == "SIGTERM")
        #expect(SyscallArgumentNames.signal(0) == "0")
        #expect(SyscallArgumentNames.errno(1) == "EPERM" && SyscallArgumentNames.errno(13) == "EACCES" && SyscallArgumentNames.errno(38) == "ENOSYS")
        #expect(SyscallArgumentNames.errno(39) == "ENOTEMPTY" && SyscallArgumentNames.errno(6) == "ENXIO")
        #expect(SyscallArgumentNames.errno(9999) == "E9999")
        #expect(SyscallArgumentNames.cloneFlags(0x1000_0000) == ["CLONE_NEWUSER"])
        #expect(SyscallDecoder.ipv6([UInt8](repeating: 0, count: 15) + [1]) == "::1")
        #expect(SyscallDecoder.ipv6([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]) == "2001:db8::1")
        #expect(SyscallDecoder.ipv6([UInt8](repeating: 0, count: 10) + [0xff, 0xff, 127, 0, 0, 1]) == "::ffff:127.0.0.1")
        #expect(SyscallDecoder.ownDescriptor("/dev/stdout") == 1)
        #expect(SyscallDecoder.ownDescriptor("/proc/self/fd/7") == 7)
        #expect(SyscallDecoder.ownDescriptor("/workspace/x") == nil)
        let loader = ["/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"]
        #expect(SyscallNotifier.loadedProgram(paths: loader, argv: ["ld.so", "/usr/bin/curl", "-s"]) == "/usr/bin/curl")
        #expect(SyscallNotifier.loadedProgram(paths: loader, argv: ["ld.so", "--library-path", "/x", "--inhibit-cache", "curl"]) == "curl")
        #expect(SyscallNotifier.loadedProgram(paths: loader, argv: ["ld.so", "--list"]) == nil)
        #expect(SyscallNotifier.loadedProgram(paths: ["/usr/bin/ls"], argv: ["ls", "/usr/bin/curl"]) == nil)
        for normal in ["/", "/a", "/a/b", "/.env", "/a/..b", "/a/b.", "/...", "/a/.git/x"] {
            #expect(SyscallDecoder.isNormal(normal), "\(normal)")
        }
        for odd in ["/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "/a/", "//", "/.", "/.."] {
            #expect(!SyscallDecoder.isNormal(odd), "\(odd)")
        }
    }

    @Test("the interpreter refuses what it cannot run")
    func malformed() {
        let data = BPFInterpreter.SeccompData(nr: 0, arch: Self.x86_64, instructionPointer: 0, args: [])
        #expect(BPFInterpreter.run([], on: data) == BPFInterpreter.killProcess)
        #expect(BPFInterpreter.run([1, 2, 3], on: data) == BPFInterpreter.killProcess)
        // LD W ABS at offset 100 (out of seccomp_data)
        #expect(BPFInterpreter.run([0x20, 0, 0, 0, 100, 0, 0, 0], on: data) == BPFInterpreter.killProcess)
        // A program that falls off the end
        #expect(BPFInterpreter.run([0x20, 0, 0, 0, 0, 0, 0, 0], on: data) == BPFInterpreter.killProcess)
        #expect(BPFInterpreter.mostRestrictive([Self.allow, Self.notify, Self.errno(1)]) == Self.errno(1))
        #expect(BPFInterpreter.mostRestrictive([Self.allow, Self.notify]) == Self.notify)
    }
}

import AgentrunSeccomp
import Testing

@testable import AgentrunSandbox

@Suite("seccomp filter construction")
struct SeccompFilterTests {
    let filter: SeccompFilter

    init() throws {
        filter = try SeccompFilter.build(withPseudoCode: true)
    }

    var pfc: String { filter.pseudoCode ?? "" }

    /// The pseudo code block of one syscall in the syscall filter (the first of the two programs).
    func block(_ name: String) -> String? {
        let marker = "filter for syscall \"\(name)\""
        guard let range = pfc.firstRange(of: marker) else { return nil }
        let rest = pfc[range.upperBound...]
        let end = rest.firstRange(of: "# filter for syscall")?.lowerBound ?? rest.firstRange(of: "# default action")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    @Test("every name in the policy tables is a syscall of this architecture")
    func namesResolve() {
        for name in SeccompPolicy.allowed + SeccompPolicy.denied + SeccompPolicy.unimplemented {
            #expect(SeccompFilter.resolve(name) != nil, "unknown syscall \(name)")
        }
    }

    @Test("no syscall is both allowed and denied")
    func tablesDisjoint() {
        let allowed = Set(SeccompPolicy.allowed)
        for name in SeccompPolicy.denied + SeccompPolicy.unimplemented {
            #expect(!allowed.contains(name), "\(name) is in two tables")
        }
    }

    @Test("the filter compiled at build time is the one the policy compiles to now")
    func prebuiltIsCurrent() {
        #expect(PrebuiltSeccomp.standard.syscallProgram == filter.syscallProgram)
        #expect(PrebuiltSeccomp.standard.argumentProgram == filter.argumentProgram)
        #expect(PrebuiltSeccomp.standard.allowedCount == filter.allowedCount)
        let strict = try? SeccompFilter.build(noFilelessExec: true)
        #expect(PrebuiltSeccomp.noFilelessExec.argumentProgram == strict?.argumentProgram)
        #expect(PrebuiltSeccomp.noFilelessExec.syscallProgram == strict?.syscallProgram)
    }

    @Test("defaults: unknown syscalls get ENOSYS, a foreign architecture kills the process")
    func defaults() {
        // Filter 1 defaults to ENOSYS (38), filter 2 to ALLOW; both kill on a bad architecture.
        #expect(pfc.contains("action ERRNO(38);"))
        #expect(pfc.components("# invalid architecture action\naction KILL_PROCESS;") == 2)
        // Only x86_64 is accepted: no i386 or x32 section.
        #expect(!pfc.contains("filter for arch x86 ("))
        #expect(!pfc.contains("filter for arch x32"))
    }

    @Test("dangerous syscalls are refused with EPERM", arguments: [
        "ptrace", "bpf", "io_uring_setup", "io_uring_enter", "io_uring_register", "process_vm_readv",
        "process_vm_writev", "pidfd_getfd", "perf_event_open", "userfaultfd", "keyctl", "add_key",
        "request_key", "kexec_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
        "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "move_mount",
        "open_tree", "fspick", "mount_setattr", "setns", "acct", "quotactl", "settimeofday",
        "clock_settime", "adjtimex", "syslog", "open_by_handle_at", "name_to_handle_at",
    ])
    func denied(name: String) throws {
        let text = try #require(block(name), "\(name) missing from the filter")
        #expect(text.contains("action ERRNO(1);"), "\(name): \(text)")
    }

    @Test("clone3 looks unimplemented so libc falls back to clone")
    func clone3() {
        // ENOSYS is the default of the syscall filter, so clone3 has no rule of its own.
        #expect(block("clone3") == nil)
        #expect(block("clone")?.contains("ALLOW") == true)
    }

    @Test("ordinary syscalls are allowed", arguments: ["read", "write", "openat", "execve", "mmap", "futex", "clone", "socket", "ioctl", "personality", "unshare", "rseq", "statx", "getrandom", "landlock_restrict_self", "seccomp"])
    func allowed(name: String) throws {
        let text = try #require(block(name), "\(name) missing from the filter")
        #expect(text.contains("action ALLOW;"))
    }

    @Test("argument rules: TIOCSTI and TIOCLINUX on the low 32 bits, namespace flags, socket families")
    func argumentRules() throws {
        // The second program (argument filter) follows the first in the pseudo code.
        let parts = pfc.split(separator: "# pseudo filter code start")
        try #require(parts.count == 3)  // a leading "#" line, then the two programs
        let arguments = String(parts[2])
        #expect(arguments.contains("$a1.lo32 & 0xffffffff == 21522"))  // TIOCSTI 0x5412
        #expect(arguments.contains("$a1.lo32 & 0xffffffff == 21532"))  // TIOCLINUX 0x541c
        #expect(arguments.contains("$a1.hi32 & 0x00000000 == 0"))      // high bits ignored
        #expect(arguments.contains("$a0.lo32 & 0xffffffff == 17"))     // AF_PACKET refused
        #expect(!arguments.contains("$a0.lo32 & 0xffffffff == 1\n"))   // AF_UNIX not refused
        #expect(arguments.contains("0x10000000"))                      // CLONE_NEWUSER
        #expect(arguments.contains("action ALLOW;"))
    }

    @Test("a profile's extra denies move syscalls from allowed to EPERM")
    func extraDenied() throws {
        let custom = try SeccompFilter.build(extraDenied: ["ptrace", "mknodat", "symlink"], withPseudoCode: true)
        #expect(custom.deniedCount == filter.deniedCount + 2)
        #expect(custom.syscallProgram != filter.syscallProgram)
        let text = custom.pseudoCode ?? ""
        #expect(text.contains("filter for syscall \"mknodat\""))
    }

    @Test("an unknown syscall name in syscalls.deny is an error naming it")
    func unknownName() {
        #expect(throws: SeccompFilter.BuildError.self) { try SeccompFilter.build(extraDenied: ["not_a_syscall"]) }
        do {
            _ = try SeccompFilter.build(extraDenied: ["not_a_syscall"])
        } catch {
            #expect(error.description.contains("not_a_syscall"))
        }
    }
}

extension String {
    func components(_ needle: String) -> Int {
        var count = 0
        var rest = self[...]
        while let r = rest.firstRange(of: needle) {
            count += 1
            rest = rest[r.upperBound...]
        }
        return count
    }
}

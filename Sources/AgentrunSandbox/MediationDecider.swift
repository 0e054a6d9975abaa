import AgentrunPolicy
import AgentrunSeccomp

/// Decides a mediated call: first what the built-in filters would answer (run over the
/// notification with `BPFInterpreter`), then the profile's `deny_exec`/`deny_write` rules on
/// the decoded paths. Pure: the notifier gathers the paths, this only compares.
struct MediationDecider: Sendable {
    struct Decision: Equatable {
        var allow: Bool
        var rule: String?
        var errno: Int32
        static let allowed = Decision(allow: true, rule: nil, errno: 0)
    }

    struct PathRule: Sendable {
        var id: String
        /// Patterns on the whole path.
        var absolute: [GlobPattern]
        /// Patterns on the file name (bare names in deny_exec).
        var names: [GlobPattern]

        func matches(_ path: String) -> Bool {
            if absolute.contains(where: { $0.matches(path) }) { return true }
            if !names.isEmpty {
                let name = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
                return names.contains { $0.matches(name) }
            }
            return false
        }
    }

    let referenceSyscall: [UInt8]
    let referenceArgument: [UInt8]
    /// Syscall numbers of the profile's `syscalls.deny` (their refusals cite that rule).
    let profileDenied: Set<Int32>
    let denyExec: [PathRule]
    let denyWrite: [PathRule]
    let errno: Int32

    init(filter: SeccompFilter, policy: MediationPolicy, profileDenied: Set<Int32>) {
        self.referenceSyscall = filter.referenceSyscallProgram
        self.referenceArgument = filter.referenceArgumentProgram
        self.profileDenied = profileDenied
        self.denyExec = policy.denyExec.map { Self.compile($0, bareNames: true) }
        self.denyWrite = policy.denyWrite.map { Self.compile($0, bareNames: false) }
        self.errno = policy.errno.value
    }

    static func compile(_ rule: MediationPolicy.PathRule, bareNames: Bool) -> PathRule {
        var absolute: [GlobPattern] = []
        var names: [GlobPattern] = []
        for pattern in rule.paths {
            // Validated at profile load; a pattern that no longer compiles matches everything
            // (fail closed) rather than nothing.
            let compiled = (try? GlobPattern.compile(pattern).get()) ?? (try! GlobPattern.compile("**").get())
            if bareNames && MediationPolicy.PathRule.isProgramName(pattern) {
                names.append(compiled)
            } else {
                absolute.append(compiled)
            }
        }
        return PathRule(id: rule.id, absolute: absolute, names: names)
    }

    /// What the sandbox's own filters answer for this call: nil when they allow it.
    func reference(nr: Int32, arch: UInt32, ip: UInt64, args: [UInt64]) -> Decision? {
        let data = BPFInterpreter.SeccompData(nr: nr, arch: arch, instructionPointer: ip, args: args)
        let first = BPFInterpreter.run(referenceSyscall, on: data)
        let second = referenceArgument.isEmpty ? SeccompFilter.actAllowValue : BPFInterpreter.run(referenceArgument, on: data)
        let action = BPFInterpreter.mostRestrictive([first, second])
        switch action & 0xFFFF_0000 {
        case 0x7FFF_0000, 0x7FFC_0000, 0x7FF0_0000, 0x7FC0_0000:
            return nil
        case 0x0005_0000:
            let code = Int32(action & 0xFFFF)
            let rule: String
            if first & 0xFFFF_0000 == 0x0005_0000 {
                rule = profileDenied.contains(nr) ? "syscalls.deny" : code == 38 ? "seccomp.unsupported" : "seccomp.denied"
            } else {
                rule = "seccomp.arguments"
            }
            return Decision(allow: false, rule: rule, errno: code)
        default:
            return Decision(allow: false, rule: "seccomp.denied", errno: 1)
        }
    }

    /// The first deny_exec rule matching any of the program's paths (as named, resolved, and
    /// its interpreters).
    func execRule(paths: [String]) -> Decision? {
        for rule in denyExec where paths.contains(where: rule.matches) {
            return Decision(allow: false, rule: rule.id, errno: errno)
        }
        return nil
    }

    func writeRule(paths: [String]) -> Decision? {
        for rule in denyWrite where paths.contains(where: rule.matches) {
            return Decision(allow: false, rule: rule.id, errno: errno)
        }
        return nil
    }
}

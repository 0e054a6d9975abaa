import AgentrunOS
import CAgentrunShim
import CSeccomp

#if canImport(Glibc)
import Glibc
#endif

/// The sandbox's seccomp filters, built with libseccomp from `SeccompPolicy` plus a profile's
/// extra denies. Two filters are stacked; the kernel applies the most restrictive answer:
///
/// 1. The syscall filter: an allow-list. Native architecture only (i386 `int 0x80` kills the
///    process; x32 numbers are unknown, so ENOSYS). Named dangerous syscalls get EPERM; anything
///    unnamed gets ENOSYS so libc falls back (glibc retries clone3 as clone).
/// 2. The argument filter: default allow, EPERM for forbidden arguments of syscalls the first
///    filter allows (ioctl TIOCSTI/TIOCLINUX on the low 32 bits, socket families, namespace flags
///    of clone/unshare, personality changes). libseccomp can only express "allow, except these
///    values" with a default-allow filter, hence the second filter. Syscalls it does not mention
///    stay in the kernel's per-filter action cache, so it costs nothing for them.
public struct SeccompFilter: Sendable {
    /// `struct sock_filter[]` of the syscall filter, as raw bytes.
    public let syscallProgram: [UInt8]
    /// `struct sock_filter[]` of the argument filter, as raw bytes.
    public let argumentProgram: [UInt8]
    /// libseccomp's pseudo filter code of both filters, when asked for (tests).
    public let pseudoCode: String?
    public let allowedCount: Int
    public let deniedCount: Int
    /// The mediation filter (`struct sock_filter[]`), installed last with a listener; empty when
    /// nothing is mediated.
    public let notifyProgram: [UInt8]
    /// The filters as they would be without mediation: what the supervisor runs
    /// (`BPFInterpreter`) to learn whether a notified call is one the sandbox refuses.
    public let referenceSyscallProgram: [UInt8]
    public let referenceArgumentProgram: [UInt8]

    public var instructionCount: Int { (syscallProgram.count + argumentProgram.count + notifyProgram.count) / 8 }

    /// A filter compiled earlier (at build time), from the hex of its two programs.
    public init(
        syscallHex: String, argumentHex: String, allowedCount: Int, deniedCount: Int, notifyHex: String = "",
        referenceSyscallHex: String? = nil, referenceArgumentHex: String? = nil
    ) {
        self.syscallProgram = Self.bytes(fromHex: syscallHex)
        self.argumentProgram = Self.bytes(fromHex: argumentHex)
        self.pseudoCode = nil
        self.allowedCount = allowedCount
        self.deniedCount = deniedCount
        self.notifyProgram = Self.bytes(fromHex: notifyHex)
        self.referenceSyscallProgram = referenceSyscallHex.map(Self.bytes(fromHex:)) ?? syscallProgram
        self.referenceArgumentProgram = referenceArgumentHex.map(Self.bytes(fromHex:)) ?? argumentProgram
    }

    init(
        syscallProgram: [UInt8], argumentProgram: [UInt8], pseudoCode: String?, allowedCount: Int, deniedCount: Int,
        notifyProgram: [UInt8] = [], reference: (syscall: [UInt8], argument: [UInt8])? = nil
    ) {
        self.syscallProgram = syscallProgram
        self.argumentProgram = argumentProgram
        self.pseudoCode = pseudoCode
        self.allowedCount = allowedCount
        self.deniedCount = deniedCount
        self.notifyProgram = notifyProgram
        self.referenceSyscallProgram = reference?.syscall ?? syscallProgram
        self.referenceArgumentProgram = reference?.argument ?? argumentProgram
    }

    /// This filter (built without mediation) with mediation added: the installed programs and
    /// the notification program come from `mediated`, the reference programs from `self`.
    public func mediating(_ mediated: SeccompFilter) -> SeccompFilter {
        SeccompFilter(
            syscallProgram: mediated.syscallProgram, argumentProgram: mediated.argumentProgram, pseudoCode: mediated.pseudoCode,
            allowedCount: allowedCount, deniedCount: deniedCount, notifyProgram: mediated.notifyProgram,
            reference: (referenceSyscallProgram, referenceArgumentProgram))
    }

    static func bytes(fromHex hex: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8? = nil
        for c in hex.utf8 {
            let v: UInt8 = c <= 57 ? c - 48 : c - 87
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }

    public enum BuildError: Error, Sendable, CustomStringConvertible {
        case unknownSyscall(String)
        case libseccomp(String, Int32)

        public var description: String {
            switch self {
            case .unknownSyscall(let name):
                "syscalls.deny: unknown syscall '\(name)' for this architecture"
            case .libseccomp(let call, let rc):
                "libseccomp \(call) failed: \(Errno.describe(-rc))"
            }
        }
    }

    // libseccomp's action macros do not import into Swift.
    static let actAllow: UInt32 = 0x7FFF_0000
    static let actKillProcess: UInt32 = 0x8000_0000
    public static let actNotify: UInt32 = 0x7FC0_0000
    public static let actAllowValue: UInt32 = 0x7FFF_0000
    static func actErrno(_ code: Int32) -> UInt32 { 0x0005_0000 | (UInt32(code) & 0xFFFF) }

    /// Resolves a syscall name for the native architecture, or nil.
    public static func resolve(_ name: String) -> Int32? {
        let nr = seccomp_syscall_resolve_name(name)
        if nr >= 0 { return nr }
        #if arch(x86_64)
        return SeccompPolicy.x86_64Numbers[name]
        #else
        return nil
        #endif
    }

    /// - Parameters:
    ///   - extraDenied: the profile's `syscalls.deny`.
    ///   - noFilelessExec: refuse executable memfds and execveat(AT_EMPTY_PATH), for profiles
    ///     where nothing the agent writes may be executed.
    ///   - mediation: the calls that go to the supervisor (none by default). With mediation the
    ///     result's installed programs differ from its reference programs, which stay those of
    ///     the filter without mediation.
    public static func build(
        extraDenied: [String] = [], noFilelessExec: Bool = false, mediation: MediationRules = MediationRules(),
        withPseudoCode: Bool = false
    ) throws(BuildError) -> SeccompFilter {
        let plain = try programs(extraDenied: extraDenied, noFilelessExec: noFilelessExec, mediation: MediationRules(), withPseudoCode: withPseudoCode)
        if mediation.isEmpty { return plain }
        let mediated = try programs(extraDenied: extraDenied, noFilelessExec: noFilelessExec, mediation: mediation, withPseudoCode: withPseudoCode)
        return plain.mediating(mediated)
    }

    static func programs(
        extraDenied: [String], noFilelessExec: Bool, mediation: MediationRules, withPseudoCode: Bool
    ) throws(BuildError) -> SeccompFilter {
        var extra: [Int32] = []
        for name in extraDenied {
            guard let nr = resolve(name) else { throw .unknownSyscall(name) }
            extra.append(nr)
        }
        let extraSet = Set(extra)
        let all = mediation.all
        // The built-in refusals go through the supervisor: they are allowed in the installed
        // filters 1 and 2 and notified in filter 3, whose listener answers them with the
        // reference filters' errno. Without a supervisor the kernel fails them with ENOSYS.
        let mediatingDenials = mediation.denied || all

        // Filter 1: which syscalls exist.
        let syscalls = try Context(defaultAction: all ? actAllow : actErrno(ENOSYS))
        var allowedCount = 0
        var deniedCount = 0
        var named = Set<Int32>()
        let argumentChecked = ["clone", "unshare", "socket", "personality", "ioctl"]
        for name in SeccompPolicy.allowed + argumentChecked {
            guard let nr = resolve(name), !extraSet.contains(nr), named.insert(nr).inserted else { continue }
            try syscalls.add(actAllow, nr)
            allowedCount += 1
        }
        var deniedNumbers: [Int32] = []
        for nr in extra + SeccompPolicy.denied.compactMap(resolve) where !named.contains(nr) {
            try syscalls.add(mediatingDenials ? actAllow : actErrno(EPERM), nr)
            named.insert(nr)
            deniedNumbers.append(nr)
            deniedCount += 1
        }
        for nr in SeccompPolicy.unimplemented.compactMap(resolve) where !named.contains(nr) {
            try syscalls.add(all ? actAllow : actErrno(ENOSYS), nr)
            if all { deniedNumbers.append(nr) }
            named.insert(nr)
        }

        // Filter 3: mediation. Default allow (or notify everything, for record_all).
        let notify: Context? = mediation.isEmpty ? nil : try Context(defaultAction: all ? actNotify : actAllow)
        if let notify {
            if all {
                // The agent hands the listener over with sendmsg right after installing it.
                if let sendmsg = resolve("sendmsg") { try notify.add(actAllow, sendmsg) }
            } else {
                try addMediationRules(mediation, to: notify)
                if mediatingDenials {
                    for nr in deniedNumbers { try notify.add(actNotify, nr) }
                }
            }
        }

        // Filter 2: which arguments are refused. Comparisons on 32-bit kernel arguments use a
        // 0xffffffff mask, because the kernel ignores the high bits an attacker may set.
        // When denials are mediated, these rules notify from filter 3 instead.
        let arguments = mediatingDenials ? notify! : try Context(defaultAction: actAllow)
        let deny = mediatingDenials ? actNotify : actErrno(EPERM)
        let low32: UInt64 = 0xFFFF_FFFF
        if let ioctl = resolve("ioctl") {
            for (_, request) in SeccompPolicy.ioctlDenied {
                try arguments.add(deny, ioctl, [cmp(1, SCMP_CMP_MASKED_EQ, low32, request)])
            }
        }
        if let socket = resolve("socket") {
            let allowed = Set(SeccompPolicy.socketFamilies + [SeccompPolicy.netlinkFamily])
            for family in UInt64(0)..<SeccompPolicy.familyBound where !allowed.contains(family) {
                try arguments.add(deny, socket, [cmp(0, SCMP_CMP_MASKED_EQ, low32, family)])
            }
            try arguments.add(
                deny, socket,
                [cmp(0, SCMP_CMP_MASKED_EQ, low32, SeccompPolicy.netlinkFamily),
                 cmp(2, SCMP_CMP_NE, SeccompPolicy.netlinkRoute)])
        }
        for (name, flags) in [("clone", SeccompPolicy.namespaceFlags), ("unshare", SeccompPolicy.namespaceFlags | SeccompPolicy.cloneNewTime)] {
            guard let nr = resolve(name) else { continue }
            var bit: UInt64 = 1
            while bit != 0 {
                if flags & bit != 0 { try arguments.add(deny, nr, [cmp(0, SCMP_CMP_MASKED_EQ, bit, bit)]) }
                bit <<= 1
            }
        }
        for (name, modeArgument) in SeccompPolicy.modeArguments {
            guard let nr = resolve(name) else { continue }
            for bit in SeccompPolicy.setidBits {
                try arguments.add(deny, nr, [cmp(modeArgument, SCMP_CMP_MASKED_EQ, bit, bit)])
            }
        }
        for (name, flagsArgument, modeArgument) in SeccompPolicy.createModeArguments {
            guard let nr = resolve(name) else { continue }
            for flag in SeccompPolicy.createFlags {
                for bit in SeccompPolicy.setidBits {
                    try arguments.add(
                        deny, nr,
                        [cmp(flagsArgument, SCMP_CMP_MASKED_EQ, flag, flag), cmp(modeArgument, SCMP_CMP_MASKED_EQ, bit, bit)])
                }
            }
        }
        if noFilelessExec {
            if let memfd = resolve("memfd_create") {
                try arguments.add(deny, memfd, [cmp(1, SCMP_CMP_MASKED_EQ, SeccompPolicy.mfdNoexecSeal, 0)])
                try arguments.add(deny, memfd, [cmp(1, SCMP_CMP_MASKED_EQ, SeccompPolicy.mfdExec, SeccompPolicy.mfdExec)])
            }
            if let execveat = resolve("execveat") {
                try arguments.add(deny, execveat, [cmp(4, SCMP_CMP_MASKED_EQ, SeccompPolicy.atEmptyPath, SeccompPolicy.atEmptyPath)])
            }
        }
        if let personality = resolve("personality") {
            // Allowed: 0 (PER_LINUX) and 0xffffffff (query). Anything else has bit 0 differing
            // from some bit k, which each pair of rules below catches.
            for k in 1..<32 {
                let mask: UInt64 = 1 | (1 << UInt64(k))
                try arguments.add(deny, personality, [cmp(0, SCMP_CMP_MASKED_EQ, mask, 1)])
                try arguments.add(deny, personality, [cmp(0, SCMP_CMP_MASKED_EQ, mask, 1 << UInt64(k))])
            }
        }

        var pseudo: String? = nil
        if withPseudoCode {
            var text = try syscalls.export(seccomp_export_pfc)
            if !mediatingDenials { text += try arguments.export(seccomp_export_pfc) }
            if let notify { text += try notify.export(seccomp_export_pfc) }
            pseudo = String(decoding: text, as: UTF8.self)
        }
        return SeccompFilter(
            syscallProgram: try syscalls.export(seccomp_export_bpf),
            argumentProgram: mediatingDenials ? [] : try arguments.export(seccomp_export_bpf),
            pseudoCode: pseudo,
            allowedCount: allowedCount,
            deniedCount: deniedCount,
            notifyProgram: try notify?.export(seccomp_export_bpf) ?? [])
    }

    /// The mediation rules proper: which calls notify, with conditions on scalar arguments
    /// where a group only wants some calls (opens for writing, sends with an address...).
    private static func addMediationRules(_ mediation: MediationRules, to notify: Context) throws(BuildError) {
        let low32: UInt64 = 0xFFFF_FFFF
        for name in mediation.always.sorted() {
            guard let nr = resolve(name) else { throw .unknownSyscall(name) }
            try notify.add(actNotify, nr)
        }
        if mediation.writeOpens {
            for (name, flagsArgument) in [("open", UInt32(1)), ("openat", UInt32(2))] {
                guard let nr = resolve(name), !mediation.always.contains(name) else { continue }
                for (mask, value) in MediationRules.writeOpenConditions {
                    try notify.add(actNotify, nr, [cmp(flagsArgument, SCMP_CMP_MASKED_EQ, mask, value)])
                }
            }
            if let creat = resolve("creat") { try notify.add(actNotify, creat) }
        }
        if mediation.addressedSends, !mediation.always.contains("sendto"), let sendto = resolve("sendto") {
            try notify.add(actNotify, sendto, [cmp(4, SCMP_CMP_NE, 0)])
        }
        if mediation.signalsBeyond {
            for name in MediationRules.signalSyscalls where !mediation.always.contains(name) {
                guard let nr = resolve(name) else { continue }
                try notify.add(actNotify, nr, [cmp(0, SCMP_CMP_MASKED_EQ, low32, 1)])
                if name == "kill" {
                    // Negative targets: -1 (everything the caller may signal) and process groups.
                    try notify.add(actNotify, nr, [cmp(0, SCMP_CMP_MASKED_EQ, 0x8000_0000, 0x8000_0000)])
                }
            }
        }
    }

    private static func cmp(_ arg: UInt32, _ op: scmp_compare, _ a: UInt64, _ b: UInt64 = 0) -> scmp_arg_cmp {
        scmp_arg_cmp(arg: arg, op: op, datum_a: a, datum_b: b)
    }

    /// A libseccomp context for the native architecture.
    private final class Context {
        let ctx: scmp_filter_ctx
        let defaultAction: UInt32

        init(defaultAction: UInt32) throws(BuildError) {
            self.defaultAction = defaultAction
            guard let ctx = seccomp_init(defaultAction) else { throw .libseccomp("seccomp_init", -ENOMEM) }
            self.ctx = ctx
            try check(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, actKillProcess), "attr badarch")
            try check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "attr nnp")
            // A binary tree keeps the cost per syscall logarithmic in the number of rules.
            try check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), "attr optimize")
        }

        deinit { seccomp_release(ctx) }

        func check(_ rc: Int32, _ call: String) throws(BuildError) {
            if rc < 0 { throw .libseccomp(call, rc) }
        }

        func add(_ action: UInt32, _ nr: Int32, _ conditions: [scmp_arg_cmp] = []) throws(BuildError) {
            // libseccomp refuses a rule that repeats the default action; the outcome is the same.
            if action == defaultAction { return }
            let rc = conditions.withUnsafeBufferPointer { buffer in
                seccomp_rule_add_array(ctx, action, nr, UInt32(buffer.count), buffer.baseAddress)
            }
            try check(rc, "rule_add(\(nr))")
        }

        func export(_ exporter: (scmp_filter_ctx?, Int32) -> Int32) throws(BuildError) -> [UInt8] {
            try SeccompFilter.export(ctx, exporter, "export")
        }
    }

    /// libseccomp 2.5 only exports to an fd; use a memfd and read it back.
    private static func export(
        _ ctx: scmp_filter_ctx,
        _ exporter: (scmp_filter_ctx?, Int32) -> Int32,
        _ name: String
    ) throws(BuildError) -> [UInt8] {
        let fd = ar_memfd("agentrun-seccomp")
        guard fd >= 0 else { throw .libseccomp("memfd_create", fd) }
        defer { close(fd) }
        let rc = exporter(ctx, fd)
        if rc < 0 { throw .libseccomp(name, rc) }
        lseek(fd, 0, SEEK_SET)
        do {
            return try Files.readAll(fd: fd, limit: 1 << 22)
        } catch {
            throw .libseccomp("read \(name)", -error.errno)
        }
    }
}

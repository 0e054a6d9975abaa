import AgentrunSeccomp

#if canImport(Glibc)
import Glibc
#endif

/// Writes PrebuiltSeccomp.swift: the BPF of the built-in filters (no extra denies) as hex.
/// Used by SeccompFilterPlugin during the build.
func complain(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    _ = write(2, &bytes, bytes.count)
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    complain("usage: agentrun-seccomp-gen OUTPUT.swift")
    exit(64)
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

func literal(_ filter: SeccompFilter) -> String {
    if filter.notifyProgram.isEmpty {
        return """
            SeccompFilter(
                        syscallHex: "\(hex(filter.syscallProgram))",
                        argumentHex: "\(hex(filter.argumentProgram))",
                        allowedCount: \(filter.allowedCount),
                        deniedCount: \(filter.deniedCount))
            """
    }
    return """
        SeccompFilter(
                    syscallHex: "\(hex(filter.syscallProgram))",
                    argumentHex: "\(hex(filter.argumentProgram))",
                    allowedCount: \(filter.allowedCount),
                    deniedCount: \(filter.deniedCount),
                    notifyHex: "\(hex(filter.notifyProgram))",
                    referenceSyscallHex: "\(hex(filter.referenceSyscallProgram))",
                    referenceArgumentHex: "\(hex(filter.referenceArgumentProgram))")
        """
}

do {
    let standard = try SeccompFilter.build()
    let noFilelessExec = try SeccompFilter.build(noFilelessExec: true)
    let standardMediated = try SeccompFilter.build(mediation: .recordingDefault)
    let noFilelessExecMediated = try SeccompFilter.build(noFilelessExec: true, mediation: .recordingDefault)
    let source = """
        // Generated at build time by agentrun-seccomp-gen (SeccompFilterPlugin). Do not edit.
        import AgentrunSeccomp

        enum PrebuiltSeccomp {
            /// No extra denies.
            static let standard = \(literal(standard))
            /// No extra denies, executable memfds refused (profiles that execute nothing they write).
            static let noFilelessExec = \(literal(noFilelessExec))
            /// The built-in profiles' mediation (`MediationRules.recordingDefault`).
            static let defaultMediation = MediationRules.recordingDefault
            static let standardMediated = \(literal(standardMediated))
            static let noFilelessExecMediated = \(literal(noFilelessExecMediated))
        }

        """
    guard let file = fopen(arguments[1], "w") else {
        complain("agentrun-seccomp-gen: cannot write \(arguments[1])")
        exit(1)
    }
    fputs(source, file)
    fclose(file)
} catch {
    complain("agentrun-seccomp-gen: \(error)")
    exit(1)
}

/// Checks for the string values of a profile. Each returns nil when the value is fine, else a
/// message saying what is wrong and what to write instead.
enum ValueRules {
    /// Profile names: `[a-z0-9][a-z0-9._-]*`, so a name is never a path or an option.
    static func isProfileName(_ text: String) -> Bool {
        guard let first = text.utf8.first, isLowerAlnum(first) else { return false }
        return text.utf8.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Environment variable names: `[A-Za-z_][A-Za-z0-9_]*`.
    static func isEnvName(_ text: String) -> Bool {
        guard let first = text.utf8.first, isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return text.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// Syscall names as libseccomp spells them: `[a-z0-9_]+`.
    static func isSyscallName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "_") }
    }

    /// An absolute, normalised host path: `/a/b`, never `/`, `//`, `.`/`..` components or a trailing `/`.
    static func absolutePathProblem(_ path: String) -> String? {
        if let problem = characterProblem(path) { return problem }
        guard path.hasPrefix("/") else {
            return "expected an absolute path (starting with '/'), found '\(path)'"
        }
        if path == "/" { return "'/' is not allowed: it would expose the whole host file system" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            return "path '\(path)' is not normalised: no '//', '.' or '..' components and no trailing '/'"
        }
        return nil
    }

    /// A path inside the workspace: relative, normalised, never escaping it; a trailing `/` is allowed.
    static func protectedPathProblem(_ path: String) -> String? {
        if let problem = characterProblem(path) { return problem }
        if path.isEmpty { return "a protected path cannot be empty" }
        if path.hasPrefix("/") {
            return "protected paths are relative to the workspace; write '\(path.drop { $0 == "/" })' without the leading '/'"
        }
        var components = path.split(separator: "/", omittingEmptySubsequences: false)
        if components.count > 1, components.last == "" { components.removeLast() }
        if components.contains("..") { return "protected path '\(path)' must not contain a '..' component" }
        if path == "." || path == "./" { return "'.' would protect the whole workspace; use workspace: read-only" }
        if components.contains(where: { $0.isEmpty || $0 == "." }) {
            return "protected path '\(path)' is not normalised: no '//' or '.' components"
        }
        return nil
    }

    /// NUL cannot reach the kernel and a newline would corrupt mount tables and logs.
    static func characterProblem(_ text: String) -> String? {
        if text.utf8.contains(0) { return "a NUL character is not allowed here" }
        if text.utf8.contains(UInt8(ascii: "\n")) || text.utf8.contains(UInt8(ascii: "\r")) {
            return "a line break is not allowed here"
        }
        return nil
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || isDigit(byte)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

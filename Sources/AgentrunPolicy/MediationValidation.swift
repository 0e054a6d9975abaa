/// What one profile file says under `syscalls.mediate:`, before `extends` is applied. `nil`
/// means "not set in this file".
struct MediationLayer: Sendable {
    var record: ListSetting<String>?
    var recordAll: Bool?
    var exactFiles: Bool?
    var errno: MediationErrno?
    var denyExec: ListSetting<MediationPolicy.PathRule>?
    var denyWrite: ListSetting<MediationPolicy.PathRule>?
    /// Where this file wrote each rule id (the key path and mark of the id value), so a clash
    /// with an inherited rule is reported at the child's line.
    var ruleIDs: [String: Located<String>] = [:]
}

/// The path patterns of `deny_exec` and `deny_write` (docs/profiles.md, "syscalls.mediate").
/// Each check returns nil when the pattern is fine, else what is wrong and what to write instead.
///
/// Patterns are matched against resolved, normalised paths, which never hold `//`, `.` or `..`:
/// a pattern that does can never match, so it is refused rather than silently useless.
enum MediationPatterns {
    /// `deny_exec`: an absolute glob, or a program name without `/` (globs allowed: `python3*`).
    static func execProblem(_ pattern: String) -> String? {
        if let problem = commonProblem(pattern) { return problem }
        if pattern.hasPrefix("/") { return absoluteProblem(pattern) }
        if pattern.hasPrefix("**/"), !pattern.dropFirst(3).contains("/"), !pattern.dropFirst(3).isEmpty {
            return "a program name already matches anywhere; write '\(pattern.dropFirst(3))' without '**/'"
        }
        if pattern.contains("/") {
            return "expected an absolute glob (starting with '/') or a program name without '/', found '\(pattern)'"
        }
        if pattern == "." || pattern == ".." { return "'\(pattern)' is not a program name" }
        return globProblem(pattern)
    }

    /// `deny_write`: an absolute glob, or a pattern starting with `**/` (any directory).
    static func writeProblem(_ pattern: String) -> String? {
        if let problem = commonProblem(pattern) { return problem }
        if pattern.hasPrefix("/") { return absoluteProblem(pattern) }
        if pattern.hasPrefix("**/") {
            let rest = pattern.dropFirst(3)
            if rest.isEmpty { return "'**/' alone names no file; write '**/NAME' (such as '**/.env') or an absolute glob" }
            if let problem = componentProblem(rest.split(separator: "/", omittingEmptySubsequences: false), pattern) {
                return problem
            }
            return globProblem(pattern)
        }
        if !pattern.contains("/") {
            return "expected an absolute glob (starting with '/') or a pattern starting with '**/', found '\(pattern)'; write '**/\(pattern)' to match every file of that name"
        }
        return "expected an absolute glob (starting with '/') or a pattern starting with '**/', found '\(pattern)'"
    }

    private static func commonProblem(_ pattern: String) -> String? {
        if pattern.isEmpty { return "a path pattern cannot be empty" }
        return ValueRules.characterProblem(pattern)
    }

    private static func absoluteProblem(_ pattern: String) -> String? {
        if pattern == "/" { return "'/' names no file; write a path such as /usr/bin/curl or a glob such as /srv/**" }
        let components = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if let problem = componentProblem(Array(components), pattern) { return problem }
        return globProblem(pattern)
    }

    private static func componentProblem(_ components: [Substring], _ pattern: String) -> String? {
        if components.contains("..") {
            return "pattern '\(pattern)' must not contain a '..' component (patterns match resolved paths)"
        }
        if components.contains(where: { $0.isEmpty || $0 == "." }) {
            return "pattern '\(pattern)' is not normalised: no '//' or '.' components and no trailing '/' (patterns match resolved paths)"
        }
        return nil
    }

    private static func globProblem(_ pattern: String) -> String? {
        if case .failure(let error) = GlobPattern.compile(pattern) { return "invalid glob '\(pattern)': \(error.message)" }
        return nil
    }
}

/// Checks of `syscalls.mediate` that need the resolved profile: a rule id this file writes can
/// clash with one an `extends` parent wrote (decisions and records cite one rule per id).
enum MediationValidation {
    static func validate(_ profile: Profile, layer: MediationLayer, file: String) throws(ProfileError) {
        let mediate = profile.syscalls.mediate
        let rules = mediate.denyExec.map { ("deny_exec", $0) } + mediate.denyWrite.map { ("deny_write", $0) }
        var seen: Set<String> = []
        for (_, rule) in rules where !seen.insert(rule.id).inserted {
            let keys = rules.filter { $0.1.id == rule.id }.map(\.0)
            let holders = keys.count == 2 && keys[0] == keys[1] ? "two \(keys[0]) rules" : "a deny_exec and a deny_write rule"
            let written = layer.ruleIDs[rule.id]
            throw ProfileError(
                file: file, line: written?.mark.line, column: written?.mark.column,
                keyPath: written?.value ?? "syscalls.mediate",
                message: "duplicate rule id '\(rule.id)': \(holders) have it, one inherited through extends; rule ids are unique across deny_exec and deny_write")
        }
    }
}

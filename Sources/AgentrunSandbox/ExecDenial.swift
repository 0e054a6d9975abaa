import AgentrunOS
import AgentrunPolicy

#if canImport(Glibc)
import Glibc
#endif

/// `deny_exec`, enforced by the kernel: the denied programs get no Landlock execute right.
///
/// The notifier refuses and records denied execs, but it reads the program's path from the
/// agent's memory, which another thread can change after the check. So Landlock must refuse the
/// file too: an execute right on a system directory is replaced by execute rights on each of its
/// entries except the denied files (and, down the path to a denied file, on each sibling). Files
/// are compared by inode, so a symlink, another name in the same tree, /proc/self/fd, execveat
/// or a `#!` line naming the file all end at the same refusal (Landlock checks the interpreter
/// as it checks the program). System directories are the host's, mounted read-only at the same
/// place, so the host's view is the sandbox's.
///
/// Limits: only read-only host paths mounted at the same place (system, read_only) are split.
/// In a writable place (workspace, /tmp, read_write) a path rule cannot hold anyway: the agent
/// can copy or rename the file and run the copy without any race, and splitting a writable
/// directory's execute right would take it from every file created there later (a program the
/// agent builds in its workspace could no longer run). There the notifier refuses by path and
/// name, best-effort, and its records say `exact: false` for what it let through. deny_exec keeps
/// an agent from running the installed programs it names; it does not stop an agent that
/// writes its own code.
public enum ExecDenial {
    public struct DeniedFile: Hashable, Sendable {
        public var path: String
        public var device: UInt64
        public var inode: UInt64
        public var size: Int64
        /// The deny_exec rule that names it.
        public var rule: String
    }

    static let searchDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    static let walkLimit = 50_000

    /// The existing files the rules' patterns name on this host (resolved, regular files).
    static func deniedFiles(_ rules: [MediationPolicy.PathRule], searchPath: [String]) -> [DeniedFile] {
        var found = Set<DeniedFile>()
        for rule in rules {
            for pattern in rule.paths {
                guard let glob = try? GlobPattern.compile(pattern).get() else { continue }
                var candidates: [String] = []
                if MediationPolicy.PathRule.isProgramName(pattern) {
                    for directory in Set(searchPath + searchDirectories) {
                        for name in entries(directory) ?? [] where glob.matches(name) {
                            candidates.append(directory + "/" + name)
                        }
                    }
                } else {
                    candidates = expand(pattern, glob: glob)
                }
                for candidate in candidates {
                    guard let real = Files.realPath(candidate), let st = Files.status(real), st.st_mode & S_IFMT == S_IFREG else { continue }
                    if found.contains(where: { $0.path == real }) { continue }
                    found.insert(DeniedFile(path: real, device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size), rule: rule.id))
                }
            }
        }
        return found.sorted { $0.path < $1.path }
    }

    /// Paths an absolute glob names: walked from its longest literal prefix.
    static func expand(_ pattern: String, glob: GlobPattern) -> [String] {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let special: Set<Character> = ["*", "?", "[", "\\"]
        let literal = parts.prefix { !$0.contains(where: special.contains) }
        if literal.count == parts.count { return [pattern] }
        let base = "/" + literal.joined(separator: "/")
        var out: [String] = []
        var budget = walkLimit
        var queue = [(base == "/" ? "" : base, literal.count)]
        let recursive = pattern.contains("**")
        while let (directory, depth) = queue.popLast(), budget > 0 {
            for name in entries(directory.isEmpty ? "/" : directory) ?? [] {
                budget -= 1
                let path = directory + "/" + name
                if glob.matches(path) { out.append(path) }
                if (recursive || depth + 1 < parts.count), Files.kind(path) == .directory, depth < 16 {
                    queue.append((path, depth + 1))
                }
            }
        }
        return out
    }

    /// `policy` with every execute right that covers a denied file split around it.
    static func apply(to policy: LandlockPolicy, denied: [DeniedFile], systemPaths: [String]) -> LandlockPolicy {
        guard !denied.isEmpty else { return policy }
        var policy = policy
        var rules: [LandlockPolicy.Rule] = []
        for rule in policy.rules {
            guard rule.access & LandlockPolicy.execute != 0,
                systemPaths.contains(where: { Paths.isWithin(rule.path, $0) || rule.path == $0 }),
                let real = Files.realPath(rule.path)
            else {
                rules.append(rule)
                continue
            }
            let under = denied.filter { Paths.isWithin($0.path, real) || $0.path == real }
            if under.isEmpty {
                rules.append(rule)
                continue
            }
            var rest = rule
            rest.access &= ~LandlockPolicy.execute
            if rest.access != 0 { rules.append(rest) }
            if under.contains(where: { $0.path == real }) { continue }  // the rule named the file itself
            var visited: Set<String> = []
            grant(directory: real, sandboxPath: rule.path, denied: under, visited: &visited, into: &rules)
        }
        policy.rules = rules
        return policy
    }

    private static func grant(
        directory: String, sandboxPath: String, denied: [DeniedFile], visited: inout Set<String>, into rules: inout [LandlockPolicy.Rule]
    ) {
        // A symlink back up the tree (/usr/bin/X11 -> .) is one directory: its rules are made once.
        guard visited.insert(directory).inserted, visited.count < 64 else { return }
        let identities = Set(denied.map { [$0.device, $0.inode] })
        for name in (entries(directory) ?? []).sorted() {
            let host = directory + "/" + name
            let inside = sandboxPath + "/" + name
            guard let st = Files.status(host) else { continue }  // dangling symlink
            if identities.contains([UInt64(st.st_dev), UInt64(st.st_ino)]) { continue }
            if st.st_mode & S_IFMT == S_IFDIR, let real = Files.realPath(host) {
                let under = denied.filter { Paths.isWithin($0.path, real) }
                if !under.isEmpty {
                    grant(directory: real, sandboxPath: inside, denied: under, visited: &visited, into: &rules)
                    continue
                }
            }
            rules.append(.init(path: inside, access: LandlockPolicy.execute, optional: true))
        }
    }

    static func entries(_ directory: String) -> [String]? { Files.entries(directory) }
}

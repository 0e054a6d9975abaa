/// Lexical path helpers (no filesystem access).
public enum Paths {
    /// Components of an absolute or relative path, without empty and `.` components.
    public static func components(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
    }

    /// Joins a base and a relative path.
    public static func join(_ base: String, _ relative: String) -> String {
        if relative.hasPrefix("/") { return relative }
        if base == "/" { return "/" + relative }
        return base + "/" + relative
    }

    /// Resolves `.` and `..` lexically in an absolute path.
    public static func normalize(_ path: String) -> String {
        var out: [Substring] = []
        for component in components(path) {
            if component == ".." {
                if !out.isEmpty { out.removeLast() }
            } else {
                out.append(component)
            }
        }
        return "/" + out.joined(separator: "/")
    }

    /// True when `path` is `base` or lies beneath it (both absolute and normalised).
    public static func isWithin(_ path: String, _ base: String) -> Bool {
        if base == "/" { return true }
        return path == base || path.hasPrefix(base + "/")
    }
}

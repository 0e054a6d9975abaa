/// Lexical path handling for the `path_under:` matcher.
///
/// Symlinks are not resolved (the policy runs on the broker's side, before any file is touched),
/// so a tool backend that opens the path must not follow links out of the directory either.
public enum PathNormalization {
    /// `/a//b/./c/../d` → `/a/b/d`. Nil for a relative path or one holding NUL. `..` at the root
    /// stays at the root (as the kernel does), so `/../etc` is `/etc`.
    public static func normalize(_ path: String) -> String? {
        guard path.utf8.first == UInt8(ascii: "/"), !path.utf8.contains(0) else { return nil }
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(component)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether normalised `path` is `directory` or inside it, component by component
    /// (`/a/bc` is not under `/a/b`). Both must already be normalised.
    public static func isUnder(_ path: String, _ directory: String) -> Bool {
        if directory == "/" { return true }
        let p = path.utf8
        let d = directory.utf8
        guard p.starts(with: d) else { return false }
        if p.count == d.count { return true }
        return p[p.index(p.startIndex, offsetBy: d.count)] == UInt8(ascii: "/")
    }
}

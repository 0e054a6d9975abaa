import AgentrunOS

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One run as `agentrun log list` shows it, read from the head and tail of its log (cheap: it
/// does not verify; `sealed` only says the last record claims to be a final checkpoint).
public struct RunSummary: Sendable, Equatable {
    public var id: String
    public var directory: String
    public var logPath: String
    /// `ts` of `session.start`.
    public var startedAt: String?
    public var profile: String?
    /// From `session.end`; nil when the log has none.
    public var exitCode: Int64?
    /// The last complete record's seq.
    public var records: Int
    public var sealed: Bool
}

/// Where run logs live and how a user names one: `$XDG_STATE_HOME/agentrun/runs/<run id>/`
/// (else `~/.local/state/agentrun/runs/<run id>/`), each holding `log.jsonl`.
public enum RunDirectory {
    public static let logFileName = RecordFormat.logFileName

    /// `$XDG_STATE_HOME/agentrun/runs` when it is absolute (the XDG spec says to ignore relative
    /// values), else `$HOME/.local/state/agentrun/runs`, else the passwd home directory.
    public static func stateRoot(environment: [String: String]) -> String {
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            return trimmingSlashes(xdg) + "/agentrun/runs"
        }
        var home = environment["HOME"] ?? ""
        if !home.hasPrefix("/") { home = passwdHome() ?? "/nonexistent" }
        return trimmingSlashes(home) + "/.local/state/agentrun/runs"
    }

    /// `mkdir -p`: missing components are created 0700, the last one set to exactly 0700. A last
    /// component that is a symlink is refused (a planted link must not redirect the log).
    public static func create(_ directory: String) throws(ProvenanceError) {
        let components = directory.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.isEmpty else { throw ProvenanceError(op: "mkdir", path: directory, message: "empty path") }
        var path = directory.hasPrefix("/") ? "" : "."
        for (index, component) in components.enumerated() {
            path += "/" + component
            let last = index == components.count - 1
            if mkdir(path, 0o700) == 0 {
                if last, chmod(path, 0o700) != 0 { throw ProvenanceError.system("chmod", path: path, errno: errno) }
                continue
            }
            let code = errno
            guard code == EEXIST else { throw ProvenanceError.system("mkdir", path: path, errno: code) }
            if last {
                switch Files.kind(path) {
                case .directory: break
                case .symlink:
                    throw ProvenanceError(op: "mkdir", path: path, errno: ELOOP, message: "is a symlink; refusing to put a run log behind it")
                default:
                    throw ProvenanceError.system("mkdir", path: path, errno: ENOTDIR)
                }
            } else if let status = Files.status(path), status.st_mode & S_IFMT != S_IFDIR {
                throw ProvenanceError.system("mkdir", path: path, errno: ENOTDIR)
            }
        }
    }

    /// The runs under `root` that have a log, newest first (run ids are UUIDv7, so their text
    /// sorts by start time).
    public static func list(root: String) -> [RunSummary] {
        guard let names = entries(root) else { return [] }
        var runs: [RunSummary] = []
        for name in names {
            let directory = root + "/" + name
            guard Files.kind(directory) == .directory else { continue }
            let log = directory + "/" + logFileName
            guard Files.kind(log) == .regular else { continue }
            runs.append(summary(directory: directory, name: name, log: log))
        }
        return runs.sorted { ($0.id, $0.directory) > ($1.id, $1.directory) }
    }

    /// The log a user means: a log file, a run directory, a run id under `root`, a unique prefix
    /// of one, or `latest`. Nil when nothing matches (or a prefix is ambiguous).
    public static func resolve(_ pathOrRunID: String, root: String) -> String? {
        if let status = Files.status(pathOrRunID) {
            switch status.st_mode & S_IFMT {
            case S_IFREG: return pathOrRunID
            case S_IFDIR:
                let log = trimmingSlashes(pathOrRunID) + "/" + logFileName
                return Files.status(log).map { $0.st_mode & S_IFMT == S_IFREG } == true ? log : nil
            default: return nil
            }
        }
        guard !pathOrRunID.isEmpty, !pathOrRunID.contains("/") else { return nil }
        if pathOrRunID == "latest" { return list(root: root).first?.logPath }
        let direct = root + "/" + pathOrRunID + "/" + logFileName
        if Files.kind(direct) == .regular { return direct }
        let matches = list(root: root).filter { $0.id.hasPrefix(pathOrRunID) || $0.directory.hasSuffix("/" + pathOrRunID) }
        return matches.count == 1 ? matches.first?.logPath : nil
    }

    // MARK: Reading summaries

    private static func summary(directory: String, name: String, log: String) -> RunSummary {
        var run = RunSummary(
            id: name, directory: directory, logPath: log, startedAt: nil, profile: nil, exitCode: nil, records: 0, sealed: false)
        try? LineReader.forEachLine(path: log) { line, terminated in
            var scanner = CanonicalScanner(line)
            if terminated, let start = try? scanner.document(), start["kind"]?.stringValue == RecordFormat.sessionStart {
                if let id = start["run"]?.stringValue { run.id = id }
                run.startedAt = start["ts"]?.stringValue
                run.profile = start["profile"]?["name"]?.stringValue
            }
            return false
        }
        // session.end and the final checkpoint are the last two records.
        let tail = tailLines(log, bytes: 1 << 16)
        for (index, line) in tail.enumerated().reversed() {
            guard let record = try? CanonicalJSON.decode(line) else { continue }
            if index == tail.count - 1 {
                run.records = Int(record["seq"]?.intValue ?? 0)
                run.sealed = record["kind"]?.stringValue == RecordFormat.checkpoint && record["final"]?.boolValue == true
            }
            if record["kind"]?.stringValue == RecordFormat.sessionEnd {
                run.exitCode = record["exit_code"]?.intValue
                break
            }
            if tail.count - index > 3 { break }
        }
        return run
    }

    /// The complete lines within the last `bytes` bytes of a file.
    private static func tailLines(_ path: String, bytes: Int) -> [[UInt8]] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else { return [] }
        let size = Int(st.st_size)
        let offset = max(0, size - bytes)
        var buffer = [UInt8](repeating: 0, count: size - offset)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard n > 0 else { return [] }
        var lines = buffer[0..<n].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        lines.removeLast()  // after the last newline: empty, or an incomplete record
        if offset > 0, !lines.isEmpty { lines.removeFirst() }  // probably cut
        return lines
    }

    private static func entries(_ directory: String) -> [String]? { Files.entries(directory) }

    private static func passwdHome() -> String? {
        guard let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }

    private static func trimmingSlashes(_ path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few file-system calls profile loading needs, with plain Glibc (no Foundation: it would
/// cost start-up time on every sandboxed command).
enum FileSystem {
    /// A profile is a small text file; the cap keeps a wrong path (a device, a huge log) harmless.
    static let maxProfileBytes = 1 << 20

    /// Why a file could not be read: `missing` lets a search go on to the next directory.
    struct ReadError: Error {
        var missing: Bool
        var reason: String
    }

    /// Reads a whole regular file. FIFOs and devices are refused before any read can block.
    static func readFile(_ path: String) -> Result<[UInt8], ReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        if fd < 0 {
            let code = errno
            // A directory we may not even search (another user's home, after setpriv or sudo
            // without -H) holds nothing of ours: treat it as absent. A file we can see but not
            // read is an error, never a silent fall-back.
            let unsearchable = code == EACCES && access(directory(of: path), X_OK) != 0
            return .failure(ReadError(missing: code == ENOENT || code == ENOTDIR || unsearchable, reason: errorText(code)))
        }
        defer { _ = close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { return .failure(ReadError(missing: false, reason: errorText(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            let kind = info.st_mode & S_IFMT == S_IFDIR ? errorText(EISDIR) : "not a regular file"
            return .failure(ReadError(missing: false, reason: kind))
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= maxProfileBytes {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ReadError(missing: false, reason: errorText(errno)))
            }
            if count == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return .failure(ReadError(missing: false, reason: "larger than \(maxProfileBytes >> 20) MiB; not a profile"))
    }

    /// Whether `path` exists (any type). Used to tell "no such profile here" from "unreadable".
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The names in a directory, or [] when it cannot be listed (a missing search directory is normal).
    static func directoryEntries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { _ = closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The canonical path (symlinks resolved), to recognise the same file reached two ways.
    static func canonical(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` made absolute against the current directory, without touching the file.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return join(String(cString: cwd), path)
    }

    /// `directory/name` (or `name` when absolute), without `.` components or doubled `/`, so
    /// errors show readable paths. `..` is kept: removing it lexically is wrong across symlinks.
    static func join(_ directory: String, _ name: String) -> String {
        let joined = name.hasPrefix("/") ? name : directory + "/" + name
        let components = joined.split(separator: "/").filter { $0 != "." }
        let prefix = joined.hasPrefix("/") ? "/" : ""
        return components.isEmpty ? (prefix.isEmpty ? "." : "/") : prefix + components.joined(separator: "/")
    }

    /// The directory part of a path (`.` for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The file name without its directory.
    static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few filesystem questions agentrun asks of the host, without Foundation.
public enum Files {
    public enum Kind: Sendable, Equatable {
        case missing
        case directory
        case regular
        case symlink
        case other
    }

    /// What is at `path`, without following a final symlink.
    public static func kind(_ path: String) -> Kind {
        var st = Glibc.stat()
        guard lstat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regular
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// `stat` following symlinks, or nil.
    public static func status(_ path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return fstatat(AT_FDCWD, path, &st, 0) == 0 ? st : nil
    }

    /// The canonical absolute path (symlinks resolved), or nil when it does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The names in a directory except `.` and `..`, unsorted; nil when it cannot be listed.
    public static func entries(_ directory: String) -> [String]? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The text of a symlink.
    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buffer, 4096)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Reads a whole file (up to `limit` bytes).
    public static func read(_ path: String, limit: Int = 1 << 20) throws(SyscallError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .last("open", subject: path) }
        defer { close(fd) }
        return try readAll(fd: fd, limit: limit, subject: path)
    }

    /// Reads from `fd` until EOF (or `limit` bytes).
    public static func readAll(fd: Int32, limit: Int = 1 << 20, subject: String? = nil) throws(SyscallError) -> [UInt8] {
        // Size the buffer from fstat when it can be trusted (regular files), and never zero-fill it.
        var st = Glibc.stat()
        let hint = fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? Int(st.st_size) : 0
        var result: [UInt8] = []
        var capacity = max(min(hint + 1, limit), 4096)
        while result.count < limit {
            let start = result.count
            var failure: Int32 = 0
            var eof = false
            let room = min(capacity - start, limit - start)
            let grown = [UInt8](unsafeUninitializedCapacity: start + room) { buffer, count in
                if start > 0 { _ = result.withUnsafeBytes { memcpy(buffer.baseAddress!, $0.baseAddress!, start) } }
                var n: Int
                repeat {
                    n = Glibc.read(fd, buffer.baseAddress! + start, room)
                } while n < 0 && errno == EINTR
                if n < 0 { failure = errno; n = 0 }
                eof = n == 0
                count = start + n
            }
            result = grown
            if failure != 0 { throw SyscallError("read", subject: subject, errno: failure) }
            if eof { break }
            if result.count == capacity { capacity *= 2 }
        }
        return result
    }

    /// Reads a small text file, trimming a trailing newline; nil when unreadable.
    public static func readText(_ path: String) -> String? {
        guard let bytes = try? read(path, limit: 1 << 16) else { return nil }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// write(2) until everything is written, retrying EINTR and waiting out EAGAIN (a
    /// non-blocking terminal or pipe). False on any other error.
    @discardableResult
    public static func writeAll(fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        guard var p = buffer.baseAddress else { return true }
        var left = buffer.count
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&pfd, 1, 100)
                    continue
                }
                return false
            }
            p += n
            left -= n
        }
        return true
    }

    /// Writes `text` to an existing file (sysfs/cgroupfs/procfs style: one write).
    public static func write(_ path: String, _ text: String) throws(SyscallError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .last("open", subject: path) }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw .last("write", subject: path) }
    }

    /// The current working directory.
    public static func currentDirectory() -> String? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }
}

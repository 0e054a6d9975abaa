#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Streams a log file line by line through one reusable buffer, so verifying or listing a
/// multi-gigabyte log neither loads it whole nor copies each line. An iterator rather than a
/// callback, so the verifier's state is a plain local (a captured variable costs an exclusivity
/// check per access).
struct LineReader: ~Copyable {
    /// Longest line accepted (a `session.start` with a large resolved profile is a few KiB).
    static let maxLine = 64 << 20

    private let fd: Int32
    private let path: String
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity = 1 << 20
    private var filled = 0
    private var lineStart = 0
    private var scanned = 0
    private var atEnd = false
    /// Bytes left to read when reading a slice of the file.
    private var remaining = Int.max
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0

    /// With `range`, reads only those bytes of the file (the slices of the parallel verifier;
    /// each starts at the beginning of a line).
    init(path: String, range: Range<Int>? = nil) throws(ProvenanceError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ProvenanceError.system("open", path: path, errno: errno) }
        if let range, lseek(fd, off_t(range.lowerBound), SEEK_SET) < 0 {
            let code = errno
            close(fd)
            throw ProvenanceError.system("lseek", path: path, errno: code)
        }
        self.fd = fd
        self.path = path
        remaining = range?.count ?? Int.max
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// The next line without its `\n`, and whether the `\n` was there (only the last line can
    /// lack it); nil at the end of the file. The bytes stay valid until the next call.
    mutating func next() throws(ProvenanceError) -> (line: UnsafeBufferPointer<UInt8>, terminated: Bool)? {
        while true {
            if scanned < filled {
                if let found = memchr(buffer + scanned, Int32(UInt8(ascii: "\n")), filled - scanned) {
                    let newline = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    let line = UnsafeBufferPointer(start: buffer + lineStart, count: newline - lineStart)
                    lineStart = newline + 1
                    scanned = lineStart
                    lineNumber += 1
                    return (line, true)
                }
                scanned = filled
            }
            if atEnd {
                guard lineStart < filled else { return nil }
                let line = UnsafeBufferPointer(start: buffer + lineStart, count: filled - lineStart)
                lineStart = filled
                lineNumber += 1
                return (line, false)
            }
            // Keep the partial line, making room (or growing) for more.
            if lineStart > 0 {
                let rest = filled - lineStart
                if rest > 0 { memmove(buffer, buffer + lineStart, rest) }
                filled = rest
                scanned = rest
                lineStart = 0
            }
            if filled == capacity {
                guard capacity < Self.maxLine else {
                    throw ProvenanceError(
                        op: "read", path: path, message: "line \(lineNumber + 1) is longer than \(Self.maxLine >> 20) MiB")
                }
                let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                larger.update(from: buffer, count: filled)
                buffer.deallocate()
                buffer = larger
                capacity *= 2
            }
            var n = 0
            let want = min(capacity - filled, remaining)
            if want > 0 {
                repeat { n = read(fd, buffer + filled, want) } while n < 0 && errno == EINTR
                if n < 0 { throw ProvenanceError.system("read", path: path, errno: errno) }
            }
            if n == 0 {
                atEnd = true
            } else {
                filled += n
                remaining -= n
            }
        }
    }

    /// Calls `body` with each line until it returns false or the file ends.
    static func forEachLine(
        path: String, _ body: (_ line: UnsafeBufferPointer<UInt8>, _ terminated: Bool) -> Bool
    ) throws(ProvenanceError) {
        var reader = try LineReader(path: path)
        while let (line, terminated) = try reader.next() {
            if !body(line, terminated) { return }
        }
    }
}

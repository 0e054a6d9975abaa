#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Streams a log file line by line through one reusable buffer, so verifying or listing a
/// multi-gigabyte log neither loads it whole nor copies each line.
enum LineReader {
    /// Longest line accepted (a `session.start` with a large resolved profile is a few KiB).
    static let maxLine = 64 << 20

    /// Calls `body` with each line without its `\n` and whether the `\n` was there (only the last
    /// line can lack it), until `body` returns false or the file ends.
    static func forEachLine(
        path: String, _ body: (_ line: UnsafeBufferPointer<UInt8>, _ terminated: Bool) -> Bool
    ) throws(ProvenanceError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ProvenanceError.system("open", path: path, errno: errno) }
        defer { close(fd) }
        try forEachLine(fd: fd, path: path, body)
    }

    static func forEachLine(
        fd: Int32, path: String, _ body: (_ line: UnsafeBufferPointer<UInt8>, _ terminated: Bool) -> Bool
    ) throws(ProvenanceError) {
        var capacity = 1 << 20
        var buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var filled = 0
        var lineStart = 0
        var scanned = 0
        var lineNumber = 0
        while true {
            // Hand out every complete line in the buffer.
            while scanned < filled {
                guard let found = memchr(buffer + scanned, Int32(UInt8(ascii: "\n")), filled - scanned) else {
                    scanned = filled
                    break
                }
                let newline = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
                lineNumber += 1
                if !body(UnsafeBufferPointer(start: buffer + lineStart, count: newline - lineStart), true) { return }
                lineStart = newline + 1
                scanned = lineStart
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
                guard capacity < maxLine else {
                    throw ProvenanceError(
                        op: "read", path: path, message: "line \(lineNumber + 1) is longer than \(maxLine >> 20) MiB")
                }
                let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                larger.update(from: buffer, count: filled)
                buffer.deallocate()
                buffer = larger
                capacity *= 2
            }
            var n: Int
            repeat { n = read(fd, buffer + filled, capacity - filled) } while n < 0 && errno == EINTR
            if n < 0 { throw ProvenanceError.system("read", path: path, errno: errno) }
            if n == 0 {
                if filled > 0 { _ = body(UnsafeBufferPointer(start: buffer, count: filled), false) }
                return
            }
            filled += n
        }
    }
}

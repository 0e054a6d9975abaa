#if canImport(Glibc)
import Glibc
#endif

/// write(2) until done, retrying EINTR; output errors are ignored (nowhere to report them).
func writeAll(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Bool {
    guard var p = buffer.baseAddress else { return true }
    var left = buffer.count
    while left > 0 {
        let n = write(fd, p, left)
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        p += n
        left -= n
    }
    return true
}

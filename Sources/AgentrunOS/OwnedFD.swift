#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file descriptor with exactly one owner. It closes itself when dropped, so an fd can never
/// leak into the sandbox by being forgotten (every fd is also opened close-on-exec).
public struct OwnedFD: ~Copyable {
    public let raw: Int32

    public init(adopting raw: Int32) {
        precondition(raw >= 0, "adopting an invalid fd")
        self.raw = raw
    }

    /// Gives up ownership without closing (the caller takes over the fd).
    public consuming func release() -> Int32 {
        let fd = raw
        discard self
        return fd
    }

    deinit {
        _ = Glibc.close(raw)
    }
}

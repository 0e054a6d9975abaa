#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: what was attempted, on what, and the errno.
public struct SyscallError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var subject: String?
    public var errno: Int32

    public init(_ call: String, subject: String? = nil, errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    /// Captures the calling thread's current `errno`.
    public static func last(_ call: String, subject: String? = nil) -> SyscallError {
        SyscallError(call, subject: subject, errno: Glibc.errno)
    }

    public var description: String {
        if let subject { return "\(call) \(subject): \(Errno.describe(errno))" }
        return "\(call): \(Errno.describe(errno))"
    }
}

/// errno values as text for people.
public enum Errno {
    /// `strerror` text, e.g. "Operation not permitted".
    public static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text).lowercasedFirst
    }
}

extension String {
    fileprivate var lowercasedFirst: String {
        guard let first else { return self }
        return first.lowercased() + dropFirst()
    }
}

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

/// errno values as text for people and as symbolic names for machines.
public enum Errno {
    /// `strerror` text, e.g. "Operation not permitted".
    public static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text).lowercasedFirst
    }

    /// Symbolic name (`EPERM`) for the errnos agentrun reports; `E<number>` otherwise.
    public static func name(_ code: Int32) -> String {
        switch code {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case ESRCH: "ESRCH"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case E2BIG: "E2BIG"
        case ENOEXEC: "ENOEXEC"
        case EBADF: "EBADF"
        case ECHILD: "ECHILD"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case EXDEV: "EXDEV"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case ENOTTY: "ENOTTY"
        case EFBIG: "EFBIG"
        case ENOSPC: "ENOSPC"
        case EROFS: "EROFS"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ENOSYS: "ENOSYS"
        case ELOOP: "ELOOP"
        case EOVERFLOW: "EOVERFLOW"
        case EAFNOSUPPORT: "EAFNOSUPPORT"
        case EOPNOTSUPP: "EOPNOTSUPP"
        default: "E\(code)"
        }
    }
}

extension String {
    fileprivate var lowercasedFirst: String {
        guard let first else { return self }
        return first.lowercased() + dropFirst()
    }
}

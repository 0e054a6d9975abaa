import AgentrunOS

/// Why a provenance operation failed: the operation, the file, the errno when a system call
/// failed, and a message for people. The supervisor stops the agent on a writer failure, so the
/// text has to say exactly what broke (e.g. `write /…/log.jsonl: no space left on device`).
public struct ProvenanceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var op: String
    public var path: String?
    public var errno: Int32?
    public var message: String

    public init(op: String, path: String? = nil, errno: Int32? = nil, message: String) {
        self.op = op
        self.path = path
        self.errno = errno
        self.message = message
    }

    /// A failed system call; the message is the errno text.
    static func system(_ op: String, path: String?, errno: Int32) -> ProvenanceError {
        ProvenanceError(op: op, path: path, errno: errno, message: Errno.describe(errno))
    }

    public var description: String {
        var text = op
        if let path { text += " \(path)" }
        text += ": \(message)"
        if let errno, message != Errno.describe(errno) { text += " (\(Errno.describe(errno)))" }
        return text
    }
}

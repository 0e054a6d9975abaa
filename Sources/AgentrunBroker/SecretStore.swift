#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AgentrunPolicy

/// The values of the profile's `type: secret` credentials, read once at launch from the
/// supervisor's environment or from files. They only ever reach host-side tool backends
/// (`{secret:NAME}` templates); the provenance redactor hides every occurrence.
public struct SecretStore: Sendable {
    public private(set) var values: [String: String]

    public init(values: [String: String] = [:]) { self.values = values }

    /// The largest secret file accepted.
    public static let maxFileBytes = 64 << 10

    /// Reads every secret the profile defines. A missing variable, an unreadable or empty file
    /// is an error naming the credential and its source (the launch stops). Errors never
    /// contain a value.
    public static func load(_ policy: BrokerPolicy, environment: [String: String]) throws(BrokerError) -> SecretStore {
        var values: [String: String] = [:]
        for credential in policy.credentials {
            guard case .secret(let source) = credential.kind else { continue }
            let value: String
            switch source {
            case .environment(let variable):
                guard let text = environment[variable] else {
                    throw BrokerError("credential `\(credential.name)`: the environment variable \(variable) is not set")
                }
                value = text
                guard !value.isEmpty else {
                    throw BrokerError("credential `\(credential.name)`: the environment variable \(variable) is empty")
                }
                guard !value.utf8.contains(0) else {
                    throw BrokerError("credential `\(credential.name)`: the environment variable \(variable) contains a NUL byte")
                }
            case .file(let path):
                value = try readSecretFile(path, credential: credential.name)
            }
            values[credential.name] = value
        }
        return SecretStore(values: values)
    }

    /// A secret file: an absolute path to a regular file (not a symlink), writable by its owner
    /// only, at most 64 KiB of UTF-8 without NUL bytes; one trailing newline is removed and
    /// something must remain.
    static func readSecretFile(_ path: String, credential: String) throws(BrokerError) -> String {
        func failure(_ problem: String) -> BrokerError {
            BrokerError("credential `\(credential)`: the secret file \(path) \(problem)")
        }
        guard path.hasPrefix("/") else { throw failure("is not an absolute path") }
        // O_NOFOLLOW: a symlink as the last component fails (ELOOP) instead of being followed;
        // O_NONBLOCK: a FIFO planted there cannot hang the launch (refused below as not regular).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            let code = errno
            if code == ELOOP { throw failure("is a symbolic link (refused)") }
            throw failure("cannot be opened: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw failure("cannot be examined: \(String(cString: strerror(errno)))") }
        guard st.st_mode & S_IFMT == S_IFREG else { throw failure("is not a regular file") }
        guard st.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            throw failure("is writable by its group or by others (chmod go-w)")
        }
        guard st.st_size <= maxFileBytes else { throw failure("is larger than \(maxFileBytes) bytes") }
        var bytes = [UInt8](repeating: 0, count: maxFileBytes + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("cannot be read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            count += n
        }
        guard count <= maxFileBytes else { throw failure("is larger than \(maxFileBytes) bytes") }
        bytes.removeSubrange(count...)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw failure("is empty") }
        guard !bytes.contains(0) else { throw failure("contains a NUL byte") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw failure("is not valid UTF-8") }
        return text
    }

    public subscript(name: String) -> String? { values[name] }
}

import AgentrunOS
import Crypto

#if canImport(Glibc)
import Glibc
#endif

/// `agentrun log keygen`: a new operator key pair as the PEM files OpenSSL writes (PKCS#8 private,
/// SPKI public), so either tool can make or read them.
extension OperatorKey {
    public static func generate() -> OperatorKey {
        let key = Curve25519.Signing.PrivateKey()
        guard let operatorKey = try? OperatorKey(seed: Array(key.rawRepresentation)) else {
            preconditionFailure("a generated Ed25519 key always has a 32-byte seed")
        }
        return operatorKey
    }

    /// Writes the private key (mode 0600, never over an existing file) and the public key.
    public func write(privateKeyTo privatePath: String, publicKeyTo publicPath: String) throws(ProvenanceError) {
        let seed = Array(privateKey.rawRepresentation)
        let publicKey = Array(privateKey.publicKey.rawRepresentation)
        try Self.create(privatePath, mode: 0o600, Self.pem("PRIVATE KEY", KeyEncoding.pkcs8(seed: seed)))
        try Self.create(publicPath, mode: 0o644, Self.pem("PUBLIC KEY", KeyEncoding.spki(publicKey)))
    }

    static func pem(_ label: String, _ der: [UInt8]) -> String {
        let body = Base64.encode(der)
        var lines = ["-----BEGIN \(label)-----"]
        var index = body.startIndex
        while index < body.endIndex {
            let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            lines.append(String(body[index..<end]))
            index = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func create(_ path: String, mode: mode_t, _ text: String) throws(ProvenanceError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw ProvenanceError.system("create key file", path: path, errno: errno) }
        defer { close(fd) }
        let ok = Array(text.utf8).withUnsafeBytes { Files.writeAll(fd: fd, $0) }
        if !ok { throw ProvenanceError.system("write key file", path: path, errno: errno) }
    }
}

import AgentrunOS
import Crypto

/// The operator's long-lived Ed25519 key. It certifies each run's key (`run_key_cert`), so
/// `agentrun log verify --key OPERATOR_PUBKEY` proves a log came from a machine holding it: a
/// forger can make a self-consistent log with a fresh run key, but not this signature.
public struct OperatorKey: Sendable {
    let privateKey: Curve25519.Signing.PrivateKey
    public let publicKeyHex: String

    init(seed: [UInt8]) throws(ProvenanceError) {
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw ProvenanceError(op: "read key", message: "an Ed25519 seed is 32 bytes")
        }
        privateKey = key
        publicKeyHex = Hex.string(key.publicKey.rawRepresentation)
    }

    /// Loads a private key file: PEM PKCS#8 (`openssl genpkey -algorithm ed25519`), or the 32-byte
    /// seed as hex or base64 on one line.
    public static func load(path: String) throws(ProvenanceError) -> OperatorKey {
        let text: [UInt8]
        do {
            text = try Files.read(path, limit: 1 << 16)
        } catch {
            throw ProvenanceError.system("read key", path: path, errno: error.errno)
        }
        switch try KeyEncoding.parse(String(decoding: text, as: UTF8.self), what: path) {
        case .seed(let seed):
            do {
                return try OperatorKey(seed: seed)
            } catch {
                throw ProvenanceError(op: "read key", path: path, message: error.message)
            }
        case .publicKey:
            throw ProvenanceError(
                op: "read key", path: path, message: "this is a public key; certifying runs needs the private key")
        }
    }

    /// The `run_key_cert` object of `session.start`: this key's signature over the canonical form
    /// of `{"run": runID, "run_key": <hex>, "type": "agentrun-run-key/1"}`.
    public func certify(runID: String, runKey: RunKey) -> JSONValue {
        let message = RecordFormat.certificateMessage(runID: runID, runKeyHex: runKey.publicKeyHex)
        let signature = (try? privateKey.signature(for: message)).map { Array($0) } ?? []
        return .object(["operator_key": .string(publicKeyHex), "sig": .string(Hex.string(signature))])
    }
}

/// The operator's public key, for `log verify --key`.
public struct OperatorPublicKey: Sendable, Equatable {
    public let raw: [UInt8]
    public var hex: String { Hex.string(raw) }

    init(raw: [UInt8]) { self.raw = raw }

    /// A key file (PEM SPKI, or 32 bytes as hex/base64; a private key file also works, its public
    /// half is used) or the key itself given inline (hex, base64 or PEM text). A path that exists
    /// wins over reading the argument as a key.
    public static func load(_ pathOrLiteral: String) throws(ProvenanceError) -> OperatorPublicKey {
        let text: String
        let what: String
        if !pathOrLiteral.hasPrefix("-----BEGIN"), Files.kind(pathOrLiteral) != .missing {
            do {
                text = String(decoding: try Files.read(pathOrLiteral, limit: 1 << 16), as: UTF8.self)
            } catch {
                throw ProvenanceError.system("read key", path: pathOrLiteral, errno: error.errno)
            }
            what = pathOrLiteral
        } else {
            text = pathOrLiteral
            what = "(key given inline)"
        }
        let raw: [UInt8]
        switch try KeyEncoding.parse(text, what: what) {
        case .publicKey(let key): raw = key
        case .seed(let seed):
            // One line of 32 bytes: in a public key file it is the public key itself. A PEM private
            // key is the only form that is unambiguously private.
            if text.trimmingWhitespace.hasPrefix("-----BEGIN") {
                raw = try OperatorKey(seed: seed).publicKey
            } else {
                raw = seed
            }
        }
        guard Ed25519.publicKey(raw) != nil else {
            throw ProvenanceError(op: "read key", path: what, message: "not a valid Ed25519 public key")
        }
        return OperatorPublicKey(raw: raw)
    }
}

extension OperatorKey {
    /// The raw public key.
    var publicKey: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }
}

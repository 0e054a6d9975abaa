import Crypto

/// The run's own Ed25519 key: generated at start, its public half written into
/// `session.start`, its private half only ever in memory. It signs the checkpoints, so a
/// checkpoint proves the records before it were written by this run's agentrun and not rewritten
/// afterwards by someone without the key; an operator key can certify it (`run_key_cert`).
public struct RunKey: Sendable {
    /// Also signs the broker's JWTs (their JWKS is this key's public half).
    public let privateKey: Curve25519.Signing.PrivateKey
    /// The raw 32-byte public key.
    public let publicKey: [UInt8]
    /// Lowercase hex of `publicKey` (the `run_key` field of `session.start`).
    public let publicKeyHex: String

    init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
        self.publicKey = Array(privateKey.publicKey.rawRepresentation)
        self.publicKeyHex = Hex.string(publicKey)
    }

    public static func generate() -> RunKey {
        RunKey(privateKey: Curve25519.Signing.PrivateKey())
    }

    /// The 64-byte Ed25519 signature of `message`, or an empty array in the (out-of-memory only)
    /// case where the crypto library fails; the writer treats that as a failure.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        (try? signature(for: message)) ?? []
    }

    func signature(for message: [UInt8]) throws(ProvenanceError) -> [UInt8] {
        do {
            let signature = Array(try privateKey.signature(for: message))
            guard signature.count == 64 else { throw ProvenanceError(op: "sign", message: "signature has the wrong size") }
            return signature
        } catch let error as ProvenanceError {
            throw error
        } catch {
            throw ProvenanceError(op: "sign", message: "Ed25519 signing failed: \(error)")
        }
    }
}

/// Ed25519 signature checks for the verifier.
enum Ed25519 {
    static func publicKey(_ raw: [UInt8]) -> Curve25519.Signing.PublicKey? {
        guard raw.count == 32 else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }

    static func isValid(signature: [UInt8], message: [UInt8], key: Curve25519.Signing.PublicKey) -> Bool {
        signature.count == 64 && key.isValidSignature(signature, for: message)
    }
}

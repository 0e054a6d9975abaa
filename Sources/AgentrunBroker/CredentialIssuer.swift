import AgentrunJSON
import AgentrunPolicy
import AgentrunProvenance
import Crypto
import JWTKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Mints the short-lived JWTs of `type: jwt` credentials (EdDSA with the run key, through
/// jwt-kit) and serves the key set that verifies them.
final class CredentialIssuer: Sendable {
    /// RFC 7638 thumbprint of the run key's JWK: stable for the run, and any verifier can recompute it.
    let keyID: String
    /// The JWKS body, computed once.
    let jwksBody: [UInt8]
    /// jwt-kit's key collection is an actor, filled asynchronously; minting awaits it.
    private let keys: Task<JWTKeyCollection, Never>

    init(runKey: RunKey) {
        let x = Base64URL.encode(runKey.publicKey)
        let canonical = "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"\(x)\"}"
        keyID = Base64URL.encode(Array(SHA256.hash(data: Array(canonical.utf8))))
        let jwk: JSON = ["kty": "OKP", "crv": "Ed25519", "x": .string(x), "kid": .string(keyID), "alg": "EdDSA", "use": "sig"]
        jwksBody = JSONWriter.encode(["keys": [jwk]])
        let signingKey = EdDSA.PrivateKey(backing: runKey.privateKey)
        let kid = JWKIdentifier(string: keyID)
        keys = Task {
            let collection = JWTKeyCollection()
            await collection.add(eddsa: signingKey, kid: kid)
            return collection
        }
    }

    /// A validated request: what will be minted.
    struct Grant: Sendable {
        var name: String
        var issuer: String
        var audience: String
        var scopes: [String]
        var ttl: Int64
    }

    /// Checks `{name, audience, scopes, ttl}` against the profile's credential.
    static func grant(
        _ body: JSON, credentials: [String: CredentialPolicy]
    ) -> Result<Grant, CredentialDenial> {
        guard case .object(let fields) = body else {
            return .failure(.init(status: 400, code: .invalidArgument, "the body must be a JSON object {name, audience, scopes, ttl}"))
        }
        for key in fields.keys where !["name", "audience", "scopes", "ttl"].contains(key) {
            return .failure(.init(status: 400, code: .invalidArgument, "unknown member '\(key)'"))
        }
        guard let name = fields["name"]?.stringValue, !name.isEmpty else {
            return .failure(.init(status: 400, code: .invalidArgument, "'name' (a string) is required"))
        }
        let audience = fields["audience"]?.stringValue
        var scopes: [String] = []
        if let raw = fields["scopes"], raw != .null {
            guard let items = raw.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                return .failure(.init(status: 400, code: .invalidArgument, "'scopes' must be an array of strings", name: name))
            }
            scopes = items.compactMap(\.stringValue)
        }
        guard let credential = credentials[name] else {
            return .failure(.init(status: 404, code: .notFound, "no credential named '\(name)' in this profile", name: name))
        }
        guard case .jwt(let jwt) = credential.kind else {
            return .failure(
                .init(
                    status: 403, code: .permissionDenied,
                    "credential '\(name)' is a host secret: only host-side tools use it, it is never handed out",
                    name: name, audience: audience, scopes: scopes))
        }
        guard let audience, !audience.isEmpty else {
            return .failure(.init(status: 400, code: .invalidArgument, "'audience' (a string) is required", name: name, scopes: scopes))
        }
        guard jwt.audiences.contains(audience) else {
            return .failure(
                .init(
                    status: 403, code: .permissionDenied,
                    "audience '\(audience)' is not allowed for '\(name)' (allowed: \(jwt.audiences.joined(separator: ", ")))",
                    name: name, audience: audience, scopes: scopes))
        }
        if let extra = scopes.first(where: { !jwt.scopes.contains($0) }) {
            return .failure(
                .init(
                    status: 403, code: .permissionDenied, "scope '\(extra)' is not allowed for '\(name)'", name: name,
                    audience: audience, scopes: scopes))
        }
        var ttl = Int64(jwt.maxTTL)
        if let raw = fields["ttl"], raw != .null {
            guard let number = raw.numberValue, let value = number.int64 ?? (number.double.isFinite ? Int64(exactly: number.double.rounded(.down)) : nil),
                value > 0
            else {
                return .failure(
                    .init(
                        status: 400, code: .invalidArgument, "'ttl' must be a positive number of seconds", name: name, audience: audience,
                        scopes: scopes))
            }
            guard Double(value) <= jwt.maxTTL else {
                return .failure(
                    .init(
                        status: 403, code: .permissionDenied, "ttl \(value) exceeds the maximum of \(Int64(jwt.maxTTL)) seconds for '\(name)'",
                        name: name, audience: audience, scopes: scopes))
            }
            ttl = value
        }
        return .success(Grant(name: name, issuer: jwt.issuer, audience: audience, scopes: scopes, ttl: ttl))
    }

    struct Minted: Sendable {
        var token: String
        var jti: String
        var issuedAt: Int64
        var expiresAt: Int64
    }

    func mint(_ grant: Grant, runID: String, profileDigest: String, subject: String) async throws -> Minted {
        var jtiBytes = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in jtiBytes.indices { jtiBytes[i] = UInt8.random(in: 0...255, using: &rng) }
        let jti = Base64URL.encode(jtiBytes)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let iat = Int64(now.tv_sec)
        let claims = MintedClaims(
            iss: grant.issuer, sub: subject, aud: grant.audience, iat: iat, nbf: iat, exp: iat + grant.ttl, jti: jti,
            scope: grant.scopes.joined(separator: " "), run_id: runID, profile_digest: profileDigest)
        var header = JWTHeader()
        header.typ = "JWT"
        let token = try await keys.value.sign(claims, kid: JWKIdentifier(string: keyID), header: header)
        return Minted(token: token, jti: jti, issuedAt: iat, expiresAt: iat + grant.ttl)
    }
}

/// The claims of a minted token (integer NumericDates, `scope` space-separated as in RFC 8693).
struct MintedClaims: JWTPayload {
    var iss: String
    var sub: String
    var aud: String
    var iat: Int64
    var nbf: Int64
    var exp: Int64
    var jti: String
    var scope: String
    var run_id: String
    var profile_digest: String

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// A refused credential request: the HTTP error and what `cred.deny` records.
struct CredentialDenial: Error, Sendable {
    var error: BrokerHTTPError
    var name: String?
    var audience: String?
    var scopes: [String]

    init(
        status: Int, code: BrokerHTTPError.Code, _ message: String, name: String? = nil, audience: String? = nil, scopes: [String] = []
    ) {
        error = BrokerHTTPError(status: status, code, message)
        self.name = name
        self.audience = audience
        self.scopes = scopes
    }
}

/// base64url without padding (RFC 4648 §5), as JWK and JWT use it.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

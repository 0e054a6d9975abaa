import AgentrunJSON
import AgentrunProvenance
import Foundation
import JWTKit
import Testing

@testable import AgentrunBroker

/// The claims a relying service checks, decoded with jwt-kit's standard claim types.
struct VerifiedClaims: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var iat: IssuedAtClaim
    var nbf: NotBeforeClaim
    var exp: ExpirationClaim
    var jti: IDClaim
    var scope: String
    var run_id: String
    var profile_digest: String

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try nbf.verifyNotBefore()
        try aud.verifyIntendedAudience(includes: "https://api.example")
    }
}

func base64URLDecode(_ text: String) -> Data? {
    var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while s.count % 4 != 0 { s += "=" }
    return Data(base64Encoded: s)
}

@Suite("Broker credentials route", .serialized)
struct CredentialRouteTests {
    @Test func mintedTokenVerifiesWithTheJWKS() async throws {
        let b = try await TestBroker.make()
        let (issued, jwks) = try await onThread {
            let c = try UnixClient(b.socketPath)
            return (
                c.request("POST", "/v1/credentials", body: #"{"name":"api","audience":"https://api.example","scopes":["read"],"ttl":60}"#),
                c.request("GET", "/v1/jwks")
            )
        }
        #expect(issued?.status == 200)
        let body = try #require(issued?.json)
        let token = try #require(body["token"]?.stringValue)
        #expect(body["token_type"] == "Bearer")
        #expect(body["scopes"] == ["read"])
        #expect(body["expires_in"] == 60)
        let jti = try #require(body["jti"]?.stringValue)
        #expect(base64URLDecode(jti)?.count == 16)

        let keys = JWTKeyCollection()
        try await keys.add(jwksJSON: try #require(jwks?.text))
        let claims = try await keys.verify(token, as: VerifiedClaims.self)
        #expect(claims.iss.value == "agentrun")
        #expect(claims.sub.value == "agentrun:run-test-0001:agent")
        #expect(claims.aud.value == ["https://api.example"])
        #expect(claims.jti.value == jti)
        #expect(claims.scope == "read")
        #expect(claims.run_id == "run-test-0001")
        #expect(claims.profile_digest == String(repeating: "ab", count: 32))
        #expect(Int(claims.exp.value.timeIntervalSince1970 - claims.iat.value.timeIntervalSince1970) == 60)

        let header = try #require(base64URLDecode(String(token.split(separator: ".")[0])))
        let headerJSON = try JSON.parse(Array(header))
        #expect(headerJSON["alg"] == "EdDSA")
        #expect(headerJSON["typ"] == "JWT")
        #expect(headerJSON["kid"] == jwks?.json?["keys"]?.arrayValue?.first?["kid"])

        // A token signed by another key does not verify.
        let other = JWTKeyCollection()
        try await other.add(jwksJSON: #"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"\#(Base64URL.encode(RunKey.generate().publicKey))","kid":"\#(headerJSON["kid"]?.stringValue ?? "")","alg":"EdDSA"}]}"#)
        await #expect(throws: (any Error).self) { _ = try await other.verify(token, as: VerifiedClaims.self) }

        let records = try b.records(kind: "cred.issue")
        #expect(records.count == 1)
        let r = try #require(records.first)
        #expect(r["jti"]?.stringValue == jti)
        #expect(r["audience"] == "https://api.example")
        #expect(r["type"] == "jwt")
        #expect(r["name"] == "api")
        #expect(r["expires_at"] == body["expires_at"])
        #expect(!(try String(contentsOfFile: b.logPath, encoding: .utf8)).contains(token))
    }

    @Test func defaultTTLIsTheMaximum() async throws {
        let b = try await TestBroker.make()
        let r = try await onThread {
            try UnixClient(b.socketPath).request("POST", "/v1/credentials", body: #"{"name":"api","audience":"https://api.example"}"#)
        }
        #expect(r?.json?["expires_in"] == 300)
        #expect(r?.json?["scopes"] == [])
    }

    @Test func refusalsAreRecordedAndNeverLeakTheSecret() async throws {
        let b = try await TestBroker.make()
        let rs = try await onThread {
            let c = try UnixClient(b.socketPath)
            return [
                c.request("POST", "/v1/credentials", body: #"{"name":"api","audience":"https://evil.example"}"#),
                c.request("POST", "/v1/credentials", body: #"{"name":"api","audience":"https://api.example","scopes":["admin"]}"#),
                c.request("POST", "/v1/credentials", body: #"{"name":"api","audience":"https://api.example","ttl":301}"#),
                c.request("POST", "/v1/credentials", body: #"{"name":"github","audience":"x"}"#),
                c.request("POST", "/v1/credentials", body: #"{"name":"nope","audience":"x"}"#),
                c.request("POST", "/v1/credentials", body: #"{"name":"api","audience":"https://api.example","ttl":-5}"#),
            ]
        }
        #expect(rs.map { $0?.status } == [403, 403, 403, 403, 404, 400])
        #expect(rs[0]?.json?["error"]?["code"] == "permission_denied")
        #expect(rs[4]?.json?["error"]?["code"] == "not_found")
        for r in rs { #expect(r?.text.contains("SECRETVALUE") == false) }
        let denials = try b.records(kind: "cred.deny")
        #expect(denials.count == 6)
        #expect(denials[1]["scopes"] == ["admin"])
        #expect(denials[0]["audience"] == "https://evil.example")
        #expect(denials.allSatisfy { $0["reason"]?.stringValue?.isEmpty == false })
        #expect(try b.records(kind: "cred.issue").isEmpty)
    }
}

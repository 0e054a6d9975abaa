import AgentrunJSON
import AgentrunProvenance
import Foundation
import Testing

@testable import AgentrunBroker

@Suite("Broker server routes", .serialized)
struct ServerRouteTests {
    @Test func missingGuardHeaderIs400() async throws {
        let b = try await TestBroker.make()
        let r = try await onThread { try UnixClient(b.socketPath).request("GET", "/v1/jwks", guardHeader: false) }
        #expect(r?.status == 400)
        #expect(r?.json?["error"]?["code"] == "invalid_argument")
        #expect(r?.json?["error"]?["retry"] == "never")
        #expect(r?.headers["content-type"] == "application/json")
    }

    @Test func wrongGuardValueIs400() async throws {
        let b = try await TestBroker.make()
        let r = try await onThread {
            try UnixClient(b.socketPath).request("GET", "/v1/jwks", guardHeader: false, extraHeaders: ["AgentRun-Request: yes"])
        }
        #expect(r?.status == 400)
    }

    @Test func unknownRouteIs404AndWrongMethodIs405() async throws {
        let b = try await TestBroker.make()
        let (notFound, wrong, getMCP) = try await onThread {
            let c = try UnixClient(b.socketPath)
            return (c.request("GET", "/nope"), c.request("POST", "/v1/jwks", body: "{}"), c.request("GET", "/mcp"))
        }
        #expect(notFound?.status == 404)
        #expect(notFound?.json?["error"]?["code"] == "not_found")
        #expect(wrong?.status == 405)
        #expect(wrong?.headers["allow"] == "GET")
        #expect(getMCP?.status == 405)
        #expect(getMCP?.headers["allow"] == "POST")
    }

    @Test func jwksServesTheRunKey() async throws {
        let b = try await TestBroker.make()
        let r = try await onThread { try UnixClient(b.socketPath).request("GET", "/v1/jwks") }
        let key = try #require(r?.json?["keys"]?.arrayValue?.first)
        #expect(r?.status == 200)
        #expect(key["kty"] == "OKP")
        #expect(key["crv"] == "Ed25519")
        #expect(key["alg"] == "EdDSA")
        #expect(key["use"] == "sig")
        #expect(key["x"]?.stringValue == Base64URL.encode(b.runKey.publicKey))
        #expect((key["kid"]?.stringValue?.count ?? 0) == 43)  // base64url of a SHA-256
    }

    @Test func sessionDescribesTheRun() async throws {
        let b = try await TestBroker.make()
        let r = try await onThread { try UnixClient(b.socketPath).request("GET", "/v1/session") }
        let s = try #require(r?.json)
        #expect(s["run_id"] == "run-test-0001")
        #expect(s["profile"]?["digest"]?.stringValue == String(repeating: "ab", count: 32))
        #expect(s["tools"] == ["echo"])
        #expect(s["expires_at"] == "2096-10-02T07:06:40Z")
        let creds = try #require(s["credentials"]?.arrayValue)
        #expect(creds.count == 1)  // the host secret is not listed
        #expect(creds.first?["name"] == "api")
        #expect(creds.first?["audiences"] == ["https://api.example"])
        #expect(!r!.text.contains("SECRETVALUE"))
    }

    @Test func checkIsADryRunAndIsRecorded() async throws {
        let b = try await TestBroker.make()
        let (allow, deny) = try await onThread {
            let c = try UnixClient(b.socketPath)
            return (
                c.request("POST", "/v1/check", body: #"{"tool":"echo","arguments":{"path":"/tmp/x","n":1.5}}"#),
                c.request("POST", "/v1/check", body: #"{"tool":"echo","arguments":{"path":"/etc/passwd"}}"#)
            )
        }
        #expect(allow?.status == 200)
        #expect(allow?.json?["decision"] == "allow")
        #expect(allow?.json?["rule_id"] == "allow-echo")
        #expect(deny?.json?["decision"] == "deny")
        #expect(deny?.json?["rule_id"] == "no-etc")
        let checks = try b.records(kind: "tool.check")
        #expect(checks.count == 2)
        #expect(checks.first?["arguments"]?["n"] == "1.5")  // non-integers are recorded as their JSON text
        #expect(checks.first?["decision"]?["effect"] == "allow")
        #expect(checks.last?["decision"]?["rule_id"] == "no-etc")
        #expect(checks.first?["actor"]?["pid"]?.int64Value == Int64(getpid()))
        #expect(try b.records(kind: "tool.call").isEmpty)
    }

    @Test func checkRejectsBadBodies() async throws {
        let b = try await TestBroker.make()
        let rs = try await onThread {
            let c = try UnixClient(b.socketPath)
            return [
                c.request("POST", "/v1/check", body: "{not json"),
                c.request("POST", "/v1/check", body: #"{"arguments":{}}"#),
                c.request("POST", "/v1/check", body: #"{"tool":"echo","arguments":[1]}"#),
                c.request("POST", "/v1/check", body: #"{"tool":"echo","extra":1}"#),
            ]
        }
        for r in rs {
            #expect(r?.status == 400)
            #expect(r?.json?["error"]?["code"] == "invalid_argument")
        }
    }

    @Test func keepAliveServesManyRequestsOnOneConnection() async throws {
        let b = try await TestBroker.make()
        let statuses = try await onThread {
            let c = try UnixClient(b.socketPath)
            return (0..<50).map { _ in c.request("POST", "/v1/check", body: #"{"tool":"echo","arguments":{}}"#)?.status ?? 0 }
        }
        #expect(statuses.allSatisfy { $0 == 200 })
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let b = try await TestBroker.make()
        let (first, second) = try await onThread {
            let c = try UnixClient(b.socketPath)
            let one = "GET /v1/session HTTP/1.1\r\nAgentRun-Request: 1\r\n\r\n"
            let two = "GET /nope HTTP/1.1\r\nAgentRun-Request: 1\r\n\r\n"
            c.send(one + two)
            return (c.receive()?.status, c.receive()?.status)
        }
        #expect(first == 200)
        #expect(second == 404)
    }
}

import AgentrunJSON
import AgentrunPolicy
import Foundation
import Testing

@testable import AgentrunBroker

@Suite(.serialized) struct BackendHTTPTests {
    typealias F = BackendFixtures

    func call(
        _ spec: HTTPBackendSpec, arguments: JSON = [:], trusting pem: [UInt8]? = nil
    ) async throws -> ToolCallResult {
        let backends = ToolBackends(
            policy: F.policy(tools: [ToolPolicy(name: "t", backend: .http(spec))]), secrets: F.secrets, additionalTrustedPEM: pem
        )
        try await backends.start()
        let backend = try #require(backends.backend(for: "t"))
        let result = await backend.call(arguments: arguments, timeout: 30)
        await backends.shutdown()
        return result
    }

    func withServer(_ arguments: [String] = [], _ body: (Int) async throws -> Void) async throws {
        let server = try LocalServer(script: F.httpServer, arguments: arguments, environment: ["EXPECTED_TOKEN": F.secretValue])
        defer { server.stop() }
        try await body(server.port)
    }

    /// The JSON the echo endpoint returned.
    func echo(_ result: ToolCallResult) throws -> [String: JSON] {
        try #require(JSON.parse(F.text(result)).objectValue)
    }

    @Test func valuesArePercentEncodedIntoPathAndQuery() async throws {
        try await withServer { port in
            let spec = HTTPBackendSpec(url: "http://127.0.0.1:\(port)/echo/{id}/x?q={q}&n={n}&lit=a%20b")
            let result = try await call(spec, arguments: ["id": "a/b c?#", "q": "x&y=z#\n", "n": 5])
            #expect(result.status == .ok)
            let seen = try echo(result)
            #expect(seen["target"] == "/echo/a%2Fb%20c%3F%23/x?q=x%26y%3Dz%23%0A&n=5&lit=a%20b")
            #expect(seen["method"] == "GET")
            #expect(result.structuredContent?["target"] == seen["target"])
        }
    }

    @Test(arguments: ["..", ".", "../x"])
    func dotSegmentsAreRefused(_ value: String) async throws {
        try await withServer { port in
            let result = try await call(HTTPBackendSpec(url: "http://127.0.0.1:\(port)/echo/{id}"), arguments: ["id": .string(value)])
            if value == "../x" {
                // `/` is encoded: one segment `..%2Fx`, harmless.
                #expect(try echo(result)["target"] == "/echo/..%2Fx")
            } else {
                #expect(result.isError && F.text(result).contains("segment"))
            }
        }
    }

    @Test func secretsGoInHeadersAndAreScrubbedFromTheResponse() async throws {
        try await withServer { port in
            let spec = HTTPBackendSpec(
                url: "http://127.0.0.1:\(port)/echo", headers: ["X-Token": "Bearer {secret:TOKEN}", "X-Arg": "v={a}"]
            )
            let result = try await call(spec, arguments: ["a": "{secret:TOKEN}"])
            let seen = try echo(result)
            #expect(seen["token_ok"] == true)
            #expect(seen["headers"]?["x-token"] == "Bearer [secret:TOKEN]")
            // The argument's `{secret:TOKEN}` stays literal text.
            #expect(seen["headers"]?["x-arg"] == "v={secret:TOKEN}")
            #expect(!F.text(result).contains(F.secretValue))
            #expect(result.structuredContent?["headers"]?["x-token"] == "Bearer [secret:TOKEN]")

            let leak = try await call(HTTPBackendSpec(url: "http://127.0.0.1:\(port)/leak"))
            #expect(F.text(leak) == "the token is [secret:TOKEN]!")
        }
    }

    @Test func headerValuesCannotCarryLineBreaks() async throws {
        try await withServer { port in
            let spec = HTTPBackendSpec(url: "http://127.0.0.1:\(port)/echo", headers: ["X-Arg": "{a}"])
            for value in ["a\r\nX-Evil: 1", "a\nb", "a\rb"] {
                let result = try await call(spec, arguments: ["a": .string(value)])
                #expect(result.isError && F.text(result).contains("CR, LF or NUL"))
            }
        }
    }

    @Test func postSendsTheArgumentsAsJSON() async throws {
        try await withServer { port in
            let spec = HTTPBackendSpec(method: "POST", url: "http://127.0.0.1:\(port)/echo", sendArguments: true)
            let result = try await call(spec, arguments: ["a": 1, "b": ["c"]])
            let seen = try echo(result)
            #expect(seen["method"] == "POST")
            #expect(seen["body"] == #"{"a":1,"b":["c"]}"#)
            #expect(seen["headers"]?["content-type"] == "application/json")
        }
    }

    @Test func statusFourHundredAndAboveIsAnError() async throws {
        try await withServer { port in
            let result = try await call(HTTPBackendSpec(url: "http://127.0.0.1:\(port)/status/404"))
            #expect(result.isError && result.status == .error)
            #expect(F.text(result).contains("404"))
            let redirect = try await call(HTTPBackendSpec(url: "http://127.0.0.1:\(port)/redirect"))
            #expect(!redirect.isError && redirect.detail?.contains("302") == true)
        }
    }

    @Test func aSlowServerTimesOut() async throws {
        try await withServer { port in
            let started = ContinuousClock.now
            let result = try await call(HTTPBackendSpec(url: "http://127.0.0.1:\(port)/slow", timeout: 0.5))
            #expect(result.status == .timeout && result.isError)
            #expect(ContinuousClock.now - started < .seconds(4))
        }
    }

    @Test func aResponseOverTheCapFails() async throws {
        try await withServer { port in
            let result = try await call(HTTPBackendSpec(url: "http://127.0.0.1:\(port)/big/100000", maxResponse: 1000))
            #expect(result.isError && F.text(result).contains("max_response"))
            let exact = try await call(HTTPBackendSpec(url: "http://127.0.0.1:\(port)/big/1000", maxResponse: 1000))
            #expect(exact.status == .ok && F.text(exact).utf8.count == 1000)
        }
    }

    @Test func connectionRefusedAndHandshakeFailuresAreErrors() async throws {
        // A port nothing listens on (bound, then closed).
        let refused = try await call(HTTPBackendSpec(url: "http://127.0.0.1:1/echo", timeout: 5))
        #expect(refused.isError && refused.status == .error)
        try await withServer { port in
            // TLS to a plain HTTP server.
            let result = try await call(HTTPBackendSpec(url: "https://127.0.0.1:\(port)/echo", timeout: 5))
            #expect(result.isError && result.status == .error)
        }
    }

    @Test func httpsWithATrustedCertificate() async throws {
        let dir = NSTemporaryDirectory() + "agentrun-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem",
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        let pem = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/cert.pem")))
        try await withServer(["--tls", dir + "/cert.pem", dir + "/key.pem"]) { port in
            let trusted = try await call(HTTPBackendSpec(url: "https://localhost:\(port)/echo", timeout: 10), trusting: pem)
            #expect(trusted.status == .ok, "\(F.text(trusted))")
            #expect(try echo(trusted)["headers"]?["host"] == .string("localhost:\(port)"))
            let byAddress = try await call(HTTPBackendSpec(url: "https://127.0.0.1:\(port)/echo", timeout: 10), trusting: pem)
            #expect(byAddress.status == .ok, "\(F.text(byAddress))")
            // Without the extra trust root: the system store does not know this certificate.
            let untrusted = try await call(HTTPBackendSpec(url: "https://localhost:\(port)/echo", timeout: 10))
            #expect(untrusted.isError)
        }
    }

    @Test(arguments: [
        "ftp://x/", "http://{host}/", "http://h:{p}/", "http://u@h/", "http://h/#frag", "http://h:0/", "http://h/a b",
    ])
    func badURLsStopTheStart(_ url: String) async throws {
        let backends = ToolBackends(policy: F.policy(tools: [ToolPolicy(name: "t", backend: .http(HTTPBackendSpec(url: url)))]), secrets: F.secrets)
        await #expect(throws: BrokerError.self) { try await backends.start() }
        await backends.shutdown()
    }

    @Test func reservedOrMalformedHeadersStopTheStart() async throws {
        for headers in [["Host": "x"], ["Content-Length": "1"], ["Bad Name": "x"], ["X": "a\r\nb"], ["X": "{secret:NOPE}"]] {
            let spec = HTTPBackendSpec(url: "http://127.0.0.1/", headers: headers)
            let backends = ToolBackends(policy: F.policy(tools: [ToolPolicy(name: "t", backend: .http(spec))]), secrets: F.secrets)
            await #expect(throws: BrokerError.self) { try await backends.start() }
            await backends.shutdown()
        }
    }
}

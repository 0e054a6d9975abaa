import AgentrunJSON
import AgentrunProvenance
import Foundation
import Testing

@testable import AgentrunBroker

#if canImport(Glibc)
import Glibc
#endif

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

@Suite("Broker server limits and peers", .serialized)
struct ServerLimitTests {
    @Test func hugeDeclaredBodyIs413AndClosed() async throws {
        let b = try await TestBroker.make()
        let (r, closed) = try await onThread {
            let c = try UnixClient(b.socketPath)
            c.send("POST /v1/check HTTP/1.1\r\nAgentRun-Request: 1\r\nContent-Length: 2000000\r\n\r\n{")
            return (c.receive(), c.isClosed())
        }
        #expect(r?.status == 413)
        #expect(r?.json?["error"]?["code"] == "invalid_argument")
        #expect(closed)
    }

    @Test func hugeChunkedBodyIs413() async throws {
        var limits = BrokerLimits()
        limits.maxBodyBytes = 1000
        let b = try await TestBroker.make(limits: limits)
        let (r, closed) = try await onThread {
            let c = try UnixClient(b.socketPath)
            c.send("POST /mcp HTTP/1.1\r\nAgentRun-Request: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = String(repeating: "a", count: 600)
            c.send("258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n")
            return (c.receive(), c.isClosed())
        }
        #expect(r?.status == 413)
        #expect(closed)
    }

    @Test func tooManyHeadersIs431() async throws {
        let b = try await TestBroker.make()
        let r = try await onThread {
            try UnixClient(b.socketPath).request("GET", "/v1/session", extraHeaders: (0..<100).map { "X-H\($0): v" })
        }
        #expect(r?.status == 431)
    }

    @Test func hugeRequestLineIs431() async throws {
        let b = try await TestBroker.make()
        let r = try await onThread {
            try UnixClient(b.socketPath).request("GET", "/v1/session?" + String(repeating: "a", count: 100_000))
        }
        #expect(r?.status == 431)
    }

    @Test func slowRequestTimesOutWithoutBlockingOthers() async throws {
        var limits = BrokerLimits()
        limits.requestTimeout = 0.6
        let b = try await TestBroker.make(limits: limits)
        let slow = try UnixClient(b.socketPath)
        let started = monotonicSeconds()
        slow.send("POST /v1/check HTTP/1.1\r\nAgentRun-Request: 1\r\nContent-Length: 50\r\n\r\n{\"tool\"")
        let (fastStatus, fastElapsed) = try await onThread {
            let t0 = monotonicSeconds()
            let r = try UnixClient(b.socketPath).request("GET", "/v1/session")
            return (r?.status, monotonicSeconds() - t0)
        }
        #expect(fastStatus == 200)
        #expect(fastElapsed < 0.3)
        let (slowStatus, closed) = try await onThread { (slow.receive()?.status, slow.isClosed()) }
        #expect(slowStatus == 408)
        #expect(closed)
        #expect(monotonicSeconds() - started >= 0.55)
    }

    @Test func headerThatNeverEndsTimesOut() async throws {
        var limits = BrokerLimits()
        limits.requestTimeout = 0.4
        let b = try await TestBroker.make(limits: limits)
        let r = try await onThread {
            let c = try UnixClient(b.socketPath)
            c.send("GET /v1/session HTTP/1.1\r\nAgentRun-Request: 1\r\nX-Slow: ")
            return c.receive()
        }
        #expect(r?.status == 408)
    }

    @Test func idleConnectionsAreClosed() async throws {
        var limits = BrokerLimits()
        limits.idleTimeout = 0.3
        let b = try await TestBroker.make(limits: limits)
        let (status, closed, elapsed) = try await onThread {
            let c = try UnixClient(b.socketPath)
            let s = c.request("GET", "/v1/session")?.status
            let t0 = monotonicSeconds()
            return (s, c.isClosed(), monotonicSeconds() - t0)
        }
        #expect(status == 200)
        #expect(closed)
        #expect(elapsed < 2)
    }

    @Test func connectionLimitAcceptsThenCloses() async throws {
        var limits = BrokerLimits()
        limits.maxConnections = 3
        let b = try await TestBroker.make(limits: limits)
        let (admitted, extra, afterRelease) = try await onThread {
            let clients = try (0..<3).map { _ in try UnixClient(b.socketPath) }
            let admitted = clients.map { $0.request("GET", "/v1/session")?.status }
            let fourth = try UnixClient(b.socketPath)
            let extra = fourth.receive()
            _ = fourth.isClosed()
            clients[0].send("")
            shutdown(clients[0].fd, Int32(SHUT_RDWR))
            usleep(200_000)
            let again = try UnixClient(b.socketPath).request("GET", "/v1/session")?.status
            return (admitted, extra, again)
        }
        #expect(admitted == [200, 200, 200])
        #expect(extra?.status == 503)
        #expect(extra?.json?["error"]?["code"] == "resource_exhausted")
        #expect(extra?.json?["error"]?["retry"] == "backoff")
        #expect(afterRelease == 200)
    }

    @Test func peerOutsideThePIDNamespaceIsRefused() async throws {
        // The test process is the only peer; a broker expecting another namespace refuses it.
        let b = try await TestBroker.make(pidNamespace: (device: 1, inode: 1))
        let (r, closed) = try await onThread {
            let c = try UnixClient(b.socketPath)
            c.send("GET /v1/session HTTP/1.1\r\nAgentRun-Request: 1\r\n\r\n")
            return (c.receive(), c.isClosed())
        }
        #expect(r?.status == 403)
        #expect(r?.json?["error"]?["code"] == "permission_denied")
        #expect(closed)
        let refused = try b.records(kind: "broker.refused")
        #expect(refused.count == 1)
        #expect(refused.first?["peer"]?["pid"]?.int64Value == Int64(getpid()))
        #expect(refused.first?["reason"]?.stringValue?.contains("pid namespace") == true)
    }

    @Test(.enabled(if: getuid() == 0, "needs root for unshare -p"))
    func processInAnotherPIDNamespaceIsRefused() async throws {
        let b = try await TestBroker.make()
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            s.sendall(b'GET /v1/session HTTP/1.1\\r\\nAgentRun-Request: 1\\r\\n\\r\\n')
            data = b''
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk: break
                    data += chunk
            except ConnectionResetError:
                data += b'RESET'
            sys.stdout.write(data.decode(errors='replace'))
            """
        let output = try await onThread {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            p.arguments = ["-p", "-f", "--mount-proc", "python3", "-c", script, b.socketPath]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        // The 403 is best effort: closing with the request unread may reset the connection first,
        // or close it before the answer is read. Either way nothing is served (and the refusal is
        // recorded, below).
        #expect(output.hasPrefix("HTTP/1.1 403") || output == "RESET" || output.isEmpty, "\(output)")
        #expect(!output.contains("run-test-0001"))
        let refused = try b.records(kind: "broker.refused")
        #expect(refused.count == 1)
        // The same broker still serves its own namespace.
        let ok = try await onThread { try UnixClient(b.socketPath).request("GET", "/v1/session")?.status }
        #expect(ok == 200)
    }

    @Test func hundredConcurrentClientsAreAllRecorded() async throws {
        let b = try await TestBroker.make()
        let perClient = 5
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<100 {
                group.addTask {
                    try await onThread {
                        let c = try UnixClient(b.socketPath)
                        var bad = 0
                        for j in 0..<perClient {
                            let r =
                                j % 2 == 0
                                ? c.request("POST", "/v1/check", body: #"{"tool":"echo","arguments":{"i":\#(i),"j":\#(j)}}"#)
                                : c.request(
                                    "POST", "/mcp",
                                    body: #"{"jsonrpc":"2.0","id":\#(i * 100 + j),"method":"tools/call","params":{"name":"echo","arguments":{"i":\#(i)}}}"#)
                            if r?.status != 200 { bad += 1 }
                        }
                        return bad
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(failures == 0)
        #expect(try b.records(kind: "tool.check").count == 100 * 3)
        let calls = try b.records(kind: "tool.call")
        let results = try b.records(kind: "tool.result")
        #expect(calls.count == 100 * 2)
        #expect(results.count == 100 * 2)
        #expect(Set(results.compactMap { $0["call_seq"]?.int64Value }) == Set(calls.compactMap { $0["seq"]?.int64Value }))
        await b.stop()
        _ = try b.writer.finish()
        let report = LogVerifier.verify(path: b.logPath, operatorKey: nil)
        #expect(report.intact, "\(report)")
        #expect(report.sealed)
    }

    @Test func aFailedLogMakesEveryCallFailClosed() async throws {
        let b = try await TestBroker.make()
        _ = try b.writer.finish()  // from now on every append throws
        let rs = try await onThread {
            let c = try UnixClient(b.socketPath)
            return [
                c.request("POST", "/v1/check", body: #"{"tool":"echo","arguments":{}}"#),
                c.request("POST", "/mcp", body: #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#),
                c.request("POST", "/v1/credentials", body: #"{"name":"api","audience":"https://api.example"}"#),
            ]
        }
        #expect(rs.map { $0?.status } == [503, 503, 503])
        #expect(rs[0]?.json?["error"]?["code"] == "unavailable")
        #expect(rs[1]?.json?["result"] == nil)
        #expect(rs[2]?.json?["token"] == nil)
    }

    @Test func shutdownIsPromptAndStopsServing() async throws {
        let b = try await TestBroker.make()
        let idle = try UnixClient(b.socketPath)
        _ = idle.request("GET", "/v1/session")
        let t0 = monotonicSeconds()
        await b.stop()
        #expect(monotonicSeconds() - t0 < 1.5)
        #expect(idle.isClosed())
        #expect(throws: (any Error).self) { _ = try UnixClient(b.socketPath) }
    }
}

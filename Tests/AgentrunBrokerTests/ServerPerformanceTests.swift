import AgentrunJSON
import Foundation
import Testing

@testable import AgentrunBroker

/// Latency and throughput of a trivial allowed decision (`/v1/check`: policy + provenance append).
/// Prints the figures; the bounds asserted here are loose (debug builds, a loaded CI host): the
/// targets (p50 ≤ 150 µs, ≥ 10k req/s over 8 connections) are for release builds.
@Suite("Broker server performance", .serialized)
struct ServerPerformanceTests {
    static let request = Array(
        "POST /v1/check HTTP/1.1\r\nAgentRun-Request: 1\r\nContent-Length: 39\r\n\r\n{\"tool\":\"echo\",\"arguments\":{\"x\":\"abc\"}}"
            .utf8)

    @Test func checkLatencyAndThroughput() async throws {
        let b = try await TestBroker.make()
        let latencies = try await onThread { () -> [Double] in
            let c = try UnixClient(b.socketPath)
            var out: [Double] = []
            for i in 0..<2200 {
                let t0 = monotonicSeconds()
                c.send(Self.request)
                guard c.receive()?.status == 200 else { throw ServerTestFailure("request failed") }
                if i >= 200 { out.append(monotonicSeconds() - t0) }
            }
            return out.sorted()
        }
        let p50 = latencies[latencies.count / 2] * 1e6
        let p99 = latencies[latencies.count * 99 / 100] * 1e6

        let perConnection = 2000
        let t0 = monotonicSeconds()
        let ok = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await onThread {
                        let c = try UnixClient(b.socketPath)
                        var ok = 0
                        for _ in 0..<perConnection {
                            c.send(Self.request)
                            if c.receive()?.status == 200 { ok += 1 }
                        }
                        return ok
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        let rate = Double(ok) / (monotonicSeconds() - t0)
        print("broker /v1/check: p50 \(Int(p50)) µs, p99 \(Int(p99)) µs; \(Int(rate)) req/s over 8 connections")
        #expect(ok == 8 * perConnection)
        #expect(p50 < 5000)
        #expect(try b.records(kind: "tool.check").count == 2200 + 8 * perConnection)
    }
}

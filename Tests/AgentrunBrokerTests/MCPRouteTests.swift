import AgentrunJSON
import AgentrunProvenance
import Foundation
import Testing

@testable import AgentrunBroker

@Suite("Broker MCP route", .serialized)
struct MCPRouteTests {
    func mcp(_ b: TestBroker, _ bodies: [String]) async throws -> [UnixClient.Response?] {
        try await onThread {
            let c = try UnixClient(b.socketPath)
            return bodies.map { c.request("POST", "/mcp", body: $0, extraHeaders: ["Accept: application/json, text/event-stream"]) }
        }
    }

    @Test func initializeNegotiatesTheVersion() async throws {
        let b = try await TestBroker.make()
        let rs = try await mcp(b, [
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            #"{"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"1999-01-01"}}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2024-11-05"}}"#,
        ])
        #expect(rs[0]?.status == 200)
        #expect(rs[0]?.json?["id"] == 1)
        #expect(rs[0]?.json?["result"]?["protocolVersion"] == "2025-06-18")
        #expect(rs[0]?.json?["result"]?["capabilities"]?["tools"]?["listChanged"] == false)
        #expect(rs[0]?.json?["result"]?["serverInfo"]?["name"] == "agentrun")
        #expect(rs[1]?.json?["id"] == "a")
        #expect(rs[1]?.json?["result"]?["protocolVersion"] == "2025-11-25")
        #expect(rs[2]?.json?["result"]?["protocolVersion"] == "2024-11-05")
    }

    @Test func notificationsAndClientResponsesGet202() async throws {
        let b = try await TestBroker.make()
        let rs = try await mcp(b, [
            #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
            #"{"jsonrpc":"2.0","id":7,"result":{}}"#,
        ])
        for r in rs {
            #expect(r?.status == 202)
            #expect(r?.body.isEmpty == true)
        }
    }

    @Test func pingAndToolsList() async throws {
        let b = try await TestBroker.make()
        let rs = try await mcp(b, [
            #"{"jsonrpc":"2.0","id":1.5e0,"method":"ping"}"#,
            #"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{}}"#,
        ])
        #expect(rs[0]?.text == #"{"id":1.5e0,"jsonrpc":"2.0","result":{}}"#)  // the id is echoed exactly
        let tools = try #require(rs[1]?.json?["result"]?["tools"]?.arrayValue)
        #expect(tools.count == 1)
        #expect(tools.first?["name"] == "echo")
        #expect(tools.first?["description"] == "Echoes its arguments")
        #expect(tools.first?["inputSchema"] == ["type": "object"])
    }

    @Test func allowedCallRunsAndIsRecordedBeforeAndAfter() async throws {
        let b = try await TestBroker.make()
        let rs = try await mcp(b, [
            #"{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"echo","arguments":{"path":"/tmp/a","n":7}}}"#
        ])
        let result = try #require(rs[0]?.json?["result"])
        #expect(rs[0]?.json?["id"] == "c1")
        #expect(result["isError"] == false)
        #expect(result["content"]?.arrayValue?.first?["text"] == #"{"n":7,"path":"/tmp/a"}"#)
        #expect(result["_meta"]?["agentrun/decision"]?["effect"] == "allow")
        let calls = try b.records(kind: "tool.call")
        let results = try b.records(kind: "tool.result")
        #expect(calls.count == 1)
        #expect(results.count == 1)
        let call = try #require(calls.first)
        #expect(call["tool"] == "echo")
        #expect(call["arguments"] == ["n": 7, "path": "/tmp/a"])
        #expect(call["decision"]?["effect"] == "allow")
        #expect(call["decision"]?["rule_id"] == "allow-echo")
        #expect(call["decision"]?["reason"]?.stringValue?.isEmpty == false)
        #expect(call["request_id"] == "c1")
        #expect(call["via"] == "mcp")
        #expect(call["actor"]?["pid"]?.int64Value == Int64(getpid()))
        let res = try #require(results.first)
        #expect(res["call_seq"] == call["seq"])
        #expect((res["seq"]?.int64Value ?? 0) > (call["seq"]?.int64Value ?? 0))
        #expect(res["status"] == "ok")
        #expect(res["result_sha256"]?.stringValue?.count == 64)
        #expect(res["result"]?["isError"] == false)
        #expect((res["duration_ns"]?.int64Value ?? -1) >= 0)
    }

    @Test func deniedCallCarriesTheRuleAndIsNotRun() async throws {
        let b = try await TestBroker.make()
        let rs = try await mcp(b, [
            #"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"path":"/etc/shadow"}}}"#
        ])
        let result = try #require(rs[0]?.json?["result"])
        #expect(result["isError"] == true)
        #expect(result["content"]?.arrayValue?.first?["text"]?.stringValue?.hasPrefix("denied by rule no-etc: ") == true)
        #expect(result["_meta"]?["agentrun/decision"]?["rule_id"] == "no-etc")
        #expect(result["_meta"]?["agentrun/decision"]?["effect"] == "deny")
        #expect(try b.records(kind: "tool.call").first?["decision"]?["effect"] == "deny")
        #expect(try b.records(kind: "tool.result").isEmpty)
    }

    @Test func jsonRPCErrors() async throws {
        let b = try await TestBroker.make()
        let rs = try await mcp(b, [
            "{oops",
            #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            #"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            #"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#,
            #"{"jsonrpc":"2.0","id":4,"method":"resources/list"}"#,
            #"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"arguments":{}}}"#,
            #"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":[1]}}"#,
            #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"nope","arguments":{}}}"#,
            #"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"hidden","arguments":{}}}"#,
            #"{"jsonrpc":"2.0","id":9,"method":"tools/list","params":[1]}"#,
        ])
        let codes = rs.map { $0?.json?["error"]?["code"]?.int64Value }
        #expect(codes == [-32700, -32600, -32600, -32600, -32601, -32602, -32602, -32602, -32602, -32602])
        #expect(rs[0]?.json?["id"] == .null)
        #expect(rs[0]?.status == 400)
        #expect(rs[4]?.json?["id"] == 4)
        #expect(rs[4]?.status == 200)
        // Unknown-tool attempts are recorded (denied) although they get a protocol error.
        let calls = try b.records(kind: "tool.call")
        #expect(calls.map { $0["tool"] } == ["nope", "hidden"])
        #expect(calls.allSatisfy { $0["decision"]?["effect"] == "deny" })
    }
}

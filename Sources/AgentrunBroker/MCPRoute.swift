import AgentrunJSON
import AgentrunPolicy
import AgentrunProvenance
import Crypto

/// `POST /mcp`: the Model Context Protocol over streamable HTTP, stateless, JSON responses only
/// (no SSE stream, no session id). One JSON-RPC message per request; batches are refused.
extension BrokerService {
    /// Protocol versions answered as asked; any other gets the newest.
    static let mcpVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]

    enum RPCError {
        static let parse = -32700
        static let invalidRequest = -32600
        static let methodNotFound = -32601
        static let invalidParams = -32602
        static let internalError = -32603
    }

    func mcp(_ request: BrokerRequest) -> BrokerOutcome {
        let message: JSON
        do {
            message = try JSON.parse(request.bodyBytes, limits: parseLimits)
        } catch {
            return .now(Self.rpcError(id: .null, RPCError.parse, "parse error: \(error)", status: 400))
        }
        guard case .object(let fields) = message else {
            if case .array = message {
                return .now(Self.rpcError(id: .null, RPCError.invalidRequest, "batches are not supported: send one message per request", status: 400))
            }
            return .now(Self.rpcError(id: .null, RPCError.invalidRequest, "a JSON-RPC message must be an object", status: 400))
        }
        let id = fields["id"]
        if let id {
            switch id {
            case .string, .number: break
            default: return .now(Self.rpcError(id: .null, RPCError.invalidRequest, "'id' must be a string or a number", status: 400))
            }
        }
        guard fields["jsonrpc"] == .string("2.0") else {
            return .now(Self.rpcError(id: id ?? .null, RPCError.invalidRequest, "'jsonrpc' must be \"2.0\"", status: 400))
        }
        guard let methodValue = fields["method"] else {
            // A response from the client (to a request this server never sends): accepted, ignored.
            if id != nil, fields["result"] != nil || fields["error"] != nil { return .now(BrokerResponse(status: 202, body: nil)) }
            return .now(Self.rpcError(id: id ?? .null, RPCError.invalidRequest, "'method' is required", status: 400))
        }
        guard case .string(let method) = methodValue else {
            return .now(Self.rpcError(id: id ?? .null, RPCError.invalidRequest, "'method' must be a string", status: 400))
        }
        guard let id else { return .now(BrokerResponse(status: 202, body: nil)) }  // a notification
        let params = fields["params"] ?? .object([:])
        guard case .object(let paramFields) = params else {
            return .now(Self.rpcError(id: id, RPCError.invalidParams, "'params' must be an object"))
        }
        switch method {
        case "initialize":
            let asked = paramFields["protocolVersion"]?.stringValue
            let version = asked.flatMap { Self.mcpVersions.contains($0) ? $0 : nil } ?? Self.mcpVersions[0]
            let result: JSON = [
                "protocolVersion": .string(version),
                "capabilities": ["tools": ["listChanged": false]],
                "serverInfo": ["name": "agentrun", "version": .string(Self.serverVersion)],
            ]
            return .now(Self.rpcResult(id: id, JSONWriter.encode(result)))
        case "ping":
            return .now(Self.rpcResult(id: id, Array("{}".utf8)))
        case "tools/list":
            return .now(Self.rpcResult(id: id, toolsListResult))
        case "tools/call":
            return toolCall(id: id, params: paramFields, peer: request.peer)
        default:
            return .now(Self.rpcError(id: id, RPCError.methodNotFound, "method '\(method.prefix(100))' not found"))
        }
    }

    private func toolCall(id: JSON, params: [String: JSON], peer: PeerIdentity) -> BrokerOutcome {
        guard let name = params["name"]?.stringValue else {
            return .now(Self.rpcError(id: id, RPCError.invalidParams, "tools/call needs 'name' (a string)"))
        }
        let arguments = params["arguments"] ?? .object([:])
        guard case .object = arguments else {
            return .now(Self.rpcError(id: id, RPCError.invalidParams, "'arguments' must be an object"))
        }
        let known = listedToolNames.contains(name)
        let decision = policy.evaluate(tool: name, arguments: arguments, consume: known)
        let call = record(
            "tool.call",
            [
                "actor": peer.actor, "tool": .string(name), "arguments": RecordValues.value(arguments),
                "decision": RecordValues.decision(decision), "request_id": RecordValues.value(id), "via": "mcp",
            ])
        guard let call else {
            return .now(Self.rpcError(id: id, RPCError.internalError, "the provenance log is unavailable: the call was not run", status: 503))
        }
        guard known else {
            return .now(Self.rpcError(id: id, RPCError.invalidParams, "unknown tool '\(name.prefix(128))'"))
        }
        let meta: JSON = ["agentrun/decision": ["effect": .string(decision.effect.rawValue), "rule_id": .string(decision.ruleID), "reason": .string(decision.reason)]]
        guard decision.effect == .allow else {
            let result: JSON = [
                "content": [["type": "text", "text": .string("denied by rule \(decision.ruleID): \(decision.reason)")]],
                "isError": true, "_meta": meta,
            ]
            return .now(Self.rpcResult(id: id, JSONWriter.encode(result)))
        }
        let tools = self.tools
        return .later { [self] in
            let started = Self.monotonicNanoseconds()
            let run = await tools.run(tool: name, arguments: arguments)
            let duration = Self.monotonicNanoseconds() &- started
            let outcome = run ?? ToolCallResult(content: [["type": "text", "text": "no backend serves this tool"]], isError: true, status: .error)
            var result: [String: JSON] = ["content": .array(outcome.content), "isError": .bool(outcome.isError)]
            if let structured = outcome.structuredContent { result["structuredContent"] = structured }
            let resultBytes = JSONWriter.encode(.object(result))
            let status = outcome.status.rawValue
            var fields: [String: JSONValue] = [
                "actor": peer.actor, "call_seq": .int(call.seq), "tool": .string(name), "status": .string(status),
                "duration_ns": .int(Int64(clamping: duration)), "result_sha256": .string(Self.hex(SHA256.hash(data: resultBytes))),
                "result_size": .int(Int64(resultBytes.count)),
            ]
            if resultBytes.count <= 4096 { fields["result"] = RecordValues.value(.object(result)) }
            if let detail = outcome.detail { fields["detail"] = .string(detail) }
            guard record("tool.result", fields) != nil else {
                return Self.rpcError(id: id, RPCError.internalError, "the provenance log is unavailable: the result is withheld", status: 503)
            }
            result["_meta"] = meta
            return Self.rpcResult(id: id, JSONWriter.encode(.object(result)))
        }
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `{"id":…,"jsonrpc":"2.0","result":…}` around an already-encoded result.
    static func rpcResult(id: JSON, _ result: [UInt8]) -> BrokerResponse {
        var out: [UInt8] = []
        out.reserveCapacity(result.count + 48)
        out.append(contentsOf: "{\"id\":".utf8)
        JSONWriter.append(id, to: &out)
        out.append(contentsOf: ",\"jsonrpc\":\"2.0\",\"result\":".utf8)
        out.append(contentsOf: result)
        out.append(UInt8(ascii: "}"))
        return .json(out)
    }

    static func rpcError(id: JSON, _ code: Int, _ message: String, status: Int = 200) -> BrokerResponse {
        let body: JSON = ["jsonrpc": "2.0", "id": id, "error": ["code": .number(JSONNumber(code)), "message": .string(message)]]
        return .json(JSONWriter.encode(body), status: status)
    }
}

import AgentrunJSON

/// An error answer of the broker's own routes: an HTTP status and the JSON body
/// `{"error": {"code", "message", "rule_id"?, "retry"}}` (docs/broker.md, "Errors").
struct BrokerHTTPError: Error, Sendable {
    enum Code: String, Sendable {
        case invalidArgument = "invalid_argument"
        case unauthenticated
        case permissionDenied = "permission_denied"
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case resourceExhausted = "resource_exhausted"
        case unavailable
        case internalError = "internal"
    }

    var status: Int
    var code: Code
    var message: String
    var ruleID: String?
    /// Whether the same request may succeed later (`backoff`) or never will (`never`).
    var retryable: Bool
    /// Extra response headers (`Allow` for 405).
    var headers: [(String, String)] = []

    init(status: Int, _ code: Code, _ message: String, ruleID: String? = nil, retryable: Bool = false) {
        self.status = status
        self.code = code
        self.message = message
        self.ruleID = ruleID
        self.retryable = retryable
    }

    var body: [UInt8] {
        var error: [String: JSON] = [
            "code": .string(code.rawValue), "message": .string(message), "retry": .string(retryable ? "backoff" : "never"),
        ]
        if let ruleID { error["rule_id"] = .string(ruleID) }
        var out = JSONWriter.encode(["error": .object(error)])
        out.append(UInt8(ascii: "\n"))
        return out
    }

    static func badRequest(_ message: String) -> Self { .init(status: 400, .invalidArgument, message) }
    static func notFound(_ message: String) -> Self { .init(status: 404, .notFound, message) }
    static func methodNotAllowed(_ method: String, allow: String) -> Self {
        var e = Self(status: 405, .methodNotAllowed, "method \(method) is not allowed here; use \(allow)")
        e.headers = [("Allow", allow)]
        return e
    }
    /// The provenance log refused the record: nothing was done (fail closed).
    static func unrecorded(_ detail: String) -> Self {
        .init(status: 503, .unavailable, "the provenance log is unavailable, so nothing was done: \(detail)")
    }
}

/// The textual reason phrase of the statuses the broker sends.
enum HTTPReason {
    static func phrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 202: "Accepted"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    /// A complete `Connection: close` response as raw bytes, for answers written below the HTTP
    /// codec (peer refusal, connection limit, timeouts, oversized requests).
    static func rawClosingResponse(_ error: BrokerHTTPError) -> [UInt8] {
        let body = error.body
        var text = "HTTP/1.1 \(error.status) \(phrase(error.status))\r\n"
        text += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        return Array(text.utf8) + body
    }
}

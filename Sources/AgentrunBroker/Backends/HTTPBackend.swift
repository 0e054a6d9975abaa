import AgentrunJSON
import AgentrunPolicy
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// `backend.http:` one HTTP/1.1 request per call over NIO (TLS through NIOSSL with the system
/// trust store and SNI): URL and headers from templates (secrets injected host-side), the
/// arguments as a JSON body when asked. Redirects are not followed; the body is capped; a
/// status >= 400 is an error. Secret values are scrubbed from everything returned.
struct HTTPBackend: ToolBackend {
    let spec: HTTPBackendSpec
    let method: HTTPMethod
    let url: HTTPURLTemplate
    /// Header name and value template, in the profile's order (sorted by name).
    let headers: [(name: String, value: Template)]
    let secrets: SecretStore
    let scrubber: SecretScrubber
    let group: any EventLoopGroup
    let tls: NIOSSLContext?

    /// Headers the backend itself sets (a profile must not override framing or the target).
    static let reservedHeaders: Set<String> = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"]

    init(
        spec: HTTPBackendSpec, secrets: SecretStore, scrubber: SecretScrubber, group: any EventLoopGroup,
        tlsConfiguration: TLSConfiguration
    ) throws(Template.Failure) {
        guard ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(spec.method) else {
            throw .init("the method \(spec.method) is not one of GET, POST, PUT, PATCH, DELETE")
        }
        method = HTTPMethod(rawValue: spec.method)
        url = try HTTPURLTemplate(parsing: spec.url)
        var headers: [(name: String, value: Template)] = []
        for name in spec.headers.keys.sorted() {
            guard !name.isEmpty, name.utf8.allSatisfy(HTTPBackend.isTokenByte) else {
                throw .init("`\(name)` is not a valid header name")
            }
            guard !HTTPBackend.reservedHeaders.contains(name.lowercased()) else {
                throw .init("the header \(name) is set by the backend itself")
            }
            let value: Template
            do {
                value = try Template(parsing: spec.headers[name] ?? "")
            } catch {
                throw .init("header \(name): \(error.message)")
            }
            for case .literal(let text) in value.parts where HTTPBackend.hasForbiddenHeaderByte(text) {
                throw .init("header \(name): CR, LF or NUL in the value")
            }
            headers.append((name, value))
        }
        for template in [url.path] + (url.query.map { [$0] } ?? []) + headers.map(\.value) {
            for name in template.secretNames where secrets[name] == nil {
                throw .init("the secret `\(name)` is not a loaded `type: secret` credential")
            }
        }
        guard spec.maxResponse >= 0 else { throw .init("`max_response` is negative") }
        self.spec = spec
        self.headers = headers
        self.secrets = secrets
        self.scrubber = scrubber
        self.group = group
        if url.isTLS {
            do {
                tls = try NIOSSLContext(configuration: tlsConfiguration)
            } catch {
                throw .init("cannot set up TLS: \(error)")
            }
        } else {
            tls = nil
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    static func hasForbiddenHeaderByte(_ text: String) -> Bool {
        text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }
    }

    /// The request for `arguments`, or why it cannot be made.
    func request(for arguments: JSON) throws(Template.Failure) -> HTTPOutgoingRequest {
        let target = try url.requestTarget(arguments: arguments, secrets: secrets)
        var fields = HTTPHeaders()
        fields.add(name: "Host", value: url.hostHeader)
        fields.add(name: "User-Agent", value: "agentrun")
        fields.add(name: "Connection", value: "close")
        var body: [UInt8]?
        if spec.sendArguments {
            body = arguments.serialized()
            if !spec.headers.keys.contains(where: { $0.lowercased() == "content-type" }) {
                fields.add(name: "Content-Type", value: "application/json")
            }
        }
        for (name, template) in headers {
            let value = try template.render(arguments: arguments, secrets: secrets)
            guard !HTTPBackend.hasForbiddenHeaderByte(value) else {
                throw .init("the value of the header \(name) would contain CR, LF or NUL")
            }
            fields.add(name: name, value: value)
        }
        if let body {
            fields.add(name: "Content-Length", value: String(body.count))
        } else if method == .POST || method == .PUT || method == .PATCH {
            fields.add(name: "Content-Length", value: "0")
        }
        return HTTPOutgoingRequest(
            head: HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: fields), body: body
        )
    }

    func call(arguments: JSON, timeout: Double) async -> ToolCallResult {
        let request: HTTPOutgoingRequest
        do {
            request = try self.request(for: arguments)
        } catch {
            return .failure(scrubber.scrub(error.message))
        }
        let seconds = effectiveTimeout(timeout, spec.timeout)
        let response: HTTPIncomingResponse
        do {
            response = try await exchange(request, timeout: seconds)
        } catch let failure as HTTPExchangeFailure {
            switch failure {
            case .timeout:
                return .failure("the HTTP request timed out after \(formatSeconds(seconds)) s", status: .timeout)
            case .responseTooLarge:
                return .failure("the HTTP response is larger than max_response (\(spec.maxResponse) bytes)")
            case .closedEarly:
                return .failure("the server closed the connection before the response was complete")
            }
        } catch {
            return .failure(scrubber.scrub("the HTTP request to \(url.hostHeader) failed: \(error)"))
        }
        return result(of: response)
    }

    private func result(of response: HTTPIncomingResponse) -> ToolCallResult {
        let code = response.head.status.code
        let body = scrubber.text(response.body)
        let detail = "HTTP \(code), \(response.body.count) bytes"
        if code >= 400 {
            var content: [JSON] = [.text("the server answered HTTP \(code) \(scrubber.scrub(response.head.status.reasonPhrase))")]
            if !body.isEmpty { content.append(.text(body)) }
            return ToolCallResult(content: content, isError: true, status: .error, detail: detail)
        }
        var structured: JSON?
        if let type = response.head.headers.first(name: "content-type"), HTTPBackend.isJSONMediaType(type),
            let parsed = try? JSON.parse(response.body), parsed.objectValue != nil
        {
            structured = scrubber.scrub(parsed)
        }
        return ToolCallResult(content: [.text(body)], structuredContent: structured, isError: false, status: .ok, detail: detail)
    }

    /// `application/json` or any `+json` type, parameters ignored.
    static func isJSONMediaType(_ value: String) -> Bool {
        let type = value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces.lowercased() } ?? ""
        return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }

    /// Connects, sends the request, collects the response; one connection per call.
    private func exchange(_ request: HTTPOutgoingRequest, timeout: Double) async throws -> HTTPIncomingResponse {
        let loop = group.next()
        let promise = loop.makePromise(of: HTTPIncomingResponse.self)
        let nanoseconds = Int64(min(timeout, 1e6) * 1e9)
        let timer = loop.scheduleTask(in: .nanoseconds(nanoseconds)) { promise.fail(HTTPExchangeFailure.timeout) }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        let tls = self.tls
        let serverName = HTTPBackend.isIPAddress(url.host) ? nil : url.host
        let maxResponse = spec.maxResponse
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(nanoseconds))
            .channelInitializer { channel in
                do {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPExchangeHandler(request: request, maxBody: maxResponse, promise: promise)
                    )
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        bootstrap.connect(host: url.host, port: url.port).whenComplete { result in
            switch result {
            case .failure(let error): promise.fail(error)
            case .success(let channel): promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            }
        }
        return try await promise.futureResult.get()
    }

    static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
    }
}

struct HTTPOutgoingRequest: Sendable {
    var head: HTTPRequestHead
    var body: [UInt8]?
}

struct HTTPIncomingResponse: Sendable {
    var head: HTTPResponseHead
    var body: [UInt8]
}

enum HTTPExchangeFailure: Error {
    case timeout
    case responseTooLarge
    case closedEarly
}

/// Sends one request when the connection is up and collects the response (at most `maxBody`
/// bytes of body) into the promise. Runs on the channel's event loop only.
final class HTTPExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPOutgoingRequest
    private let maxBody: Int
    private let promise: EventLoopPromise<HTTPIncomingResponse>
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var finished = false

    init(request: HTTPOutgoingRequest, maxBody: Int, promise: EventLoopPromise<HTTPIncomingResponse>) {
        self.request = request
        self.maxBody = maxBody
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let bytes = request.body {
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
        case .body(var buffer):
            guard body.count + buffer.readableBytes <= maxBody else {
                finish(context, .failure(HTTPExchangeFailure.responseTooLarge))
                return
            }
            if let bytes = buffer.readBytes(length: buffer.readableBytes) { body.append(contentsOf: bytes) }
        case .end:
            if let head {
                finish(context, .success(HTTPIncomingResponse(head: head, body: body)))
            } else {
                finish(context, .failure(HTTPExchangeFailure.closedEarly))
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context, .failure(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(HTTPExchangeFailure.closedEarly))
        context.fireChannelInactive()
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<HTTPIncomingResponse, any Error>) {
        guard !finished else { return }
        finished = true
        promise.completeWith(result)
        context.close(promise: nil)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}

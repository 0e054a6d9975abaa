import NIOCore
import NIOHTTP1

/// One complete request as a route sees it.
struct BrokerRequest {
    var route: BrokerRoute
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var peer: PeerIdentity

    /// The body's bytes (empty when there is none).
    var bodyBytes: [UInt8] {
        guard let body else { return [] }
        return body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? []
    }
}

/// A response: status, JSON body (nil = no body, as for 202), extra headers.
struct BrokerResponse: Sendable {
    var status: Int
    var body: [UInt8]?
    var headers: [(String, String)] = []

    static func json(_ body: [UInt8], status: Int = 200) -> Self { .init(status: status, body: body) }
    static func error(_ e: BrokerHTTPError) -> Self { .init(status: e.status, body: e.body, headers: e.headers) }
}

/// What a route produces: an answer now (on the event loop), or work that must leave it (JWT
/// signing, tool backends).
enum BrokerOutcome {
    case now(BrokerResponse)
    case later(@Sendable () async -> BrokerResponse)
}

/// The broker's routes.
enum BrokerRoute: Sendable {
    case mcp, credentials, jwks, session, check

    /// The route of a path and the method it takes; nil = unknown path.
    static func lookup(_ uri: String) -> (route: BrokerRoute, method: HTTPMethod)? {
        var path = Substring(uri)
        if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<q] }
        switch path {
        case "/mcp": return (.mcp, .POST)
        case "/v1/credentials": return (.credentials, .POST)
        case "/v1/jwks": return (.jwks, .GET)
        case "/v1/session": return (.session, .GET)
        case "/v1/check": return (.check, .POST)
        default: return nil
        }
    }
}

/// Assembles requests within the limits, checks the request-forgery header and the route, hands
/// complete requests to `BrokerService`, and writes the answers in order. One request at a time
/// per connection: while one is handled, reads stop and pipelined parts wait.
final class HTTPRequestHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The header every request must carry (a browser cannot add it to a cross-site request).
    static let guardHeader = "AgentRun-Request"

    private enum Phase {
        case idle
        case collecting(head: HTTPRequestHead, route: BrokerRoute?, body: ByteBuffer?, rejection: BrokerHTTPError?, bytes: Int)
        case processing
    }

    private let state: ConnectionState
    private let service: BrokerService
    private var phase = Phase.idle
    private var pending: [HTTPServerRequestPart] = []
    private var readHeld = false

    init(state: ConnectionState, service: BrokerService) {
        self.state = state
        self.service = service
    }

    /// A request is being received or handled (shutdown lets it finish).
    var isBusy: Bool {
        if case .idle = phase { return !pending.isEmpty }
        return true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .processing = phase {
            pending.append(part)
            return
        }
        handle(part, context: context)
    }

    func read(context: ChannelHandlerContext) {
        if case .processing = phase {
            readHeld = true
            return
        }
        context.read()
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        if state.closing { return }
        switch (part, phase) {
        case (.head(let head), .idle):
            state.phase = .headReceived
            var rejection: BrokerHTTPError?
            let found = BrokerRoute.lookup(head.uri)
            if head.headers.first(name: Self.guardHeader) != "1" {
                rejection = .badRequest("every request must carry the header '\(Self.guardHeader): 1'")
            } else if let found, found.method != head.method {
                rejection = .methodNotAllowed(head.method.rawValue, allow: found.method.rawValue)
            } else if found == nil {
                rejection = .notFound("no route \(head.method.rawValue) \(head.uri.prefix(200))")
            }
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }), length > service.limits.maxBodyBytes {
                failAndClose(context, Self.tooLarge(service.limits))
                return
            }
            phase = .collecting(head: head, route: found?.route, body: nil, rejection: rejection, bytes: 0)
        case (.body(var chunk), .collecting(let head, let route, var body, let rejection, var bytes)):
            bytes += chunk.readableBytes
            if bytes > service.limits.maxBodyBytes {
                failAndClose(context, Self.tooLarge(service.limits))
                return
            }
            if rejection == nil {
                if var existing = body {
                    existing.writeBuffer(&chunk)
                    body = existing
                } else {
                    body = chunk
                }
            }
            phase = .collecting(head: head, route: route, body: body, rejection: rejection, bytes: bytes)
        case (.end, .collecting(let head, let route, let body, let rejection, _)):
            phase = .processing
            state.phase = .processing
            let keepAlive = head.isKeepAlive
            if let rejection {
                respond(.error(rejection), keepAlive: keepAlive, context: context)
                return
            }
            guard let route, let peer = state.peer else {
                failAndClose(context, BrokerHTTPError(status: 500, .internalError, "request without a route or peer"))
                return
            }
            let request = BrokerRequest(route: route, head: head, body: body, peer: peer)
            switch service.handle(request) {
            case .now(let response):
                respond(response, keepAlive: keepAlive, context: context)
            case .later(let work):
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let loop = context.eventLoop
                Task {
                    let response = await work()
                    loop.execute {
                        let (handler, context) = loopBound.value
                        handler.respond(response, keepAlive: keepAlive, context: context)
                    }
                }
            }
        default:
            failAndClose(context, .badRequest("malformed HTTP message sequence"))
        }
    }

    static func tooLarge(_ limits: BrokerLimits) -> BrokerHTTPError {
        BrokerHTTPError(status: 413, .invalidArgument, "the request body exceeds \(limits.maxBodyBytes) bytes")
    }

    private func respond(_ response: BrokerResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        guard !state.closing, context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.reserveCapacity(4 + response.headers.count)
        if let body = response.body {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.count))
        } else {
            headers.add(name: "Content-Length", value: "0")
        }
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: response.status, reasonPhrase: HTTPReason.phrase(response.status)),
            headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = response.body, !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        if !keepAlive {
            state.closing = true
            context.writeAndClose(wrapOutboundOut(.end(nil)))
            return
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        phase = .idle
        context.triggerUserOutboundEvent(RequestFinished(pendingInput: !pending.isEmpty), promise: nil)
        while !pending.isEmpty {
            if case .processing = phase { break }
            if state.closing { return }
            handle(pending.removeFirst(), context: context)
        }
        if case .processing = phase { return }
        if readHeld {
            readHeld = false
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parse = error as? HTTPParserError {
            if case .headerOverflow = parse {
                failAndClose(
                    context,
                    BrokerHTTPError(
                        status: 431, .invalidArgument,
                        "too many or too large headers (at most \(service.limits.maxHeaderCount) headers, \(service.limits.maxHeaderBytes) bytes)"
                    ))
            } else {
                failAndClose(context, .badRequest("malformed HTTP request: \(parse)"))
            }
            return
        }
        context.close(promise: nil)
    }

    /// An error answer through the HTTP encoder, then close.
    private func failAndClose(_ context: ChannelHandlerContext, _ error: BrokerHTTPError) {
        guard !state.closing else { return }
        state.closing = true
        state.requestTimer?.cancel()
        let body = error.body
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        for (name, value) in error.headers { headers.add(name: name, value: value) }
        let head = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: error.status, reasonPhrase: HTTPReason.phrase(error.status)),
            headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndClose(wrapOutboundOut(.end(nil)))
    }
}

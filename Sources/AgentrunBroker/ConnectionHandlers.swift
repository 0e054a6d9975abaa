import AgentrunProvenance
import CAgentrunShim
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Open connections across the broker (the `maxConnections` limit).
final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)
    /// Takes a slot; false (nothing taken) when all `limit` are in use.
    func acquire(limit: Int) -> Bool {
        let now = count.add(1, ordering: .relaxed).newValue
        if now > limit {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }
    func release() { count.subtract(1, ordering: .relaxed) }
    var current: Int { count.load(ordering: .relaxed) }
}

/// What the handlers of one connection share. Event-loop bound: only touched on the channel's loop.
final class ConnectionState {
    var peer: PeerIdentity?
    /// Where the current request is, for the timers.
    enum Phase { case idle, receiving, headReceived, processing }
    var phase = Phase.idle
    /// Raw bytes read since the current request began.
    var requestBytes = 0
    var requestTimer: Scheduled<Void>?
    var idleTimer: Scheduled<Void>?
    var closing = false
}

/// First handler of every accepted connection: the connection limit and the peer check, before
/// any byte is read. Reads are held back until the peer is authenticated; a refused peer gets a
/// 403 (best effort) and the connection is closed and recorded as `broker.refused`.
final class PeerGateHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: ConnectionState
    private let service: BrokerService
    private let counter: ConnectionCounter
    private var authenticated = false
    private var holdingRead = false
    private var hasSlot = false

    init(state: ConnectionState, service: BrokerService, counter: ConnectionCounter) {
        self.state = state
        self.service = service
        self.counter = counter
    }

    func channelActive(context: ChannelHandlerContext) {
        guard counter.acquire(limit: service.limits.maxConnections) else {
            refuseAndClose(
                context,
                BrokerHTTPError(
                    status: 503, .resourceExhausted,
                    "too many open connections to the broker (limit \(service.limits.maxConnections))", retryable: true))
            return
        }
        hasSlot = true
        context.fireChannelActive()
        authenticate(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if hasSlot {
            hasSlot = false
            counter.release()
        }
        context.fireChannelInactive()
    }

    private func authenticate(_ context: ChannelHandlerContext) {
        guard let provider = context.channel as? any SocketOptionProvider else {
            refuse(context, PeerRefusal(reason: "the connection offers no socket options"))
            return
        }
        let credFuture: EventLoopFuture<ar_peer_cred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(AR_SO_PEERCRED))
        let pidfdFuture: EventLoopFuture<Int32> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(AR_SO_PEERPIDFD))
        let expected = service.sandboxPIDNamespace
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        credFuture.and(pidfdFuture.map { Optional($0) }.recover { _ in nil }).whenComplete { result in
            let (handler, context) = loopBound.value
            switch result {
            case .failure(let error):
                handler.refuse(context, PeerRefusal(reason: "SO_PEERCRED failed: \(error)"))
            case .success(let (cred, pidfd)):
                let outcome = PeerAuthenticator.authenticate(cred: cred, peerPIDFD: pidfd, expected: expected)
                if let pidfd, pidfd >= 0 { Glibc.close(pidfd) }
                switch outcome {
                case .failure(let refusal): handler.refuse(context, refusal)
                case .success(let identity): handler.admit(context, identity)
                }
            }
        }
    }

    private func admit(_ context: ChannelHandlerContext, _ identity: PeerIdentity) {
        state.peer = identity
        authenticated = true
        if holdingRead {
            holdingRead = false
            context.read()
        }
    }

    private func refuse(_ context: ChannelHandlerContext, _ refusal: PeerRefusal) {
        service.recordRefusal(refusal)
        refuseAndClose(context, BrokerHTTPError(status: 403, .permissionDenied, "this socket serves only the processes of its run"))
    }

    private func refuseAndClose(_ context: ChannelHandlerContext, _ error: BrokerHTTPError) {
        state.closing = true
        let bytes = HTTPReason.rawClosingResponse(error)
        let buffer = context.channel.allocator.buffer(bytes: bytes)
        context.writeAndClose(wrapOutboundOut(buffer))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard authenticated, !state.closing else { return }  // nothing of an unauthenticated peer is parsed
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        guard authenticated else {
            holdingRead = true
            return
        }
        context.read()
    }
}

/// Below the HTTP decoder: the request timeout (a request must arrive completely within
/// `requestTimeout` of its first byte, else 408 and close), the idle keep-alive timeout, and a
/// hard cap on the raw bytes of one request (the decoder's own limits count header names and
/// values only, not the request line).
final class RequestTimingHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: ConnectionState
    private let limits: BrokerLimits

    init(state: ConnectionState, limits: BrokerLimits) {
        self.state = state
        self.limits = limits
    }

    func channelActive(context: ChannelHandlerContext) {
        scheduleIdle(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.requestTimer?.cancel()
        state.idleTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state.closing { return }
        let buffer = unwrapInboundIn(data)
        if state.phase == .idle { beginRequest(context) }
        // Everything read so far went to the decoder without completing a head: it is too long.
        if state.phase == .receiving, state.requestBytes > limits.maxHeaderBytes + 8192 {
            failAndClose(
                context,
                BrokerHTTPError(
                    status: 431, .invalidArgument, "the request line and headers exceed \(limits.maxHeaderBytes) bytes"))
            return
        }
        state.requestBytes += buffer.readableBytes
        if state.requestBytes > limits.maxHeaderBytes + limits.maxBodyBytes + 16384, state.phase != .processing {
            failAndClose(context, BrokerHTTPError(status: 413, .invalidArgument, "the request exceeds \(limits.maxBodyBytes) bytes"))
            return
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let finished = event as? RequestFinished {
            requestFinished(context: context, pendingInput: finished.pendingInput)
            promise?.succeed(())
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    /// A response has been written and the connection stays open.
    private func requestFinished(context: ChannelHandlerContext, pendingInput: Bool) {
        state.requestTimer?.cancel()
        state.requestTimer = nil
        state.phase = .idle
        state.requestBytes = 0
        if pendingInput {
            beginRequest(context)
        } else {
            scheduleIdle(context)
        }
    }

    private func beginRequest(_ context: ChannelHandlerContext) {
        state.idleTimer?.cancel()
        state.idleTimer = nil
        state.phase = .receiving
        state.requestBytes = 0
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        state.requestTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(limits.requestTimeout * 1e9))) {
            let (handler, context) = loopBound.value
            guard handler.state.phase == .receiving || handler.state.phase == .headReceived else { return }
            handler.failAndClose(
                context,
                BrokerHTTPError(
                    status: 408, .invalidArgument,
                    "the request did not arrive completely within \(self.limits.requestTimeout) seconds"))
        }
    }

    private func scheduleIdle(_ context: ChannelHandlerContext) {
        state.idleTimer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        state.idleTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(limits.idleTimeout * 1e9))) {
            let (handler, context) = loopBound.value
            guard handler.state.phase == .idle, !handler.state.closing else { return }
            handler.state.closing = true
            context.close(promise: nil)
        }
    }

    /// Writes a closing error response straight to the socket (under the HTTP codec) and closes.
    func failAndClose(_ context: ChannelHandlerContext, _ error: BrokerHTTPError) {
        guard !state.closing else { return }
        state.closing = true
        state.requestTimer?.cancel()
        let buffer = context.channel.allocator.buffer(bytes: HTTPReason.rawClosingResponse(error))
        context.writeAndClose(wrapOutboundOut(buffer))
    }
}

/// Sent (as an outbound user event) by the HTTP handler to the timing handler after each response.
struct RequestFinished {
    /// Bytes of a next (pipelined) request already arrived.
    var pendingInput: Bool
}

extension ChannelHandlerContext {
    /// Writes, flushes, then closes once the write is done (or failed).
    func writeAndClose(_ data: NIOAny) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        writeAndFlush(data).whenComplete { _ in bound.value.close(promise: nil) }
    }
}

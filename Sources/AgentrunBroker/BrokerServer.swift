import AgentrunJSON
import AgentrunPolicy
import AgentrunProvenance
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The running broker: serves the sandbox's listening socket on a small NIO event loop group
/// until `shutdown()`.
public final class Broker: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let serverChannel: any Channel
    private let service: BrokerService
    private let counter: ConnectionCounter
    private let openChannels: ChannelRegistry
    /// The backends `start(_:)` made (stopped at shutdown); nil when the caller supplied its own.
    private let backends = Mutex<ToolBackends?>(nil)

    private init(
        group: MultiThreadedEventLoopGroup, serverChannel: any Channel, service: BrokerService, counter: ConnectionCounter,
        openChannels: ChannelRegistry
    ) {
        self.group = group
        self.serverChannel = serverChannel
        self.service = service
        self.counter = counter
        self.openChannels = openChannels
    }

    /// Starts serving `config.listenerFD` (which the broker owns from here on, closed at shutdown):
    /// builds the policy engine and the tool backends (starting the upstream MCP servers and
    /// learning their tools) first; any failure stops what was started and throws.
    public static func start(_ config: BrokerConfiguration) throws(BrokerError) -> Broker {
        let engine = ToolPolicyEngine(policy: config.profile.broker, now: { Double(BrokerService.monotonicNanoseconds()) / 1e9 })
        let backends = ToolBackends(policy: config.profile.broker, secrets: config.secrets)
        let started: Result<Void, BrokerError> = blocking {
            do throws(BrokerError) {
                try await backends.start()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let error) = started {
            blocking { await backends.shutdown() }
            close(config.listenerFD)
            throw error
        }
        var byServer: [String: [String]] = [:]
        for tool in backends.upstreamTools { byServer[tool.server, default: []].append(tool.upstreamName) }
        for server in config.profile.broker.mcpServers { engine.setUpstreamTools(server: server.name, tools: byServer[server.name] ?? []) }
        do {
            let broker = try start(config, policy: engine, tools: backends)
            broker.backends.withLock { $0 = backends }
            return broker
        } catch {
            blocking { await backends.shutdown() }
            throw error
        }
    }

    /// Runs async work to completion from a plain thread (the supervisor's), never from a task.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        Task {
            box.set(await body())
        }
        return box.wait()
    }

    /// Starts with explicit policy and tool seams (tests; `start(_:)` passes the real ones).
    static func start(
        _ config: BrokerConfiguration, policy: any ToolPolicyEvaluating, tools: any ToolRunning
    ) throws(BrokerError) -> Broker {
        let fd = config.listenerFD
        guard fd >= 0 else { throw BrokerError("the broker's listening socket is not open") }
        // withBoundSocket does not call listen(); calling it again on a listening socket only sets the backlog.
        guard listen(fd, 256) == 0 else {
            let err = errno
            close(fd)
            throw BrokerError("listen on the broker socket failed: \(PeerAuthenticator.describe(err))")
        }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)

        let service = BrokerService(
            limits: config.limits, sandboxPIDNamespace: config.sandboxPIDNamespace, writer: config.writer, policy: policy,
            tools: tools, runKey: config.runKey, runID: config.runID, profile: config.profile,
            profileDigest: config.profileDigest, expiresAt: config.expiresAt)
        let counter = ConnectionCounter()
        let openChannels = ChannelRegistry()
        let limits = config.limits
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldCount = limits.maxHeaderCount
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    openChannels.add(channel)
                    let state = ConnectionState()
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(PeerGateHandler(state: state, service: service, counter: counter))
                    try sync.addHandler(RequestTimingHandler(state: state, limits: limits))
                    try sync.addHandler(
                        ByteToMessageHandler(
                            HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: decoderLimits)))
                    try sync.addHandler(HTTPResponseEncoder())
                    try sync.addHandler(HTTPRequestHandler(state: state, service: service))
                }
            }
        let channel: any Channel
        do {
            channel = try bootstrap.withBoundSocket(fd).wait()
        } catch {
            close(fd)
            try? group.syncShutdownGracefully()
            throw BrokerError("cannot serve the broker socket: \(error)")
        }
        return Broker(group: group, serverChannel: channel, service: service, counter: counter, openChannels: openChannels)
    }

    /// Stops accepting, gives requests in flight up to `grace` seconds, closes every connection
    /// and stops the event loop threads. Call once, from a thread that is not one of the broker's.
    public func shutdown(grace: Double = 2) {
        try? serverChannel.close().wait()
        let deadline = BrokerService.monotonicNanoseconds() + UInt64(max(0, grace) * 1e9)
        // Idle connections close now; busy ones get the grace period to answer.
        for channel in openChannels.all {
            channel.eventLoop.execute {
                if let handler = try? channel.pipeline.syncOperations.handler(type: HTTPRequestHandler.self), !handler.isBusy {
                    channel.close(promise: nil)
                }
            }
        }
        while BrokerService.monotonicNanoseconds() < deadline, !openChannels.all.isEmpty {
            usleep(5_000)
        }
        for channel in openChannels.all {
            try? channel.close().wait()
        }
        try? group.syncShutdownGracefully()
        if let backends = backends.withLock({ value -> ToolBackends? in
            defer { value = nil }
            return value
        }) {
            Self.blocking { await backends.shutdown() }
        }
    }

    /// Connections open right now.
    public var openConnections: Int { counter.current }
}

/// A counting semaphore for a plain thread (the supervisor's) to wait on a task, from pthreads
/// (the mutex and condition live at fixed heap addresses, as pthreads requires).
final class ThreadSemaphore: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var count = 0

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func signal() {
        pthread_mutex_lock(mutex)
        count += 1
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    func wait() {
        pthread_mutex_lock(mutex)
        while count == 0 { pthread_cond_wait(condition, mutex) }
        count -= 1
        pthread_mutex_unlock(mutex)
    }
}

/// One value handed from a task to a waiting plain thread.
final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)
    private let semaphore = ThreadSemaphore()

    func set(_ v: T) {
        value.withLock { $0 = v }
        semaphore.signal()
    }

    func wait() -> T {
        while true {
            semaphore.wait()
            if let v = value.withLock({ $0 }) { return v }
        }
    }
}

/// The open connections, for shutdown.
final class ChannelRegistry: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = channels.withLock { $0.removeValue(forKey: key) } }
    }

    var all: [any Channel] { channels.withLock { Array($0.values) } }
}

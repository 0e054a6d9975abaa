import AgentrunJSON
import AgentrunPolicy
import AgentrunProvenance
import Foundation
import Testing

@testable import AgentrunBroker

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct ServerTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A broker serving a Unix socket in a private temporary directory, with its log.
final class TestBroker: @unchecked Sendable {
    let directory: String
    let socketPath: String
    let logPath: String
    let writer: ProvenanceWriter
    let runKey: RunKey
    let broker: Broker
    let runID = "run-test-0001"
    private var stopped = false

    /// Builds the broker on a plain thread: `Broker.start` waits for the backends' async start.
    static func make(
        limits: BrokerLimits = BrokerLimits(), pidNamespace: (device: UInt64, inode: UInt64)? = nil
    ) async throws -> TestBroker {
        try await onThread { try TestBroker(limits: limits, pidNamespace: pidNamespace) }
    }

    static func ownPIDNamespace() -> (device: UInt64, inode: UInt64) {
        var st = stat()
        stat("/proc/self/ns/pid", &st)
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    static func defaultPolicy() -> BrokerPolicy {
        BrokerPolicy(
            credentials: [
                CredentialPolicy(
                    name: "api", kind: .jwt(JWTCredential(audiences: ["https://api.example"], scopes: ["read", "write"], maxTTL: 300))),
                CredentialPolicy(name: "github", kind: .secret(.environment("GITHUB_TOKEN"))),
            ],
            tools: [
                ToolPolicy(
                    name: "echo", description: "Echoes its arguments", inputSchema: ["type": "object"],
                    rules: [
                        ToolRule(id: "no-etc", effect: .deny, conditions: [.init(pointer: "/path", matcher: .prefix(["/etc"]))]),
                        ToolRule(id: "allow-echo", effect: .allow),
                    ], backend: .noop),
                ToolPolicy(name: "hidden", description: "not listed", backend: .noop),
            ])
    }

    init(
        limits: BrokerLimits = BrokerLimits(), policy: BrokerPolicy = TestBroker.defaultPolicy(),
        pidNamespace: (device: UInt64, inode: UInt64)? = nil, writer makeWriter: ((String, RunKey) throws -> ProvenanceWriter)? = nil
    ) throws {
        var template = Array("/tmp/agentrun-broker-test.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ServerTestFailure("mkdtemp") }
        directory = String(cString: made)
        socketPath = directory + "/agentrun.sock"
        logPath = directory + "/provenance.jsonl"
        runKey = RunKey.generate()
        if let makeWriter {
            writer = try makeWriter(logPath, runKey)
        } else {
            writer = try ProvenanceWriter.create(path: logPath, runID: runID, runKey: runKey, redactor: Redactor(secrets: []))
            try writer.append("session.start", ["profile": ["name": "test"]])
        }
        var profile = try ProfileStore(searchPaths: []).load("default")
        profile.broker = policy
        let fd = try Self.bindSocket(socketPath)
        let config = BrokerConfiguration(
            listenerFD: fd, runID: runID, profile: profile, profileDigest: String(repeating: "ab", count: 32), runKey: runKey,
            writer: writer, sandboxPIDNamespace: pidNamespace ?? Self.ownPIDNamespace(),
            secrets: SecretStore(values: ["github": "ghp_SECRETVALUE123"]), expiresAt: 4_000_000_000, limits: limits)
        broker = try Broker.start(config)
    }

    static func bindSocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerTestFailure("socket") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw ServerTestFailure("bind: \(errno)") }
        return fd
    }

    /// Shuts the broker down on a plain thread: `Broker.shutdown` blocks until the backends'
    /// async shutdown ends, which needs the concurrency pool that an async test runs on.
    func stop() async {
        guard !stopped else { return }
        stopped = true
        let broker = self.broker
        _ = try? await onThread { broker.shutdown() }
    }

    deinit {
        if !stopped {
            let broker = self.broker
            Thread.detachNewThread { broker.shutdown() }
        }
        let directory = self.directory
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 3)
            _ = try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// The log's records, parsed.
    func records() throws -> [JSON] {
        try writer.tick()
        let text = try String(contentsOfFile: logPath, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSON.parse(String($0)) }
    }

    func records(kind: String) throws -> [JSON] { try records().filter { $0["kind"]?.stringValue == kind } }
}

/// A blocking HTTP/1.1 client over a Unix socket, for tests.
final class UnixClient: @unchecked Sendable {
    let fd: Int32

    init(_ path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw ServerTestFailure("connect: \(errno)")
        }
        var tv = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var json: JSON? { try? JSON.parse(body) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private var buffer: [UInt8] = []

    /// Reads one response (Content-Length framed); nil on EOF before a complete one.
    func receive() -> Response? {
        while true {
            if let end = findHeaderEnd() {
                let headText = String(decoding: buffer[0..<end], as: UTF8.self)
                var lines = headText.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst()
                let status = Int(statusLine.split(separator: " ")[1]) ?? 0
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                while buffer.count < end + 4 + length {
                    if !fill() { return nil }
                }
                let body = Array(buffer[(end + 4)..<(end + 4 + length)])
                buffer.removeFirst(end + 4 + length)
                return Response(status: status, headers: headers, body: body)
            }
            if !fill() { return nil }
        }
    }

    /// true when the peer closed the connection (EOF) within the receive timeout.
    func isClosed() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func findHeaderEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// One request with the guard header (unless `guardHeader` is false) and a JSON body.
    func request(
        _ method: String, _ path: String, body: String? = nil, guardHeader: Bool = true, extraHeaders: [String] = []
    ) -> Response? {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: agentrun\r\n"
        if guardHeader { text += "AgentRun-Request: 1\r\n" }
        for h in extraHeaders { text += h + "\r\n" }
        if let body {
            text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        } else {
            text += "\r\n"
        }
        send(text)
        return receive()
    }
}

/// Runs blocking client work on its own thread (never on the Swift concurrency pool, which the
/// broker's own tasks need).
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

import AgentrunJSON
import AgentrunPolicy
import AgentrunProvenance

/// Everything the broker needs for one run. Built by the supervisor after the launch.
public struct BrokerConfiguration: Sendable {
    /// A listening AF_UNIX stream socket (bound inside the sandbox at `BrokerEndpoint.path`,
    /// handed out by the sandbox's init). The broker owns it from here on.
    public var listenerFD: Int32
    public var runID: String
    public var profile: Profile
    /// Lower-case hex SHA-256 of the resolved profile's canonical JSON (as in `session.start`).
    public var profileDigest: String
    /// Signs minted JWTs (EdDSA); its public half is served at /v1/jwks.
    public var runKey: RunKey
    /// Where every request's record goes (`tool.call`, `tool.result`, `tool.check`, `cred.issue`, ...).
    public var writer: ProvenanceWriter
    /// The kernel identity a peer must have: the sandbox's pid namespace (st_dev, st_ino of
    /// /proc/<init>/ns/pid). A peer in any other pid namespace is refused.
    public var sandboxPIDNamespace: (device: UInt64, inode: UInt64)
    /// Host secrets by credential name (`credentials: {name: {type: secret}}`), loaded at launch.
    public var secrets: SecretStore
    /// When the run's wall timeout ends (CLOCK_REALTIME seconds), for /v1/session; nil = no limit.
    public var expiresAt: Double?
    public var limits: BrokerLimits

    public init(
        listenerFD: Int32, runID: String, profile: Profile, profileDigest: String, runKey: RunKey, writer: ProvenanceWriter,
        sandboxPIDNamespace: (device: UInt64, inode: UInt64), secrets: SecretStore, expiresAt: Double?,
        limits: BrokerLimits = .init()
    ) {
        self.listenerFD = listenerFD
        self.runID = runID
        self.profile = profile
        self.profileDigest = profileDigest
        self.runKey = runKey
        self.writer = writer
        self.sandboxPIDNamespace = sandboxPIDNamespace
        self.secrets = secrets
        self.expiresAt = expiresAt
        self.limits = limits
    }
}

/// Where the socket lives inside the sandbox, and how the agent learns it.
public enum BrokerEndpoint {
    public static let directory = "/run/agentrun"
    public static let path = "/run/agentrun/agentrun.sock"
    /// `AGENTRUN_SOCKET` (a `unix://` URI, as SPIFFE_ENDPOINT_SOCKET is).
    public static let environmentValue = "unix://" + path
}

/// Bounds on what one client can make the broker hold.
public struct BrokerLimits: Sendable {
    /// Request line + headers, bytes.
    public var maxHeaderBytes: Int = 16 << 10
    public var maxHeaderCount: Int = 64
    /// Request body, bytes.
    public var maxBodyBytes: Int = 1 << 20
    /// Open connections at once; more are accepted and closed at once.
    public var maxConnections: Int = 128
    /// A request must arrive completely within this many seconds of its first byte.
    public var requestTimeout: Double = 10
    /// An idle keep-alive connection is closed after this many seconds.
    public var idleTimeout: Double = 60

    public init() {}
}

/// A failure to start the broker (the run does not start: fail closed).
public struct BrokerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

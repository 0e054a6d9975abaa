import AgentrunPolicy

/// The values of the profile's `type: secret` credentials, read once at launch from the
/// supervisor's environment or from files. They only ever reach host-side tool backends
/// (`{secret:NAME}` templates); the provenance redactor hides every occurrence.
public struct SecretStore: Sendable {
    public private(set) var values: [String: String]

    public init(values: [String: String] = [:]) { self.values = values }

    /// Reads every secret the profile defines. A missing variable, an unreadable or empty file
    /// is an error naming the credential and its source (the launch stops).
    public static func load(_ policy: BrokerPolicy, environment: [String: String]) throws(BrokerError) -> SecretStore {
        throw BrokerError("not implemented")
    }

    public subscript(name: String) -> String? { values[name] }
}

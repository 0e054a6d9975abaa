/// What one profile file says, before `extends` is applied. `nil` means "not set in this file":
/// the parent's value (or the model's default) is kept.
struct ProfileLayer: Sendable {
    var name: Located<String>?
    var description: String?
    var extends: Located<String>?

    var workspace: WorkspaceAccess?
    var system: ListSetting<String>?
    var readOnly: ListSetting<String>?
    var readWrite: ListSetting<String>?
    var tmpfs: ListSetting<String>?
    var protected: ListSetting<String>?
    var exec: ListSetting<ExecLocation>?
    var tmpSize: UInt64?

    var network: NetworkMode?

    var envPass: ListSetting<String>?
    /// Merged key by key into the parent's `env.set`; empty when the file sets nothing.
    var envSet: [String: String] = [:]

    var wall: LimitSetting<Double>?
    var killGrace: Double?
    var cpu: LimitSetting<Double>?
    var memory: LimitSetting<UInt64>?
    var addressSpace: LimitSetting<UInt64>?
    var processes: LimitSetting<UInt64>?
    var openFiles: LimitSetting<UInt64>?
    var fileSize: LimitSetting<UInt64>?

    var deny: ListSetting<String>?
    /// `syscalls.mediate:` (MediationValidation.swift).
    var mediate = MediationLayer()

    var landlock: LandlockMode?

    var provenanceDir: String?
    var signKey: String?
    var checkpointEvery: Int?
    var checkpointInterval: Double?
    var durability: ProvenanceDurability?
    var secrets: ListSetting<String>?

    /// Broker entries in file order; each replaces the parent's entry of the same name.
    var credentials: [CredentialPolicy] = []
    var tools: [ToolPolicy] = []
    var mcpServers: [MCPServerPolicy] = []
    /// Where broker entries and their templates were written, by key path, for the checks that
    /// run on the resolved profile (`BrokerValidation`).
    var marks: [String: YAMLMark] = [:]
}

/// A value and where it was written, for errors found after decoding (e.g. in `extends`).
struct Located<Value: Sendable>: Sendable {
    var value: Value
    var mark: YAMLMark
}

/// `KEY:` replaces the inherited list; `KEY+:` appends to it.
enum ListSetting<Element: Sendable & Equatable>: Sendable {
    case replace([Element])
    case append([Element])
}

/// A limit set to a value or to `unlimited` (both override the parent).
enum LimitSetting<Value: Sendable>: Sendable {
    case unlimited
    case value(Value)
}

import AgentrunJSON
import AgentrunPolicy
import AgentrunProvenance

/// The resolved profile as a JSON object for `session.start` (its SHA-256 identifies the policy a
/// run was under). Same keys as the YAML schema; durations in integer nanoseconds, sizes in
/// bytes, `null` for unlimited; lists in profile order (exec sorted). The broker sections
/// (`credentials`, `tools`, `mcp_servers`) are `BrokerPolicy.recordJSON`.
extension Profile {
    public var jsonValue: JSONValue {
        func strings(_ items: [String]) -> JSONValue { .array(items.map { .string($0) }) }
        let broker = Self.recordValue(broker.recordJSON)
        return [
            "name": .string(name),
            "description": .string(description),
            "filesystem": [
                "workspace": .string(filesystem.workspace.rawValue),
                "system": strings(filesystem.system),
                "read_only": strings(filesystem.readOnly),
                "read_write": strings(filesystem.readWrite),
                "tmpfs": strings(filesystem.tmpfs),
                "protected": strings(filesystem.protected),
                "exec": strings(filesystem.exec.sorted().map(\.rawValue)),
                "tmp_size": .int(Int64(clamping: filesystem.tmpSize)),
            ],
            "network": .string(network.rawValue),
            "process": [
                "env": [
                    "pass": strings(process.envPass),
                    // Values the operator set are configuration, not secrets; secrets are redacted anyway.
                    "set": .object(process.envSet.mapValues { .string($0) }),
                ]
            ],
            "limits": limits.jsonValue,
            "syscalls": [
                "deny": strings(syscalls.deny),
                "mediate": syscalls.mediate.jsonValue,
            ],
            "landlock": .string(landlock.rawValue),
            "provenance": [
                "dir": provenance.dir.map { .string($0) } ?? .null,
                "sign_key": provenance.signKey.map { .string($0) } ?? .null,
                "checkpoint_every": .int(Int64(provenance.checkpointEvery)),
                "checkpoint_interval_ns": .int(Self.nanoseconds(provenance.checkpointInterval)),
                "durability": .string(provenance.durability.rawValue),
                "secrets": strings(provenance.secrets),
            ],
            "credentials": broker["credentials"] ?? [:],
            "tools": broker["tools"] ?? [:],
            "mcp_servers": broker["mcp_servers"] ?? [:],
        ]
    }

    /// `recordJSON` holds integers only; any other number (none today) is kept as its text.
    static func recordValue(_ json: JSON) -> JSONValue {
        switch json {
        case .null: .null
        case .bool(let b): .bool(b)
        case .number(let n): n.int64.map { .int($0) } ?? .string(n.text)
        case .string(let s): .string(s)
        case .array(let items): .array(items.map(recordValue))
        case .object(let fields): .object(fields.mapValues(recordValue))
        }
    }

    static func nanoseconds(_ seconds: Double) -> Int64 {
        Int64(clamping: UInt64((seconds * 1e9).rounded()))
    }
}

extension Limits {
    public var jsonValue: JSONValue {
        func ns(_ seconds: Double?) -> JSONValue { seconds.map { .int(Profile.nanoseconds($0)) } ?? .null }
        func bytes(_ value: UInt64?) -> JSONValue { value.map { .int(Int64(clamping: $0)) } ?? .null }
        return [
            "wall_ns": ns(wall),
            "kill_grace_ns": ns(killGrace),
            "cpu_ns": ns(cpu),
            "memory": bytes(memory),
            "address_space": bytes(addressSpace),
            "processes": bytes(processes),
            "open_files": bytes(openFiles),
            "file_size": bytes(fileSize),
        ]
    }
}

extension MediationPolicy {
    /// `syscalls.mediate` with the YAML keys; rules as `{"id", "paths"}` in profile order.
    public var jsonValue: JSONValue {
        func rules(_ items: [PathRule]) -> JSONValue {
            .array(items.map { ["id": .string($0.id), "paths": .array($0.paths.map { .string($0) })] })
        }
        return [
            "record": .array(record.map { .string($0) }),
            "record_all": .bool(recordAll),
            "exact_files": .bool(exactFiles),
            "errno": .string(errno.rawValue),
            "deny_exec": rules(denyExec),
            "deny_write": rules(denyWrite),
        ]
    }
}

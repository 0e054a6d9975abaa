import AgentrunJSON
import AgentrunPolicy
import AgentrunProvenance

/// Request JSON as provenance records hold it. Records are integer-only (`JSONValue`), so a
/// number that is a plain integer fitting Int64 stays an integer and any other number (`1.5`,
/// `1e3`, `-0`, huge integers) is recorded as a string of its exact JSON text: nothing is rounded.
enum RecordValues {
    static func value(_ json: JSON) -> JSONValue {
        switch json {
        case .null: .null
        case .bool(let b): .bool(b)
        case .number(let n):
            if let i = n.int64, n.text != "-0" { .int(i) } else { .string(n.text) }
        case .string(let s): .string(s)
        case .array(let items): .array(items.map(value))
        case .object(let fields): .object(fields.mapValues(value))
        }
    }

    /// `{effect, rule_id, reason}`, as `tool.call` and `tool.check` record it.
    static func decision(_ d: ToolDecision) -> JSONValue {
        ["effect": .string(d.effect.rawValue), "rule_id": .string(d.ruleID), "reason": .string(d.reason)]
    }
}

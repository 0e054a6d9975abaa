import AgentrunJSON

/// Equality as the `eq:`/`in:` matchers and JSON Schema `enum`/`const` need it: numbers by value
/// (`1`, `1.0` and `1e0` are equal), strings by their exact Unicode scalars (no canonical
/// equivalence: the backend receives the bytes the policy saw), containers item by item.
enum JSONComparison {
    static func equal(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return numbersEqual(x, y)
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (key, value) in x {
                guard let other = y.first(where: { $0.key.utf8.elementsEqual(key.utf8) })?.value, equal(value, other) else {
                    return false
                }
            }
            return true
        default: return false
        }
    }

    static func numbersEqual(_ x: JSONNumber, _ y: JSONNumber) -> Bool {
        if x.text == y.text { return true }
        if let a = x.int64, let b = y.int64 { return a == b }
        return x.double == y.double
    }

    /// Whether a JSON number is integral (JSON Schema's `integer`: `2.0` and `1e2` are).
    static func isInteger(_ n: JSONNumber) -> Bool {
        if n.int64 != nil { return true }
        let d = n.double
        return d.isFinite && d.rounded(.towardZero) == d
    }
}

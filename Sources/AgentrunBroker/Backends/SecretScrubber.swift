import AgentrunJSON

/// Replaces every occurrence of a host secret's value with `[secret:NAME]` in what a backend
/// returns to the agent (tool output, HTTP bodies, upstream results, error messages): a tool
/// that echoes its environment or a server that reflects a header must not hand the secret
/// over. Matching is on bytes, longest secret first.
struct SecretScrubber: Sendable {
    struct Entry: Sendable {
        var name: String
        var bytes: [UInt8]
    }

    let entries: [Entry]
    /// The longest secret, in bytes (0 without secrets).
    let maxLength: Int

    init(_ secrets: SecretStore) {
        entries = secrets.values.filter { !$0.value.isEmpty }
            .map { Entry(name: $0.key, bytes: Array($0.value.utf8)) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.name < $1.name }
        maxLength = entries.first?.bytes.count ?? 0
    }

    var isEmpty: Bool { entries.isEmpty }

    /// `bytes` with every secret replaced. `dropLeading` bytes at the start are dropped (unless a
    /// whole secret starts there): used for a tail cut out of a longer stream, whose first bytes
    /// may be the end of a secret that began before the cut.
    func scrub(_ bytes: [UInt8], dropLeading: Int = 0) -> [UInt8] {
        if entries.isEmpty { return dropLeading > 0 ? Array(bytes.dropFirst(dropLeading)) : bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        bytes.withUnsafeBufferPointer { input in
            var i = 0
            let n = input.count
            scan: while i < n {
                let byte = input[i]
                for entry in entries where entry.bytes[0] == byte && n - i >= entry.bytes.count {
                    var matches = true
                    for k in 1..<entry.bytes.count where input[i + k] != entry.bytes[k] {
                        matches = false
                        break
                    }
                    if matches {
                        out.append(contentsOf: "[secret:\(entry.name)]".utf8)
                        i += entry.bytes.count
                        continue scan
                    }
                }
                if i >= dropLeading { out.append(byte) }
                i += 1
            }
        }
        return out
    }

    func scrub(_ text: String) -> String {
        if entries.isEmpty { return text }
        return String(decoding: scrub(Array(text.utf8)), as: UTF8.self)
    }

    /// Every string and object key in `value`, scrubbed.
    func scrub(_ value: JSON) -> JSON {
        if entries.isEmpty { return value }
        switch value {
        case .string(let s): return .string(scrub(s))
        case .array(let items): return .array(items.map { scrub($0) })
        case .object(let fields):
            var result: [String: JSON] = [:]
            for (key, field) in fields { result[scrub(key)] = scrub(field) }
            return .object(result)
        default: return value
        }
    }

    /// UTF-8 text of `bytes` with secrets replaced (invalid UTF-8 becomes U+FFFD).
    func text(_ bytes: [UInt8]) -> String {
        String(decoding: scrub(bytes), as: UTF8.self)
    }
}

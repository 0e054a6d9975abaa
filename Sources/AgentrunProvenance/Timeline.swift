/// `agentrun log show`: one aligned line per record, `time  kind  actor  action  decision`.
/// Every value shown comes from the agent's world (paths, argv), so control characters,
/// backslashes and bidirectional overrides are escaped: a crafted file name must not be able to
/// forge extra lines or reorder text on the reader's terminal.
public enum Timeline {
    /// `kinds` filters records: a full kind (`process.exec`), an area (`process` or `process.*`).
    public static func lines(_ records: [JSONValue], kinds: Set<String>?) -> [String] {
        let rows: [[String]] = records.compactMap { record in
            let kind = record["kind"]?.stringValue ?? "?"
            if let kinds, !matches(kind, kinds) { return nil }
            return [time(record), escape(kind), actor(record, kind: kind), action(record, kind: kind), decision(record)]
        }
        let caps = [23, 28, 32, 100]
        var widths = [0, 0, 0, 0]
        for row in rows {
            for column in 0..<4 { widths[column] = max(widths[column], min(row[column].count, caps[column])) }
        }
        return rows.map { row in
            var text = ""
            for column in 0..<4 {
                text += row[column]
                text += String(repeating: " ", count: max(widths[column] - row[column].count, 0) + 2)
            }
            text += row[4]
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
    }

    private static func matches(_ kind: String, _ kinds: Set<String>) -> Bool {
        if kinds.contains(kind) { return true }
        guard let dot = kind.firstIndex(of: ".") else { return false }
        let area = String(kind[..<dot])
        return kinds.contains(area) || kinds.contains(area + ".*")
    }

    // MARK: Columns

    /// `2026-11-29 18:10:00.123` from the RFC 3339 `ts`.
    private static func time(_ record: JSONValue) -> String {
        guard let ts = record["ts"]?.stringValue else { return "-" }
        let characters = Array(ts)
        guard characters.count >= 23, characters[10] == "T" else { return escape(ts) }
        return escape(String(characters[0..<10]) + " " + String(characters[11..<23]))
    }

    private static func actor(_ record: JSONValue, kind: String) -> String {
        switch record["actor"] {
        case .object(let actor)?:
            let pid = actor["pid"]?.intValue.map { "[\($0)]" } ?? ""
            if let exe = actor["exe"]?.stringValue {
                return escape((exe.split(separator: "/").last.map(String.init) ?? exe) + pid)
            }
            return pid.isEmpty ? escape(compact(.object(actor))) : "pid" + pid
        case .string(let name)?:
            return escape(name)
        case nil:
            return kind.hasPrefix("session.") || kind == RecordFormat.checkpoint ? "agentrun" : "-"
        case let other?:
            return escape(compact(other))
        }
    }

    private static func decision(_ record: JSONValue) -> String {
        guard let decision = record["decision"] else { return "-" }
        return escape(decision.stringValue ?? compact(decision))
    }

    private static func action(_ record: JSONValue, kind: String) -> String {
        switch kind {
        case RecordFormat.sessionStart:
            let profile = record["profile"]?["name"]?.stringValue ?? "?"
            var text = "profile \(profile)"
            if let argv = record["argv"]?.arrayValue { text += ": " + words(argv) }
            return escape(text)
        case RecordFormat.sessionEnd:
            let code = record["exit_code"]?.intValue.map(String.init) ?? "?"
            let reason = record["reason"]?.stringValue ?? "?"
            let count = record["records"]?.intValue.map { ", \($0) records" } ?? ""
            let error = record["error"]?.stringValue.map { ": \($0)" } ?? ""
            return escape("exit code \(code) (\(reason))\(count)\(error)")
        case RecordFormat.checkpoint:
            return record["final"]?.boolValue == true ? "final checkpoint (log sealed)" : "checkpoint"
        case "process.exec":
            return escape(words(record["argv"]?.arrayValue ?? []))
        case "process.exit":
            var text = record["reason"]?.stringValue ?? "exited"
            if let status = record["status"]?.intValue { text += ", status \(status)" }
            if let signal = record["signal"]?.intValue { text += ", signal \(signal)" }
            if let ns = record["duration_ns"]?.intValue { text += ", after \(seconds(ns))" }
            return escape(text)
        default:
            if kind.hasPrefix("syscall.") { return escape(syscallSummary(record)) }
            return escape(summary(record))
        }
    }

    /// A mediated syscall: what it touched (path and flags, argv, address, target), then the
    /// rule and errno of a refusal and whether the record is exact.
    private static func syscallSummary(_ record: JSONValue) -> String {
        let args = record["args"]
        var parts: [String] = []
        if let argv = record["argv"]?.arrayValue {
            parts.append((record["path"]?.stringValue.map { $0 + ": " } ?? "") + words(argv))
        } else if let path = record["path"]?.stringValue {
            var text = path
            if let newpath = args?["newpath"]?.stringValue { text += " -> " + newpath }
            if let flags = (args?["flags"] ?? record["flags"])?.arrayValue, !flags.isEmpty {
                text += " " + flags.map { $0.stringValue ?? compact($0) }.joined(separator: "|")
            }
            parts.append(text)
        } else if let addr = record["addr"] {
            let family = addr["family"]?.stringValue ?? "?"
            var text = "\(family) \(addr["address"]?.stringValue ?? "")"
            if let port = addr["port"]?.intValue { text += ":\(port)" }
            parts.append(text)
        } else if case .object(let fields)? = args {
            parts.append(fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? compact($0.value))" }.joined(separator: " "))
        }
        if let resolved = args?["resolved"]?.stringValue { parts.append("[\(resolved)]") }
        if let rule = record["rule"]?.stringValue { parts.append("rule \(rule)") }
        if let errno = record["errno"]?.stringValue { parts.append(errno) }
        if record["via"]?.stringValue == "supervisor" { parts.append("(opened by the supervisor)") }
        if record["exact"]?.boolValue == false { parts.append("(inexact)") }
        return parts.joined(separator: " ")
    }

    /// A generic record: its path (and flags) or argv when it has them, else its own members.
    private static func summary(_ record: JSONValue) -> String {
        guard case .object(var fields) = record else { return compact(record) }
        if let path = fields["path"]?.stringValue {
            var text = path
            if let flags = fields["flags"]?.arrayValue {
                text += " " + flags.map { $0.stringValue ?? compact($0) }.joined(separator: "|")
            }
            return text
        }
        if let argv = fields["argv"]?.arrayValue { return words(argv) }
        for key in RecordFormat.commonKeys.union(["actor", "decision"]) { fields[key] = nil }
        return fields.isEmpty ? "" : compact(.object(fields))
    }

    // MARK: Text

    /// argv as one line, quoting words that need it.
    private static func words(_ argv: [JSONValue]) -> String {
        argv.map { value -> String in
            guard let word = value.stringValue else { return compact(value) }
            let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { scalar in
                scalar.properties.isAlphabetic || scalar.properties.numericType != nil || "-_./=:,@%+".unicodeScalars.contains(scalar)
            }
            return plain ? word : "'" + word.replacingAll("'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }

    private static func compact(_ value: JSONValue) -> String {
        String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
    }

    private static func seconds(_ ns: Int64) -> String {
        let ms = ns / 1_000_000
        let fraction = String(ms % 1000)
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }

    /// Escapes what could mislead a terminal: C0/C1 controls and DEL, backslash, line and
    /// paragraph separators, and bidirectional formatting characters.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5c: out += "\\\\"
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0x00..<0x20, 0x7f..<0xa0, 0x2028, 0x2029, 0x061c, 0x200e, 0x200f, 0x202a...0x202e, 0x2066...0x2069:
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}

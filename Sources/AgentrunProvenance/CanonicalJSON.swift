import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The canonical form of docs/provenance.md: the bytes that are hashed and signed, so anyone can
/// re-hash a record from its decoded value. Encoding is the only place that decides byte order
/// (keys sorted by UTF-8 bytes, escapes, integer digits); `CanonicalScanner` is its inverse.
public enum CanonicalJSON {
    /// Deepest nesting a record may have (the record object itself is level 1). Readers reject
    /// deeper lines so a hostile log cannot exhaust the verifier's stack; the writer refuses them.
    public static let maxDepth = 64

    /// The canonical form of `value`, without a trailing newline.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        _ = append(value, to: &out, depth: 1)
        return out
    }

    /// Decodes one canonical JSON text. Strict: anything that is not exactly what `encode` would
    /// produce (whitespace, unsorted or duplicate keys, floats, `\/`, uppercase or unneeded
    /// `\u` escapes, leading zeros, `-0`, invalid UTF-8, a trailing newline) is rejected.
    public static func decode(_ bytes: [UInt8]) throws(ProvenanceError) -> JSONValue {
        let result: Result<JSONValue, ScanError> = bytes.withUnsafeBufferPointer { buffer in
            var scanner = CanonicalScanner(buffer)
            do throws(ScanError) {
                return .success(try scanner.document())
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw ProvenanceError(op: "decode", message: error.description)
        }
    }

    /// Lowercase hex SHA-256.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { Hex.string(RecordFormat.sha256($0)) }
    }

    // MARK: Encoding

    /// Appends the canonical form of `value`; false when it nests deeper than `maxDepth` (the
    /// output is complete either way). With a table, secrets in strings and keys are redacted as
    /// they are written (the writer's path: no redacted copy of the value is built).
    @discardableResult
    static func append(_ value: JSONValue, to out: inout [UInt8], depth: Int, redacting table: RedactionTable? = nil) -> Bool {
        switch value {
        case .null: out.append(contentsOf: literalNull)
        case .bool(let b): out.append(contentsOf: b ? literalTrue : literalFalse)
        case .int(let i): appendInt(i, to: &out)
        case .string(let s): appendString(s, to: &out, redacting: table)
        case .array(let elements):
            var ok = depth <= maxDepth
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                ok = append(element, to: &out, depth: depth + 1, redacting: table) && ok
            }
            out.append(UInt8(ascii: "]"))
            return ok
        case .object(let members):
            var ok = depth <= maxDepth
            out.append(UInt8(ascii: "{"))
            withSortedMembers(members, redacting: table) { sorted in
                for (index, member) in sorted.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    appendString(member.key, to: &out)
                    out.append(UInt8(ascii: ":"))
                    ok = append(member.value, to: &out, depth: depth + 1, redacting: table) && ok
                }
            }
            out.append(UInt8(ascii: "}"))
            return ok
        }
        return depth <= maxDepth
    }

    /// Calls `body` with the members in canonical order: keys compared as UTF-8 bytes (Swift's `<`
    /// on String compares by Unicode canonical equivalence, which is not the format's order).
    /// With a table, keys are redacted first; should two keys then coincide, the first is kept
    /// (keys must be unique). The members live in a temporary (stack) buffer: this runs for every
    /// object of every record.
    static func withSortedMembers<R>(
        _ members: [String: JSONValue], redacting table: RedactionTable?,
        _ body: (UnsafeBufferPointer<(key: String, value: JSONValue)>) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(of: (key: String, value: JSONValue).self, capacity: members.count) { buffer in
            var count = 0
            var renamed = false
            for (key, value) in members {
                if let table, let redacted = table.redact(string: key) {
                    buffer.initializeElement(at: count, to: (redacted, value))
                    renamed = true
                } else {
                    buffer.initializeElement(at: count, to: (key, value))
                }
                count += 1
            }
            if count <= 16 {
                // Records have a handful of members: an insertion sort beats the general one.
                for i in 1..<max(count, 1) {
                    var j = i
                    while j > 0, utf8Less(buffer[j].key, buffer[j - 1].key) {
                        buffer.swapAt(j, j - 1)
                        j -= 1
                    }
                }
            } else {
                buffer[0..<count].sort { utf8Less($0.key, $1.key) }
            }
            if renamed {
                var kept = min(count, 1)
                for i in 1..<max(count, 1) {
                    if buffer[i].key.utf8.elementsEqual(buffer[kept - 1].key.utf8) { continue }
                    buffer.swapAt(i, kept)
                    kept += 1
                }
                buffer.extracting(kept..<count).deinitialize()
                count = kept
            }
            defer { buffer.extracting(0..<count).deinitialize() }
            return body(UnsafeBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    static func utf8Less(_ a: String, _ b: String) -> Bool {
        var x = a.utf8.makeIterator()
        var y = b.utf8.makeIterator()
        while true {
            switch (x.next(), y.next()) {
            case let (p?, q?): if p != q { return p < q }
            case (nil, _?): return true
            default: return false
            }
        }
    }

    /// Appends `s` as a canonical JSON string (quotes included), redacted with `table` if given.
    static func appendString(_ s: String, to out: inout [UInt8], redacting table: RedactionTable? = nil) {
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { appendString(bytes: $0, to: &out, redacting: table) }
        if done == nil { Array(s.utf8).withUnsafeBufferPointer { appendString(bytes: $0, to: &out, redacting: table) } }
    }

    private static func appendString(bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8], redacting table: RedactionTable?) {
        if let table, let redacted = table.redact(bytes) {
            redacted.withUnsafeBufferPointer { appendString(utf8: $0, to: &out) }
        } else {
            appendString(utf8: bytes, to: &out)
        }
    }

    static func appendString(utf8 bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        while index < bytes.count {
            index = plainRun(bytes, from: index, stopAtNonASCII: false)
            guard index < bytes.count else { break }
            let c = bytes[index]
            if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            if runStart < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
            appendEscape(c, to: &out)
            index += 1
            runStart = index
        }
        if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        out.append(UInt8(ascii: "\""))
    }

    /// The end of the run from `start` of bytes that need no attention in a string: no quote,
    /// backslash or control character (and, when asked, nothing non-ASCII). Eight bytes at a
    /// time (SWAR): hashes, ids and paths make up most of a record.
    @inline(__always)
    static func plainRun(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, stopAtNonASCII: Bool) -> Int {
        guard let base = bytes.baseAddress else { return start }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var pos = start
        while pos + 8 <= bytes.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5c)
            // Bytes below 0x20, equal to '"' or '\\' (the classic has-less / has-zero tests: exact
            // for ASCII bytes, and a byte >= 0x80 only ever stops the run early).
            var special = ((word &- ones &* 0x20) & ~word) | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
            if stopAtNonASCII { special |= word }
            if special & highs != 0 { break }
            pos += 8
        }
        return pos
    }

    private static func appendEscape(_ c: UInt8, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        switch c {
        case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0c: out.append(UInt8(ascii: "f"))
        case 0x0a: out.append(UInt8(ascii: "n"))
        case 0x0d: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            out.append(Hex.digit(c >> 4))
            out.append(Hex.digit(c & 0x0f))
        }
    }

    static func appendInt(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var index = 20
            while magnitude > 0 {
                index -= 1
                digits[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[index..<20]))
        }
    }

    static let literalNull: [UInt8] = Array("null".utf8)
    static let literalTrue: [UInt8] = Array("true".utf8)
    static let literalFalse: [UInt8] = Array("false".utf8)
}

import Crypto
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Keeps secrets out of the log while letting a reader see that the same secret appeared twice:
/// every occurrence of a secret in any string (values and keys, at any depth) becomes
/// `hmac-sha256:<hex>`, the HMAC-SHA256 of the secret under a random per-run key that is never
/// written anywhere (a plain hash of a short secret could be brute-forced from the log).
///
/// Matching is on UTF-8 bytes. An occurrence inside a longer secret's occurrence is not replaced
/// on its own (longer secrets first). Occurrences that partly overlap (`ABCD` and `CDEF` in
/// `ABCDEF`) are replaced together by the tokens of each, in order, so no fragment of either
/// survives.
public final class Redactor: Sendable {
    private let key = SymmetricKey(size: .bits256)
    /// Every table made so far, newest last: `add` publishes a new one, and old ones stay alive
    /// while the Redactor does, so a reader never holds a freed table.
    private let tables = Mutex<[RedactionTable]>([])
    /// The newest table's address (0: no secrets). Every append reads it: a load, not a lock
    /// (16 threads contending for a mutex here took 40% of the time).
    private let newest = Atomic<UInt>(0)

    /// Empty strings are ignored.
    public init(secrets: [String]) {
        for secret in secrets { add(secret) }
    }

    /// Adds a secret (e.g. a credential value learnt at run time). Thread-safe; records appended
    /// afterwards are redacted with it.
    public func add(_ secret: String) {
        let bytes = Array(secret.utf8)
        guard !bytes.isEmpty else { return }
        let secret = RedactionTable.Secret(bytes: bytes, token: Array(token(for: secret).utf8))
        tables.withLock { tables in
            let known = tables.last?.secrets ?? []
            guard !known.contains(where: { $0.bytes == bytes }) else { return }
            let table = RedactionTable(secrets: known + [secret])
            tables.append(table)
            newest.store(UInt(bitPattern: Unmanaged.passUnretained(table).toOpaque()), ordering: .releasing)
        }
    }

    /// The replacement for `secret`, as it appears in the log.
    public func token(for secret: String) -> String {
        let mac = Array(secret.utf8).withUnsafeBytes { HMAC<SHA256>.authenticationCode(for: $0, using: key) }
        return "hmac-sha256:" + Hex.string(Array(mac))
    }

    public func redact(_ value: JSONValue) -> JSONValue {
        guard let table = snapshot() else { return value }
        return table.redact(value) ?? value
    }

    /// The current secrets, or nil when there are none (the writer's fast path).
    func snapshot() -> RedactionTable? {
        guard let address = UnsafeRawPointer(bitPattern: newest.load(ordering: .acquiring)) else { return nil }
        return Unmanaged<RedactionTable>.fromOpaque(address).takeUnretainedValue()
    }
}

/// An immutable set of secrets and the index that finds them. The writer takes one per record
/// and redacts strings while encoding them, so records are not rebuilt as values first.
final class RedactionTable: @unchecked Sendable {
    // @unchecked: the lookup tables are raw memory written only in init.
    struct Secret: Sendable {
        var bytes: [UInt8]
        var token: [UInt8]
    }

    /// Longest first.
    let secrets: [Secret]
    /// Bit (a << 8 | b) is set when some secret starts with bytes a, b; byte a of `singles` is
    /// set when a is a whole secret by itself. Most positions of a string are ruled out with one
    /// lookup. Raw memory, immutable after init (the lookups run for every byte of every record).
    private let pairs: UnsafeMutablePointer<UInt64>
    private let singles: UnsafeMutablePointer<Bool>
    /// Strings shorter than the shortest secret are skipped outright (most keys and flags).
    private let shortest: Int

    init(secrets: [Secret]) {
        self.secrets = secrets.sorted { $0.bytes.count > $1.bytes.count }
        shortest = self.secrets.last?.bytes.count ?? Int.max
        pairs = .allocate(capacity: 1024)
        pairs.initialize(repeating: 0, count: 1024)
        singles = .allocate(capacity: 256)
        singles.initialize(repeating: false, count: 256)
        for secret in secrets {
            if secret.bytes.count == 1 {
                singles[Int(secret.bytes[0])] = true
            } else {
                let pair = Int(secret.bytes[0]) << 8 | Int(secret.bytes[1])
                pairs[pair >> 6] |= 1 << UInt64(pair & 63)
            }
        }
    }

    deinit {
        pairs.deallocate()
        singles.deallocate()
    }

    // MARK: Strings

    struct Occurrence {
        var start: Int
        var end: Int
        var secret: Int
    }

    /// The redacted bytes of a string, or nil when it holds no secret.
    func redact(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let occurrences = find(in: bytes)
        return occurrences.isEmpty ? nil : replace(occurrences, in: bytes)
    }

    func redact(string: String) -> String? {
        var string = string
        return string.withUTF8 { redact($0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every occurrence of every secret, minus those inside a longer one, sorted by start.
    private func find(in bytes: UnsafeBufferPointer<UInt8>) -> [Occurrence] {
        guard let base = bytes.baseAddress, bytes.count >= shortest else { return [] }
        var found: [Occurrence] = []
        let last = bytes.count - 1
        for position in 0...last {
            let a = Int(bytes[position])
            var candidate = singles[a]
            if !candidate, position < last {
                let pair = a << 8 | Int(bytes[position + 1])
                candidate = pairs[pair >> 6] & (1 << UInt64(pair & 63)) != 0
            }
            guard candidate else { continue }
            for (index, secret) in secrets.enumerated() {
                let length = secret.bytes.count
                guard length <= bytes.count - position, secret.bytes[0] == bytes[position] else { continue }
                let matches = secret.bytes.withUnsafeBufferPointer {
                    $0.baseAddress.map { memcmp(base + position, $0, length) == 0 } ?? false
                }
                if matches { found.append(Occurrence(start: position, end: position + length, secret: index)) }
            }
        }
        guard found.count > 1 else { return found }
        // Drop occurrences inside longer ones, then order by start (longest first at a tie).
        var kept: [Occurrence] = []
        for occurrence in found.sorted(by: { ($0.end - $0.start, -$0.start) > ($1.end - $1.start, -$1.start) }) {
            let contained = kept.contains { $0.start <= occurrence.start && occurrence.end <= $0.end }
            if !contained { kept.append(occurrence) }
        }
        return kept.sorted { ($0.start, $1.end) < ($1.start, $0.end) }
    }

    /// Replaces each run of overlapping occurrences by their tokens.
    private func replace(_ occurrences: [Occurrence], in bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + occurrences.count * 76)
        var copied = 0
        var clusterEnd = 0
        for occurrence in occurrences {
            if occurrence.start >= clusterEnd {
                // A new cluster: copy the clear text before it.
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied..<occurrence.start]))
            }
            out.append(contentsOf: secrets[occurrence.secret].token)
            clusterEnd = max(clusterEnd, occurrence.end)
            copied = clusterEnd
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied...]))
        return out
    }

    // MARK: Values

    /// The redacted value, or nil when nothing changed.
    func redact(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .string(let s): return redact(string: s).map(JSONValue.string)
        case .array(let elements):
            var changed: [JSONValue]?
            for (index, element) in elements.enumerated() {
                guard let replacement = redact(element) else { continue }
                if changed == nil { changed = elements }
                changed?[index] = replacement
            }
            return changed.map(JSONValue.array)
        case .object(let members):
            var result: [String: JSONValue]?
            for (key, value) in members {
                let newKey = redact(string: key)
                let newValue = redact(value)
                guard newKey != nil || newValue != nil else { continue }
                if result == nil { result = members }
                if let newKey {
                    // Two keys only collide if one already held the other's token; the later wins.
                    result?.removeValue(forKey: key)
                    result?[newKey] = newValue ?? value
                } else {
                    result?[key] = newValue
                }
            }
            return result.map(JSONValue.object)
        case .null, .bool, .int: return nil
        }
    }
}

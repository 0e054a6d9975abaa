/// A record's own members, encoded ahead of the writer's lock: sorted by key, redacted, each
/// written as `,"key":value`, with the offsets where the common members (`hash`, `kind`, …)
/// fall in the sorted order. Under the lock the writer only copies these bytes around the
/// common members it fills in.
struct Members {
    /// The common members in canonical order.
    enum Common: Int, CaseIterable {
        case hash, kind, prev, run, seq, ts, v

        static let names: [[UInt8]] = ["hash", "kind", "prev", "run", "seq", "ts", "v"].map { Array($0.utf8) }
        /// `,"name":`
        static let prefixes: [[UInt8]] = ["hash", "kind", "prev", "run", "seq", "ts", "v"].map { Array(",\"\($0)\":".utf8) }
    }

    private(set) var bytes: [UInt8] = []
    /// For each common member, the offset in `bytes` where it goes.
    private(set) var splits = [Int](repeating: 0, count: Common.allCases.count)
    private(set) var deepEnough = true
    /// Each member's key and where it starts, for `insert`.
    private var keys: [(key: [UInt8], start: Int)] = []

    init(_ fields: [String: JSONValue], redacting table: RedactionTable?) {
        bytes.reserveCapacity(256)
        keys.reserveCapacity(fields.count + 1)
        var next = 0
        for member in CanonicalJSON.sortedMembers(fields, redacting: table) {
            let start = bytes.count
            bytes.append(UInt8(ascii: ","))
            CanonicalJSON.appendString(member.key, to: &bytes)
            let key = Array(member.key.utf8)
            while next < Common.names.count, Common.names[next].lexicographicallyPrecedes(key) {
                splits[next] = start
                next += 1
            }
            keys.append((key, start))
            bytes.append(UInt8(ascii: ":"))
            deepEnough = CanonicalJSON.append(member.value, to: &bytes, depth: 2, redacting: table) && deepEnough
        }
        while next < Common.names.count {
            splits[next] = bytes.count
            next += 1
        }
    }

    /// Adds one member in its sorted place (the writer's own `run_key`, not redacted).
    mutating func insert(key: String, value: JSONValue) {
        let name = Array(key.utf8)
        let position = keys.first { name.lexicographicallyPrecedes($0.key) }?.start ?? bytes.count
        var piece: [UInt8] = [UInt8(ascii: ",")]
        CanonicalJSON.appendString(key, to: &piece)
        piece.append(UInt8(ascii: ":"))
        CanonicalJSON.append(value, to: &piece, depth: 2)
        bytes.insert(contentsOf: piece, at: position)
        for index in keys.indices where keys[index].start >= position { keys[index].start += piece.count }
        keys.append((name, position))
        for common in Common.allCases {
            if Common.names[common.rawValue].lexicographicallyPrecedes(name) {
                if splits[common.rawValue] > position { splits[common.rawValue] += piece.count }
            } else if splits[common.rawValue] >= position {
                splits[common.rawValue] += piece.count
            }
        }
    }
}

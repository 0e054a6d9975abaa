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
    private(set) var splits = SIMD8<Int>()
    private(set) var deepEnough = true
    /// A member named like a common one (the caller may not set those).
    private(set) var reserved: String?

    /// `extra` is a member of the writer's own (the run key), added unredacted.
    init(_ fields: [String: JSONValue], redacting table: RedactionTable?, extra: (key: String, value: JSONValue)? = nil) {
        bytes.reserveCapacity(512)
        var next = 0
        var extra = extra
        CanonicalJSON.withSortedMembers(fields, redacting: table) { sorted in
            for member in sorted {
                if let pending = extra, CanonicalJSON.utf8Less(pending.key, member.key) {
                    add(pending.key, pending.value, nil, &next)
                    extra = nil
                }
                add(member.key, member.value, table, &next)
            }
        }
        if let pending = extra { add(pending.key, pending.value, nil, &next) }
        while next < Common.names.count {
            splits[next] = bytes.count
            next += 1
        }
    }

    private mutating func add(_ key: String, _ value: JSONValue, _ table: RedactionTable?, _ next: inout Int) {
        let start = bytes.count
        while next < Common.names.count {
            let order = Self.compare(Common.names[next], key)
            if order > 0 { break }
            if order == 0 { reserved = key }
            splits[next] = start
            next += 1
        }
        bytes.append(UInt8(ascii: ","))
        CanonicalJSON.appendString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        deepEnough = CanonicalJSON.append(value, to: &bytes, depth: 2, redacting: table) && deepEnough
    }

    /// Byte order of a common name against a key: negative, zero or positive.
    private static func compare(_ name: [UInt8], _ key: String) -> Int {
        var keyBytes = key.utf8.makeIterator()
        for byte in name {
            guard let other = keyBytes.next() else { return 1 }
            if byte != other { return byte < other ? -1 : 1 }
        }
        return keyBytes.next() == nil ? 0 : -1
    }
}

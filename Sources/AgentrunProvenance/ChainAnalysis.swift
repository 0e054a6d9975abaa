import Crypto

/// Names what happened where a record's seq or prev does not follow the line before it. Each
/// record points back at its predecessor (`prev` = SHA-256 of its line), so looking at where the
/// lines around the break point tells a deletion from an insertion, a swap or an edit. Runs only
/// once a problem was found, so it re-reads the file and may keep a window of lines in memory.
enum ChainAnalysis {
    /// Lines after the break that are searched for a displaced record.
    static let window = 50_000

    struct Entry {
        var line: Int
        var seq: Int64?
        var prev: [UInt8]?
        /// Hex SHA-256 of the line.
        var digest: [UInt8]
    }

    static func classify(path: String, line bad: Int) -> VerifyReport.Problem {
        let first = max(1, bad - 2)
        var entries: [Entry] = []
        var number = 0
        try? LineReader.forEachLine(path: path) { bytes, terminated in
            number += 1
            if number < first { return true }
            guard number <= bad + window, terminated else { return false }
            entries.append(entry(bytes, line: number))
            return true
        }
        return classify(entries, bad: bad, first: first)
    }

    static func entry(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) -> Entry {
        let digest = Hex.encode(RecordFormat.sha256(UnsafeRawBufferPointer(bytes)))
        guard let fields = try? RecordFields.scan(bytes) else { return Entry(line: line, seq: nil, prev: nil, digest: digest) }
        let prev = fields.prev.map { Array(bytes[$0.start..<$0.end]) }
        return Entry(line: line, seq: fields.seq, prev: prev, digest: digest)
    }

    static func classify(_ entries: [Entry], bad: Int, first: Int) -> VerifyReport.Problem {
        func at(_ line: Int) -> Entry? {
            let index = line - first
            return entries.indices.contains(index) ? entries[index] : nil
        }
        guard let r = at(bad), let p = at(bad - 1), let rSeq = r.seq, let pSeq = p.seq else {
            return VerifyReport.Problem(seq: nil, line: bad, kind: .edited, message: "the record does not follow the one before it")
        }
        let later = entries.filter { $0.line > bad }
        let expected = pSeq &+ 1

        // The very same line appears elsewhere: this one is a copy.
        if let twin = entries.first(where: { $0.line != bad && $0.digest == r.digest }) {
            return VerifyReport.Problem(
                seq: rSeq, line: bad, kind: .inserted, message: "line \(bad) repeats line \(twin.line) (seq \(rSeq))")
        }
        // Its predecessor, or the record that belongs here, comes later in the file.
        if let predecessor = later.first(where: { $0.digest == r.prev }) {
            return VerifyReport.Problem(
                seq: expected, line: bad, kind: .reordered,
                message: "line \(bad) holds seq \(rSeq) where seq \(expected) belongs; the record it follows is at line \(predecessor.line)")
        }
        if rSeq > expected, let moved = later.first(where: { $0.seq == expected && $0.prev == p.digest }) {
            return VerifyReport.Problem(
                seq: expected, line: bad, kind: .reordered,
                message: "line \(bad) holds seq \(rSeq) where seq \(expected) belongs; seq \(expected) is at line \(moved.line)")
        }
        // The chain skips this line: it was inserted.
        if let n = at(bad + 1), n.prev == p.digest, n.seq == expected {
            return VerifyReport.Problem(
                seq: rSeq, line: bad, kind: .inserted,
                message: "line \(bad) (seq \(rSeq)) is not part of the chain: the record after it follows line \(bad - 1)")
        }
        // The chain skips the line before: that one was inserted.
        if let pp = at(bad - 2), let ppSeq = pp.seq, r.prev == pp.digest, rSeq == ppSeq &+ 1 {
            return VerifyReport.Problem(
                seq: pSeq, line: bad - 1, kind: .inserted,
                message: "line \(bad - 1) (seq \(pSeq)) is not part of the chain: the record after it follows line \(bad - 2)")
        }
        if rSeq > expected {
            let range = rSeq - 1 == expected ? "record \(expected) is" : "records \(expected)…\(rSeq - 1) are"
            return VerifyReport.Problem(
                seq: expected, line: bad, kind: .missing, message: "\(range) missing (line \(bad) holds seq \(rSeq) after seq \(pSeq))")
        }
        if rSeq == expected {
            return VerifyReport.Problem(
                seq: pSeq, line: bad - 1, kind: .edited,
                message: "record \(pSeq) was changed and its hash recomputed: record \(rSeq)'s prev does not match it")
        }
        return VerifyReport.Problem(
            seq: rSeq, line: bad, kind: .inserted, message: "seq goes back from \(pSeq) to \(rSeq)")
    }
}

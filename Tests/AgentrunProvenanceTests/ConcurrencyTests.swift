@testable import AgentrunProvenance
import Synchronization
import Testing

@Suite struct ConcurrencyTests {
    @Test func sixteenThreadsNoLostOrDuplicatedSeq() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            let writer = try ProvenanceWriter.create(
                path: path, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: ["SECRET-XYZ"]))
            try writer.append("session.start", startFields())
            let seqs = Mutex<[Int64]>([])
            let errors = Mutex<[String]>([])
            onThreads(16) { thread in
                var mine: [Int64] = []
                mine.reserveCapacity(5000)
                for i in 0..<5000 {
                    do {
                        let receipt = try writer.append("syscall.openat", ["thread": .int(Int64(thread)), "i": .int(Int64(i))])
                        mine.append(receipt.seq)
                    } catch {
                        errors.withLock { $0.append("\(error)") }
                    }
                    if i % 1000 == 0 { try? writer.tick() }
                }
                // Each thread sees its own seqs increase.
                if mine != mine.sorted() { errors.withLock { $0.append("thread \(thread): seqs out of order") } }
                seqs.withLock { $0.append(contentsOf: mine) }
            }
            _ = try writer.finish()
            #expect(errors.withLock { $0 }.isEmpty)
            let all = seqs.withLock { $0 }
            #expect(all.count == 80_000)
            #expect(Set(all).count == 80_000)
            let report = LogVerifier.verify(path: path, operatorKey: nil)
            #expect(report.intact, "\(report)")
            let records = try LogReader.records(path: path)
            #expect(records.map { $0["seq"]?.intValue ?? 0 } == (1...Int64(records.count)).map { $0 })
            // Every (thread, i) exactly once.
            let pairs = Set(records.compactMap { r -> Int64? in
                guard let t = r["thread"]?.intValue, let i = r["i"]?.intValue else { return nil }
                return t * 10_000 + i
            })
            #expect(pairs.count == 80_000)
            // 1 start + 80,000; a checkpoint per 1000 (more if the run took over 5 s) + the final one.
            #expect(records.filter { $0["kind"] != "checkpoint" }.count == 80_001)
            #expect(records.filter { $0["kind"] == "checkpoint" }.count >= 81)
        }
    }

    @Test func concurrentRecordDurability() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            let writer = try ProvenanceWriter.create(
                path: path, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []),
                options: .init(checkpointEvery: 50, durability: .record))
            try writer.append("session.start", startFields())
            onThreads(8) { thread in
                for i in 0..<40 { _ = try? writer.append("x.y", ["t": .int(Int64(thread)), "i": .int(Int64(i))]) }
            }
            _ = try writer.finish()
            let report = LogVerifier.verify(path: path, operatorKey: nil)
            #expect(report.intact, "\(report)")
            #expect(try LogReader.records(path: path).filter { $0["kind"] == "x.y" }.count == 320)
        }
    }
}

@testable import AgentrunProvenance
import AgentrunOS
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChainTests {
    @Test func recordsFollowTheSpec() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            let key = try writeLog(path, count: 25, options: .init(checkpointEvery: 10))
            let all = try lines(path)
            var previous: [UInt8]?
            for (i, line) in all.enumerated() {
                let record = try decode(line)
                // Canonical, with every common member.
                #expect(CanonicalJSON.encode(.object(record)) == line)
                #expect(record["v"] == 1)
                #expect(record["seq"] == .int(Int64(i + 1)))
                #expect(record["run"] == .string(testRunID))
                let ts = try #require(record["ts"]?.stringValue)
                #expect(ts.count == 30 && ts.hasSuffix("Z"))
                // prev: SHA-256 of the previous line; hash: of the record without `hash`.
                let prev = previous.map { CanonicalJSON.sha256Hex($0) } ?? String(repeating: "0", count: 64)
                #expect(record["prev"] == .string(prev))
                var withoutHash = record
                withoutHash["hash"] = nil
                #expect(record["hash"] == .string(CanonicalJSON.sha256Hex(CanonicalJSON.encode(.object(withoutHash)))))
                previous = line
            }
            let kinds = try all.map { try decode($0)["kind"]?.stringValue ?? "" }
            #expect(kinds.first == "session.start")
            #expect(kinds.last == "checkpoint")
            #expect(kinds[kinds.count - 2] == "session.end")
            // 27 records (start, 25, end): checkpoints after every 10, then the final one.
            #expect(kinds.enumerated().filter { $0.element == "checkpoint" }.map { $0.offset + 1 } == [11, 22, 30])
            #expect(try decode(all[0])["run_key"] == .string(key.publicKeyHex))

            // Checkpoint signatures cover {final, prev, run, seq, type} under the run key.
            let publicKey = try #require(Ed25519.publicKey(key.publicKey))
            for line in all {
                let record = try decode(line)
                guard record["kind"] == "checkpoint" else { continue }
                let final = try #require(record["final"])
                let prev = try #require(record["prev"])
                let seq = try #require(record["seq"])
                let message = CanonicalJSON.encode([
                    "final": final, "prev": prev, "run": .string(testRunID), "seq": seq, "type": "agentrun-checkpoint/1",
                ])
                let sigHex = try #require(record["sig"]?.stringValue)
                let sig = try #require(Hex.decode(sigHex.utf8))
                #expect(Ed25519.isValid(signature: sig, message: message, key: publicKey))
            }
            #expect(try decode(all[all.count - 1])["final"] == true)
            #expect(try decode(all[10])["final"] == false)
        }
    }

    @Test(arguments: [0, 1, 2, 8, 9, 10, 11, 998, 999, 1000, 1001, 2500, 10_000])
    func intactLogsVerify(count: Int) throws {
        try withTemporaryDirectory { dir in
            for (name, options) in [("default", ProvenanceWriter.Options()), ("every10", .init(checkpointEvery: 10))] {
                let path = dir + "/\(name).jsonl"
                try writeLog(path, count: count, options: options)
                let report = LogVerifier.verify(path: path, operatorKey: nil)
                #expect(report.intact, "\(count) records, \(name): \(report)")
                #expect(report.sealed)
                #expect(report.problem == nil)
                #expect(report.records == (try lines(path)).count)
                #expect(report.runID == testRunID)
            }
        }
    }

    @Test func timeBasedCheckpoints() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            let writer = try ProvenanceWriter.create(
                path: path, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []),
                options: .init(checkpointInterval: 0.02))
            try writer.append("session.start", startFields())
            // A tick once the interval has passed checkpoints what came since the last one...
            sleepSeconds(0.03)
            try writer.tick()
            #expect(try lines(path).count == 2)
            // ...and an idle run still gets one every interval (a heartbeat that bounds a crash)...
            sleepSeconds(0.03)
            try writer.tick()
            #expect(try lines(path).count == 3)
            // ...but not more often.
            try writer.tick()
            #expect(try lines(path).count == 3)
            for round in 0..<5 {
                for i in 0..<3 { try writer.append("syscall.openat", openRecord(round * 3 + i)) }
                sleepSeconds(0.03)
                try writer.tick()
            }
            try writer.tick()
            _ = try writer.finish()
            let kinds = try lines(path).map { try decode($0)["kind"]?.stringValue ?? "" }
            #expect(kinds.filter { $0 == "checkpoint" }.count >= 6)
            #expect(LogVerifier.verify(path: path, operatorKey: nil).intact)
        }
    }

    @Test func timeBasedCheckpointsManySizes() throws {
        try withTemporaryDirectory { dir in
            for count in [1, 5, 50, 500] {
                let path = dir + "/log\(count).jsonl"
                let writer = try ProvenanceWriter.create(
                    path: path, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []),
                    options: .init(checkpointEvery: 7, checkpointInterval: 0.001))
                try writer.append("session.start", startFields())
                for i in 0..<count {
                    try writer.append("syscall.openat", openRecord(i))
                    if i % 3 == 0 { try writer.tick() }
                    if i % 17 == 0 { sleepSeconds(0.002) }
                }
                _ = try writer.finish()
                let report = LogVerifier.verify(path: path, operatorKey: nil)
                #expect(report.intact, "\(count): \(report)")
            }
        }
    }

    @Test func receipts() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            let writer = try ProvenanceWriter.create(
                path: path, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []),
                options: .init(checkpointEvery: 3))
            let first = try writer.append("session.start", startFields())
            #expect(first.seq == 1)
            let second = try writer.append("syscall.openat", openRecord(0))
            #expect(second.seq == 2)
            let third = try writer.append("syscall.openat", openRecord(1))
            #expect(third.seq == 3)  // a checkpoint follows as seq 4
            let fourth = try writer.append("syscall.openat", openRecord(2))
            #expect(fourth.seq == 5)
            let final = try writer.finish()
            #expect(final.seq == 6)
            #expect(try writer.finish() == final)
            let all = try lines(path)
            #expect(try decode(all[1])["hash"] == .string(second.hash))
            #expect(try decode(all[5])["hash"] == .string(final.hash))
            #expect(throws: ProvenanceError.self) { try writer.append("syscall.openat", openRecord(3)) }
        }
    }

    @Test func misuseIsRefusedWithoutFailingTheWriter() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            let key = RunKey.generate()
            let writer = try ProvenanceWriter.create(path: path, runID: testRunID, runKey: key, redactor: Redactor(secrets: []))
            #expect(throws: ProvenanceError.self) { try writer.append("syscall.openat", openRecord(0)) }
            #expect(throws: ProvenanceError.self) {
                try writer.append("session.start", startFields(extra: ["run_key": "00"]))
            }
            try writer.append("session.start", startFields(extra: ["run_key": .string(key.publicKeyHex)]))
            #expect(throws: ProvenanceError.self) { try writer.append("session.start", startFields()) }
            for reserved in ["v", "seq", "ts", "run", "kind", "prev", "hash"] {
                #expect(throws: ProvenanceError.self) { try writer.append("x.y", [reserved: 1]) }
            }
            #expect(throws: ProvenanceError.self) { try writer.append("checkpoint", ["final": true]) }
            #expect(throws: ProvenanceError.self) { try writer.append("", [:]) }
            var deep: JSONValue = 1
            for _ in 0..<CanonicalJSON.maxDepth { deep = [deep] }
            #expect(throws: ProvenanceError.self) { try writer.append("x.deep", ["v1": deep]) }
            #expect(writer.failure == nil)
            try writer.append("x.ok", ["value": 1])
            _ = try writer.finish()
            #expect(LogVerifier.verify(path: path, operatorKey: nil).intact)
        }
    }

    @Test func createRefusesExistingFilesAndSymlinks() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            try writeFile(path, [])
            #expect(throws: ProvenanceError.self) {
                try ProvenanceWriter.create(path: path, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []))
            }
            _ = symlink(dir + "/elsewhere", dir + "/link.jsonl")
            #expect(throws: ProvenanceError.self) {
                try ProvenanceWriter.create(
                    path: dir + "/link.jsonl", runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []))
            }
            #expect(Files.kind(dir + "/elsewhere") == .missing)
            #expect(throws: ProvenanceError.self) {
                try ProvenanceWriter.create(
                    path: dir + "/missing/log.jsonl", runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []))
            }
            let fresh = dir + "/fresh.jsonl"
            try writeLog(fresh, count: 1)
            #expect(Files.status(fresh).map { $0.st_mode & 0o777 } == 0o600)
        }
    }

    @Test func killedWriterLeavesAnIntactPrefix() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            // No finish(): the writer goes away as if agentrun were killed; every record was
            // already in the kernel.
            try writeLog(path, count: 2500, finish: false)
            let report = LogVerifier.verify(path: path, operatorKey: nil)
            #expect(!report.intact)
            #expect(!report.sealed)
            #expect(report.problem?.kind == .unsealed)
            #expect(report.lastCheckpointSeq == 2002)
            #expect(report.problem?.seq == 2003)
            #expect(report.records == 2501 + 2)
            #expect(report.description.contains("up to checkpoint seq 2002"))

            // A real crash also loses what was not yet written; the prefix still verifies.
            let crashed = dir + "/crashed.jsonl"
            let writer = try ProvenanceWriter.create(path: crashed, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []))
            try writer.append("session.start", startFields())
            for i in 0..<2500 { try writer.append("syscall.openat", openRecord(i)) }
            writer.simulateCrash()
            let afterCrash = LogVerifier.verify(path: crashed, operatorKey: nil)
            #expect(afterCrash.problem?.kind == .unsealed || afterCrash.problem?.kind == .truncated, "\(afterCrash)")
            #expect(afterCrash.lastCheckpointSeq == 2002)
            #expect(afterCrash.records >= 2002)

            let none = dir + "/none.jsonl"
            try writeLog(none, count: 5, finish: false)
            let early = LogVerifier.verify(path: none, operatorKey: nil)
            #expect(early.problem?.kind == .unsealed)
            #expect(early.lastCheckpointSeq == nil)
        }
    }

    @Test func durabilityRecord() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            try writeLog(path, count: 20, options: .init(durability: .record))
            #expect(LogVerifier.verify(path: path, operatorKey: nil).intact)
        }
    }
}

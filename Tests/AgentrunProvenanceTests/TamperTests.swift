@testable import AgentrunProvenance
import Testing

/// Every way of tampering with a log is detected and named, with the seq it concerns.
@Suite struct TamperTests {
    /// A sealed log: session.start (1), records 2…47, checkpoints every 10, session.end, final.
    func sealedLog(_ dir: String, name: String = "log.jsonl", runID: String = testRunID) throws -> (String, [[UInt8]], RunKey) {
        let path = dir + "/" + name
        let key = try writeLog(path, count: 45, runID: runID, options: .init(checkpointEvery: 10))
        let all = try lines(path)
        #expect(LogVerifier.verify(path: path, operatorKey: nil).intact)
        return (path, all, key)
    }

    func verify(_ path: String, _ lines: [[UInt8]], key: OperatorPublicKey? = nil) throws -> VerifyReport {
        try writeLines(path, lines)
        return LogVerifier.verify(path: path, operatorKey: key)
    }

    func expectProblem(
        _ report: VerifyReport, _ kind: VerifyReport.Kind, seq: Int64?, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(!report.intact, sourceLocation: sourceLocation)
        #expect(report.problem?.kind == kind, "\(report)", sourceLocation: sourceLocation)
        #expect(report.problem?.seq == seq, "\(report)", sourceLocation: sourceLocation)
    }

    @Test func editedField() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            all[4] = Array(text(all[4]).replacingOccurrences("file_3.py", "file_X.py").utf8)
            let report = try verify(path, all)
            expectProblem(report, .edited, seq: 5)
            #expect(report.problem?.line == 5)
            #expect(report.lastCheckpointSeq == nil)
            #expect(report.records == 4)
        }
    }

    @Test func editedFieldWithRecomputedHash() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            var record = try decode(all[14])
            record["decision"] = "deny"
            all[14] = rehashed(record)
            let report = try verify(path, all)
            expectProblem(report, .edited, seq: 15)
            #expect(report.problem?.line == 15)
            #expect(report.lastCheckpointSeq == 11)
        }
    }

    @Test func deletedRecord() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            all.remove(at: 4)
            expectProblem(try verify(path, all), .missing, seq: 5)
            all.removeSubrange(14..<17)
            let report = try verify(path, all)
            expectProblem(report, .missing, seq: 5)
        }
    }

    @Test func deletedRecordsLaterInTheLog() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            all.removeSubrange(24..<27)
            let report = try verify(path, all)
            expectProblem(report, .missing, seq: 25)
            #expect(report.problem?.message.contains("25…27") == true)
            #expect(report.lastCheckpointSeq == 22)
        }
    }

    @Test func deletedFirstRecord() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            all.removeFirst()
            expectProblem(try verify(path, all), .missing, seq: 1)
        }
    }

    @Test func insertedForgedRecord() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            // A record that fits after seq 5: right seq, right prev, right hash.
            var forged = try decode(all[5])
            forged["path"] = "/etc/shadow"
            forged["prev"] = .string(CanonicalJSON.sha256Hex(all[4]))
            all.insert(rehashed(forged), at: 5)
            let report = try verify(path, all)
            expectProblem(report, .inserted, seq: 6)
            #expect(report.problem?.line == 6)
        }
    }

    @Test func insertedForgedRecordAfterItsTwin() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            // The forgery comes after the genuine seq 6 and claims the same place.
            var forged = try decode(all[5])
            forged["path"] = "/etc/shadow"
            all.insert(rehashed(forged), at: 6)
            let report = try verify(path, all)
            expectProblem(report, .inserted, seq: 6)
            #expect(report.problem?.line == 7)
        }
    }

    @Test func insertedCopyOfAnEarlierRecord() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            all.insert(all[2], at: 8)
            let report = try verify(path, all)
            expectProblem(report, .inserted, seq: 3)
            #expect(report.problem?.line == 9)
        }
    }

    @Test func swappedRecords() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            all.swapAt(4, 5)
            let report = try verify(path, all)
            expectProblem(report, .reordered, seq: 5)
            #expect(report.problem?.line == 5)
            // Far apart.
            (path, all, _) = try sealedLog(dir, name: "far.jsonl")
            all.swapAt(12, 18)
            expectProblem(try verify(path, all), .reordered, seq: 13)
            // One record moved later.
            (path, all, _) = try sealedLog(dir, name: "moved.jsonl")
            let moved = all.remove(at: 12)
            all.insert(moved, at: 15)
            expectProblem(try verify(path, all), .reordered, seq: 13)
        }
    }

    @Test func truncatedAfterACheckpoint() throws {
        try withTemporaryDirectory { dir in
            let (path, all, _) = try sealedLog(dir)
            let report = try verify(path, Array(all[0..<22]))  // ends with the checkpoint at seq 22
            expectProblem(report, .unsealed, seq: 22)
            #expect(report.problem?.message.contains("intact") == true)
            #expect(report.lastCheckpointSeq == 22)
            #expect(report.records == 22)
        }
    }

    @Test func truncatedMidLine() throws {
        try withTemporaryDirectory { dir in
            let (path, all, _) = try sealedLog(dir)
            var bytes = Array(all[0..<30]).flatMap { $0 + [UInt8(ascii: "\n")] }
            bytes += all[30].prefix(40)
            try writeFile(path, bytes)
            let report = LogVerifier.verify(path: path, operatorKey: nil)
            #expect(report.problem?.kind == .truncated)
            #expect(report.problem?.line == 31)
            #expect(report.problem?.message.contains("after seq 30") == true)
            #expect(report.lastCheckpointSeq == 22)
            #expect(report.records == 30)
        }
    }

    @Test func truncatedBetweenCheckpointsLooksLikeACrash() throws {
        try withTemporaryDirectory { dir in
            let (path, all, _) = try sealedLog(dir)
            let report = try verify(path, Array(all[0..<27]))
            // Indistinguishable from agentrun being killed: the unsigned tail is reported.
            expectProblem(report, .unsealed, seq: 23)
            #expect(report.lastCheckpointSeq == 22)
            #expect(report.records == 27)
        }
    }

    @Test func recordFromAnotherRun() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            let (_, other, _) = try sealedLog(dir, name: "other.jsonl", runID: "01936f0e-0000-7000-8000-000000000000")
            all[7] = other[7]
            let report = try verify(path, all)
            expectProblem(report, .otherRun, seq: 8)
            all.insert(other[30], at: 30)
            expectProblem(try verify(path, Array(all[0..<7]) + Array(all[8...])), .missing, seq: 8)
        }
    }

    @Test func forgedChainFailsAtTheNextCheckpoint() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            // Delete seq 14, renumber and re-chain everything after it: only the signature of the
            // next checkpoint gives it away.
            all.remove(at: 13)
            for i in 13..<all.count {
                var record = try decode(all[i])
                record["seq"] = .int(Int64(i + 1))
                all[i] = CanonicalJSON.encode(.object(record))
            }
            all = try rechain(all, from: 13)
            let report = try verify(path, all)
            expectProblem(report, .badSignature, seq: 21)
            #expect(report.lastCheckpointSeq == 11)
        }
    }

    @Test func badCheckpointSignature() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            var checkpoint = try decode(all[21])
            var sig = Array(try #require(checkpoint["sig"]?.stringValue).utf8)
            sig[10] = sig[10] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            checkpoint["sig"] = .string(text(sig))
            all[21] = CanonicalJSON.encode(.object(checkpoint))
            all = try rechain(all, from: 21)
            let report = try verify(path, all)
            expectProblem(report, .badSignature, seq: 22)
            #expect(report.lastCheckpointSeq == 11)
        }
    }

    @Test func checkpointSignedByAnotherKey() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            let other = RunKey.generate()
            var checkpoint = try decode(all[10])
            let message = CanonicalJSON.encode([
                "final": false, "prev": try #require(checkpoint["prev"]), "run": .string(testRunID), "seq": 11,
                "type": "agentrun-checkpoint/1",
            ])
            checkpoint["sig"] = .string(Hex.string(other.sign(message)))
            all[10] = CanonicalJSON.encode(.object(checkpoint))
            all = try rechain(all, from: 10)
            expectProblem(try verify(path, all), .badSignature, seq: 11)
        }
    }

    @Test func truncatedLogPassedOffAsSealed() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            // Cut after the checkpoint at seq 33 and flip its `final` flag: `final` is signed.
            all = Array(all[0..<33])
            var checkpoint = try decode(all[32])
            checkpoint["final"] = true
            all[32] = rehashed(checkpoint)
            expectProblem(try verify(path, all), .badSignature, seq: 33)
        }
    }

    @Test func recordAfterTheFinalCheckpoint() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            var extra = try decode(all[5])
            extra["seq"] = .int(Int64(all.count + 1))
            all.append(CanonicalJSON.encode(.object(extra)))
            all = try rechain(all, from: all.count - 1)
            expectProblem(try verify(path, all), .inserted, seq: Int64(all.count))
        }
    }

    @Test func notCanonicalAndMalformed() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            let original = all[3]
            all[3] = Array(text(original).replacingOccurrences(#""seq":4"#, #""seq": 4"#).utf8)
            var report = try verify(path, all)
            #expect(report.problem?.kind == .notCanonical)
            #expect(report.problem?.line == 4)
            all[3] = Array("not json".utf8)
            report = try verify(path, all)
            #expect(report.problem?.kind == .malformed)
            all[3] = Array(#"{"a":1}"#.utf8)
            report = try verify(path, all)
            #expect(report.problem?.kind == .malformed)
            all[3] = original
            all.insert([], at: 3)
            #expect(try verify(path, all).problem?.kind == .malformed)
        }
    }

    @Test func noSessionStart() throws {
        try withTemporaryDirectory { dir in
            var (path, all, _) = try sealedLog(dir)
            var first = try decode(all[0])
            first["kind"] = "process.exec"
            all[0] = CanonicalJSON.encode(.object(first))
            all = try rechain(all, from: 0)
            expectProblem(try verify(path, all), .noSessionStart, seq: 1)
            expectProblem(try verify(path, []), .noSessionStart, seq: nil)
        }
    }

    @Test func unreadableLog() {
        let report = LogVerifier.verify(path: "/nonexistent/log.jsonl", operatorKey: nil)
        #expect(!report.intact)
        #expect(report.problem?.message.contains("No such file") == true || report.problem?.message.contains("no such file") == true)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Substring.Index>? {
        guard !target.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) { return index..<(self.index(index, offsetBy: target.count)) }
            index = self.index(after: index)
        }
        return nil
    }
}

/// The parallel verifier (large logs, one slice per core) must say exactly what the one-pass
/// verifier says, wherever the slices are cut.
@Suite struct ParallelVerificationTests {
    func same(_ path: String, key: OperatorPublicKey? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let one = LogVerifier.verifyInOnePass(path: path, operatorKey: key)
        for slices in [2, 3, 7, 16] {
            guard let parallel = ParallelVerification.verify(path: path, operatorKey: key, threshold: 0, slices: slices) else {
                // Only when the first line itself is bad: then one pass is the answer.
                #expect(one.problem?.line == 1, "\(one)", sourceLocation: sourceLocation)
                continue
            }
            #expect(parallel.intact == one.intact, "\(slices) slices: \(parallel) vs \(one)", sourceLocation: sourceLocation)
            #expect(parallel.problem == one.problem, "\(slices) slices: \(parallel) vs \(one)", sourceLocation: sourceLocation)
            #expect(parallel.records == one.records, "\(slices) slices", sourceLocation: sourceLocation)
            #expect(parallel.lastCheckpointSeq == one.lastCheckpointSeq, "\(slices) slices", sourceLocation: sourceLocation)
            #expect(parallel.sealed == one.sealed, "\(slices) slices", sourceLocation: sourceLocation)
            #expect(parallel.certifiedBy == one.certifiedBy, "\(slices) slices", sourceLocation: sourceLocation)
        }
    }

    @Test func agreesWithOnePass() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            try writeLog(path, count: 300, options: .init(checkpointEvery: 10))
            let original = try lines(path)
            same(path)
            #expect(ParallelVerification.verify(path: path, operatorKey: nil, threshold: 0, slices: 5)?.intact == true)

            // Every tamper class, at several places (slice boundaries move with the content).
            for index in [1, 2, 10, 11, 50, 150, 299] {
                var edited = original
                edited[index] = Array(text(edited[index]).replacingOccurrences("\"seq\":", "\"seq\": ").utf8)
                try writeLines(path, edited)
                same(path)

                var deleted = original
                deleted.remove(at: index)
                try writeLines(path, deleted)
                same(path)

                var swapped = original
                swapped.swapAt(index, index + 1)
                try writeLines(path, swapped)
                same(path)

                var inserted = original
                inserted.insert(original[index / 2], at: index)
                try writeLines(path, inserted)
                same(path)

                var rehashed = original
                var record = try decode(rehashed[index])
                record["path"] = "/changed"
                rehashed[index] = TamperSupport.rehashed(record)
                try writeLines(path, rehashed)
                same(path)

                try writeLines(path, Array(original[0..<index]))
                same(path)
            }
            // Cut mid-line, records after the seal, an unsealed tail.
            var bytes = original.flatMap { $0 + [UInt8(ascii: "\n")] }
            bytes.removeLast(30)
            try writeFile(path, bytes)
            same(path)
            try writeLines(path, original + [original[5]])
            same(path)
            try writeLines(path, Array(original[0..<287]))
            same(path)
        }
    }

    @Test func agreesOnCertificates() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            try writeFile(dir + "/op", Array("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60".utf8))
            let operatorKey = try OperatorKey.load(path: dir + "/op")
            let runKey = RunKey.generate()
            try writeLog(
                path, count: 200, runKey: runKey, options: .init(checkpointEvery: 7),
                start: startFields(extra: ["run_key_cert": operatorKey.certify(runID: testRunID, runKey: runKey)]))
            same(path, key: try OperatorPublicKey.load(operatorKey.publicKeyHex))
            same(path, key: try OperatorPublicKey.load(RunKey.generate().publicKeyHex))
        }
    }
}

enum TamperSupport {
    static func rehashed(_ record: [String: JSONValue]) -> [UInt8] { AgentrunProvenanceTests.rehashed(record) }
}

@testable import AgentrunProvenance
import Testing

@Suite struct TimelineTests {
    @Test func readableLines() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            let writer = try ProvenanceWriter.create(path: path, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []))
            try writer.append("session.start", startFields())
            try writer.append("process.exec", [
                "actor": ["pid": 77, "exe": "/usr/bin/python3"], "argv": ["python3", "agent.py", "two words"], "cwd": "/w",
            ])
            try writer.append("syscall.openat", openRecord(1))
            try writer.append("net.connect", ["actor": ["pid": 78], "host": "example.com", "port": 443, "decision": "deny"])
            try writer.append("process.exit", [
                "actor": ["pid": 77, "exe": "/usr/bin/python3"], "status": 0, "signal": nil, "exit_code": 0, "reason": "exited",
                "duration_ns": 1_500_000_000,
            ])
            try writer.append("session.end", ["exit_code": 0, "reason": "exited", "records": 6])
            _ = try writer.finish()
            let records = try LogReader.records(path: path)
            let shown = Timeline.lines(records, kinds: nil)
            #expect(shown.count == records.count)
            #expect(shown[0].contains("session.start") && shown[0].contains("agentrun") && shown[0].contains("profile default"))
            #expect(shown[1].contains("python3[77]") && shown[1].contains("python3 agent.py 'two words'"))
            #expect(shown[2].contains("/workspace/src/file_1.py O_RDONLY|O_CLOEXEC") && shown[2].hasSuffix("allow"))
            #expect(shown[3].contains("pid[78]") && shown[3].contains("example.com") && shown[3].hasSuffix("deny"))
            #expect(shown[4].contains("exited, status 0, after 1.500s"))
            #expect(shown[5].contains("exit code 0 (exited), 6 records"))
            #expect(shown[6].contains("final checkpoint"))
            // Columns line up: every kind starts at the same offset.
            var offsets: Set<Int> = []
            for (line, record) in zip(shown, records) {
                let kind = Array((record["kind"]?.stringValue ?? "").utf8)
                let bytes = Array(line.utf8)
                if let offset = (0...(bytes.count - kind.count)).first(where: { bytes[$0..<($0 + kind.count)].elementsEqual(kind) }) {
                    offsets.insert(offset)
                }
            }
            #expect(offsets.count == 1)
            #expect(shown[0].hasPrefix(String(records[0]["ts"]?.stringValue?.prefix(10) ?? "")))

            #expect(Timeline.lines(records, kinds: ["process"]).count == 2)
            #expect(Timeline.lines(records, kinds: ["process.exec", "checkpoint"]).count == 2)
            #expect(Timeline.lines(records, kinds: ["session.*"]).count == 2)
        }
    }

    @Test func controlCharactersAreEscaped() {
        let record: JSONValue = [
            "kind": "syscall.openat", "ts": "2026-11-29T18:10:00.123456789Z",
            "actor": ["pid": 1, "exe": "/x/evil\u{1b}[2J"],
            "path": "/tmp/a\nFAKE 2026-01-01 00:00:00.000  process.exec  x\u{202e}txt.exe\\n\u{7}\u{85}",
            "decision": "allow\r",
        ]
        let line = Timeline.lines([record], kinds: nil)[0]
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1b}") && !line.contains("\u{202e}"))
        #expect(!line.contains("\u{7}") && !line.contains("\u{85}"))
        #expect(line.contains("evil\\u{1b}[2J[1]"))
        #expect(line.contains("a\\nFAKE"))
        #expect(line.contains("\\u{202e}txt.exe\\\\n"))
        #expect(line.hasSuffix("allow\\r"))
        #expect(line.hasPrefix("2026-11-29 18:10:00.123"))
    }
}

@testable import AgentrunProvenance
import AgentrunOS
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct RunDirectoryTests {
    @Test func stateRoot() {
        #expect(RunDirectory.stateRoot(environment: ["XDG_STATE_HOME": "/x/state", "HOME": "/home/u"]) == "/x/state/agentrun/runs")
        #expect(RunDirectory.stateRoot(environment: ["XDG_STATE_HOME": "/x/state/", "HOME": "/home/u"]) == "/x/state/agentrun/runs")
        #expect(RunDirectory.stateRoot(environment: ["XDG_STATE_HOME": "relative", "HOME": "/home/u"]) == "/home/u/.local/state/agentrun/runs")
        #expect(RunDirectory.stateRoot(environment: ["XDG_STATE_HOME": "", "HOME": "/home/u"]) == "/home/u/.local/state/agentrun/runs")
        #expect(RunDirectory.stateRoot(environment: [:]).hasSuffix("/.local/state/agentrun/runs"))
    }

    @Test func createIsPrivateAndRefusesSymlinks() throws {
        try withTemporaryDirectory { dir in
            let run = dir + "/state/agentrun/runs/019"
            try RunDirectory.create(run)
            #expect(Files.kind(run) == .directory)
            #expect(Files.status(run).map { $0.st_mode & 0o777 } == 0o700)
            #expect(Files.status(dir + "/state").map { $0.st_mode & 0o777 } == 0o700)
            try RunDirectory.create(run)  // exists: fine
            try RunDirectory.create(run + "/")

            try RunDirectory.create(dir + "/target")
            _ = symlink(dir + "/target", dir + "/link")
            #expect(throws: ProvenanceError.self) { try RunDirectory.create(dir + "/link") }
            // A symlink higher up is followed (e.g. /home -> /usr/home).
            try RunDirectory.create(dir + "/link/inner")
            #expect(Files.kind(dir + "/target/inner") == .directory)

            try writeFile(dir + "/file", [])
            #expect(throws: ProvenanceError.self) { try RunDirectory.create(dir + "/file") }
            #expect(throws: ProvenanceError.self) { try RunDirectory.create(dir + "/file/sub") }
        }
    }

    let ids = [
        "01936f0e-0001-7000-8000-000000000001",
        "01936f0e-0003-7000-8000-000000000003",
        "01936f0e-0002-7000-8000-000000000002",
        "01936f0f-0000-7000-8000-000000000004",
    ]

    func makeRuns(_ root: String) throws {
        for (index, id) in ids.enumerated() {
            let directory = root + "/" + id
            try RunDirectory.create(directory)
            let path = directory + "/log.jsonl"
            let writer = try ProvenanceWriter.create(
                path: path, runID: id, runKey: .generate(), redactor: Redactor(secrets: []), options: .init(checkpointEvery: 4))
            try writer.append("session.start", startFields(profile: "p\(index)"))
            for i in 0..<(index * 3) { try writer.append("syscall.openat", openRecord(i)) }
            if index != 1 {  // run 0003 was killed
                try writer.append("session.end", ["exit_code": .int(Int64(index)), "reason": "exited", "records": 1])
                _ = try writer.finish()
            }
        }
        // Not runs: a stray file, a directory without a log.
        try writeFile(root + "/stray", [])
        try RunDirectory.create(root + "/empty")
    }

    @Test func listNewestFirst() throws {
        try withTemporaryDirectory { root in
            try makeRuns(root)
            let runs = RunDirectory.list(root: root)
            #expect(runs.map(\.id) == [ids[3], ids[1], ids[2], ids[0]])
            let byID = Dictionary(uniqueKeysWithValues: runs.map { ($0.id, $0) })
            let killed = try #require(byID[ids[1]])
            #expect(killed.exitCode == nil)
            #expect(!killed.sealed)
            #expect(killed.profile == "p1")
            #expect(killed.records == 4 + 1)  // start + 3 records + a checkpoint after 4
            let finished = try #require(byID[ids[3]])
            #expect(finished.exitCode == 3)
            #expect(finished.sealed)
            #expect(finished.profile == "p3")
            #expect(finished.startedAt?.hasSuffix("Z") == true)
            #expect(finished.logPath == root + "/" + ids[3] + "/log.jsonl")
            #expect(finished.directory == root + "/" + ids[3])
            #expect(try lines(finished.logPath).count == finished.records)
            #expect(byID[ids[0]]?.exitCode == 0)
            #expect(RunDirectory.list(root: root + "/missing").isEmpty)
        }
    }

    @Test func resolve() throws {
        try withTemporaryDirectory { root in
            try makeRuns(root)
            let log = root + "/" + ids[2] + "/log.jsonl"
            #expect(RunDirectory.resolve(ids[2], root: root) == log)
            #expect(RunDirectory.resolve(root + "/" + ids[2], root: "/elsewhere") == log)
            #expect(RunDirectory.resolve(root + "/" + ids[2] + "/", root: "/elsewhere") == log)
            #expect(RunDirectory.resolve(log, root: "/elsewhere") == log)
            #expect(RunDirectory.resolve("01936f0f", root: root) == root + "/" + ids[3] + "/log.jsonl")  // unique prefix
            #expect(RunDirectory.resolve("01936f0e", root: root) == nil)  // ambiguous
            #expect(RunDirectory.resolve("latest", root: root) == root + "/" + ids[3] + "/log.jsonl")
            #expect(RunDirectory.resolve("nope", root: root) == nil)
            #expect(RunDirectory.resolve(root + "/empty", root: root) == nil)
            #expect(RunDirectory.resolve("", root: root) == nil)
        }
    }
}

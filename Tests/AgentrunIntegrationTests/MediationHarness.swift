// What the syscall mediation tests share (issue 5): profiles with a `syscalls.mediate` section,
// sandboxed runs whose log is read back, and finders for `syscall.<name>` records.
//
// Record contract (docs: the issue 5 spec): kind `syscall.<name>`, `actor` {pid, inner_pid, exe},
// `decision` allow|deny, `rule` and `errno` on denials, `exact`, `path` (resolved, symlinks kept),
// `args` (decoded), `argv`/`env_keys`/`interpreter` for exec, `addr` for sockets, `via`.

import Foundation
import Glibc
import Testing

/// One sandboxed run and its log.
struct MediatedRun: CustomStringConvertible {
    let result: RunResult
    let logDir: String

    var log: String { logDir + "/log.jsonl" }
    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    var records: [JV] { logText.split(separator: "\n").map { JV.parse(String($0)) } }

    /// Every `syscall.*` record.
    var syscallRecords: [JV] { records.filter { $0["kind"].string?.hasPrefix("syscall.") == true } }

    /// `syscall.<name>` records for any of `names`, optionally only those whose `path` is `path`.
    func syscalls(_ names: String..., path: String? = nil) -> [JV] {
        let kinds = Set(names.map { "syscall." + $0 })
        return records.filter { r in
            guard let k = r["kind"].string, kinds.contains(k) else { return false }
            if let path { return r["path"].string == path }
            return true
        }
    }

    /// The values a Python script reported with `out(key=value)` (`RESULT {json}` lines).
    var values: [String: JV] { Broker.values(result.stdout) }

    var description: String {
        let kinds = records.compactMap { $0["kind"].string }
        var text = "\(result)\n--- log: \(kinds.count) records ---\n"
        let shown = syscallRecords.prefix(60).map(\.description).joined(separator: "\n")
        text += "syscall records (first 60):\n\(shown)\n"
        text += "other kinds: \(kinds.filter { !$0.hasPrefix("syscall.") }.joined(separator: " "))"
        return text
    }
}

enum Mediation {
    static let python = Broker.python
    /// The executables as `/proc/<pid>/exe` shows them (the sandbox mounts /usr where it is).
    static let pythonExe = realpath(python)
    static let shExe = realpath("/bin/sh")
    static let allGroups = "[exec, network, file-write, denied, signals]"

    static func realpath(_ path: String) -> String {
        guard let p = Glibc.realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }

    /// A profile extending `default` whose `syscalls.mediate` section is `mediate` (YAML lines
    /// indented for the mapping, e.g. "record: [exec]\nexact_files: true").
    static func profile(_ t: TestDir, _ mediate: String, extra: String = "") throws -> String {
        let body = mediate.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
        return try t.profile("extends: default\nsyscalls:\n  mediate:\n\(body)\n\(extra)")
    }

    /// Runs `command` in the sandbox with the log in `<host>/<name>`.
    static func run(_ t: TestDir, _ command: [String], profile: String?, name: String = "run", env: [String: String] = [:],
                    timeout: Double = 60) -> MediatedRun {
        let dir = t.hostPath(name)
        let r = t.sandbox(command, profile: profile, options: ["--log", dir], env: env, timeout: timeout)
        return MediatedRun(result: r, logDir: dir)
    }

    /// Writes `script` (with the `out(**kw)` helper prepended) into the workspace and runs it with
    /// the sandbox's python3.
    static func runPython(_ t: TestDir, _ script: String, profile: String?, name: String = "run", args: [String] = [],
                       timeout: Double = 60) throws -> MediatedRun {
        let file = "\(name).py"
        let prelude = """
            import json, os, sys
            def out(**kw):
                print("RESULT " + json.dumps(kw), flush=True)

            """
        try t.write(file, prelude + script)
        return run(t, [python, t.path(file)] + args, profile: profile, name: name, timeout: timeout)
    }

    /// `agentrun log verify` of a run.
    static func verify(_ run: MediatedRun) -> RunResult {
        Harness.run([Harness.agentrun, "log", "verify", run.log], timeout: 120)
    }

    /// A workspace script that appends a line to `marker` when it runs (the "forbidden" program).
    static func writeMarkerScript(_ t: TestDir, _ rel: String, marker: String) throws {
        try t.write(rel, "#!/bin/sh\necho ran >> '\(marker)'\nexit 0\n", mode: 0o755)
    }
}

// MARK: - expectations on records

/// The flags of an open record as a set (the contract lists names; order is not the point).
func flagSet(_ r: JV) -> Set<String> { Set(r["args"]["flags"].strings) }

/// Checks the members every mediated record has: a known decision, an actor with host pid,
/// pid inside the sandbox and executable, and `exact` present.
func expectWellFormed(_ r: JV, exe: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(["allow", "deny"].contains(r["decision"].string ?? ""), "decision: \(r)", sourceLocation: sourceLocation)
    #expect((r["actor"]["pid"].int ?? 0) > 0, "actor.pid: \(r)", sourceLocation: sourceLocation)
    #expect((r["actor"]["inner_pid"].int ?? 0) > 0, "actor.inner_pid: \(r)", sourceLocation: sourceLocation)
    #expect(r["actor"]["exe"].string?.hasPrefix("/") == true, "actor.exe: \(r)", sourceLocation: sourceLocation)
    if let exe {
        #expect(r["actor"]["exe"].string == exe, "actor.exe should be \(exe): \(r)", sourceLocation: sourceLocation)
    }
    #expect(r["exact"].bool != nil, "exact: \(r)", sourceLocation: sourceLocation)
    if r["decision"].string == "deny" {
        #expect(r["rule"].string != nil && r["errno"].string != nil, "a denial names its rule and errno: \(r)",
                sourceLocation: sourceLocation)
    }
}

/// A denial record: decision deny, the rule id, the errno name, exact (nothing ran).
func expectDenied(_ r: JV, rule: String, errno: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r["decision"].string == "deny", "decision: \(r)", sourceLocation: sourceLocation)
    #expect(r["rule"].string == rule, "rule should be \(rule): \(r)", sourceLocation: sourceLocation)
    #expect(r["errno"].string == errno, "errno should be \(errno): \(r)", sourceLocation: sourceLocation)
    #expect(r["exact"].bool == true, "a denial is exact: \(r)", sourceLocation: sourceLocation)
}

/// The `errno=NAME` line agentrun-probe's mediation commands print for a failed call.
func probeErrno(_ r: RunResult) -> String? {
    r.stdout.split(separator: "\n").last { $0.hasPrefix("errno=") }.map { String($0.dropFirst(6)) }
}

/// `key=value` pairs from a probe summary line ("opens=3 allowed=2 ...").
func probeCounts(_ r: RunResult, line prefix: String) -> [String: Int] {
    guard let line = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return [:] }
    var out: [String: Int] = [:]
    for part in line.split(separator: " ") {
        let kv = part.split(separator: "=", maxSplits: 1)
        if kv.count == 2, let v = Int(kv[1]) { out[String(kv[0])] = v }
    }
    return out
}

// The provenance log of real runs: what it records, that `agentrun log verify` accepts intact
// logs (also after timeouts and signals) and names tampering, that secrets never reach it, that
// an operator key certifies runs, and that a log that cannot be written stops the agent (fail
// closed, exit 123).

import Foundation
import Glibc
import Testing

@Suite("Provenance", .serialized, .needsSandbox, .timeLimit(.minutes(2)))
struct ProvenanceTests {
    /// Runs in the sandbox with the log in `<host>/run`, returns the result and the log path.
    func run(_ t: TestDir, _ command: [String], profile: String? = nil, options: [String] = [], env: [String: String] = [:],
             name: String = "run", timeout: Double = 30) -> (RunResult, String) {
        let dir = t.hostPath(name)
        let r = t.sandbox(command, profile: profile, options: ["--log", dir] + options, env: env, timeout: timeout)
        return (r, dir + "/log.jsonl")
    }

    func records(_ log: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func agentrun(_ args: [String], env: [String: String] = [:]) -> RunResult {
        Harness.run([Harness.agentrun] + args, env: env, timeout: 60)
    }

    @Test("a run records its session, the agent's exec and exit, and a sealed log that verifies")
    func lifecycle() throws {
        let t = try TestDir("prov")
        let (r, log) = run(t, ["sh", "-c", "exit 3"], env: ["AWS_SECRET_ACCESS_KEY": "hidden-value"])
        #expect(r.status == 3, "\(r)")
        #expect(r.stderr.contains("log \(log)"), "the end-of-run line names the log\n\(r)")
        let recs = records(log)
        let kinds = recs.compactMap { $0["kind"] as? String }
        #expect(kinds.first == "session.start")
        #expect(kinds.contains("process.exec"))
        #expect(kinds.suffix(3) == ["process.exit", "session.end", "checkpoint"], "\(kinds)")
        let start = try #require(recs.first)
        let profile = try #require(start["profile"] as? [String: Any])
        #expect(profile["name"] as? String == "default")
        #expect((profile["sha256"] as? String)?.count == 64)
        #expect(profile["resolved"] is [String: Any])
        #expect((start["run_key"] as? String)?.count == 64)
        let envKeys = try #require(start["env_keys"] as? [String])
        #expect(envKeys.contains("PATH") && !envKeys.contains("AWS_SECRET_ACCESS_KEY"))
        let exit = try #require(recs.first { $0["kind"] as? String == "process.exit" })
        #expect(exit["status"] as? Int == 3)
        #expect(exit["reason"] as? String == "exited")
        #expect(exit["rusage"] is [String: Any])
        for (i, rec) in recs.enumerated() { #expect(rec["seq"] as? Int == i + 1) }
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("hidden-value") == false)

        let verify = agentrun(["log", "verify", log])
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stdout.contains("intact"), "\(verify)")
    }

    @Test("by default a run's log goes to the state directory; log list, show and export find it")
    func stateDirectory() throws {
        let t = try TestDir("prov")
        let r = t.sandbox(["true"])
        #expect(r.status == 0, "\(r)")
        let runID = try #require(r.stderr.split(separator: " ").drop { $0 != "run" }.dropFirst().first.map(String.init), "\(r)")
        let log = Harness.runsRoot + "/" + runID + "/log.jsonl"
        #expect(FileManager.default.fileExists(atPath: log), "\(r)")
        let list = agentrun(["log", "list"])
        #expect(list.status == 0 && list.stdout.contains(runID), "\(list)")
        let show = agentrun(["log", "show", runID])
        #expect(show.status == 0 && show.stdout.contains("session.start") && show.stdout.contains("process.exit"), "\(show)")
        let ocsf = agentrun(["log", "export", runID, "--format", "ocsf"])
        #expect(ocsf.status == 0, "\(ocsf)")
        let events = ocsf.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.contains { $0["class_uid"] as? Int == 1007 }, "\(ocsf)")
        #expect(events.allSatisfy { $0["unmapped"] != nil }, "\(ocsf)")
    }

    @Test("timeouts and forwarded signals leave intact logs with the right reason")
    func reasons() throws {
        let t = try TestDir("prov")
        let (timeout, timeoutLog) = run(t, ["sleep", "30"], options: ["--timeout", "1s"], name: "timeout")
        #expect(timeout.status == 124, "\(timeout)")
        #expect(records(timeoutLog).first { $0["kind"] as? String == "process.exit" }?["reason"] as? String == "timeout")
        #expect(agentrun(["log", "verify", timeoutLog]).status == 0)

        let dir = t.hostPath("stopped")
        let child = try Child(argv: t.agentrunArgv(["sleep", "30"], options: ["--log", dir]), cwd: t.workspace)
        Host.sleep(0.5)
        child.signal(SIGTERM)
        let r = child.finish(timeout: 20)
        #expect(r.status == 128 + SIGTERM, "\(r)")
        let exit = records(dir + "/log.jsonl").first { $0["kind"] as? String == "process.exit" }
        #expect(exit?["reason"] as? String == "supervisor-stopped", "\(String(describing: exit))")
        #expect(agentrun(["log", "verify", dir]).status == 0)
    }

    @Test("values of provenance.secrets never reach the log; equal secrets correlate")
    func secrets() throws {
        let t = try TestDir("prov")
        let profile = try t.profile("extends: default\nprovenance:\n  secrets: [DEPLOY_TOKEN]\n")
        let secret = "tok-9f8e7d6c5b4a"
        let (r, log) = run(t, ["echo", "Authorization: Bearer \(secret)", secret], profile: profile, env: ["DEPLOY_TOKEN": secret])
        #expect(r.status == 0, "\(r)")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!text.contains(secret), "the secret is in the log")
        let exec = try #require(records(log).first { $0["kind"] as? String == "process.exec" })
        let argv = try #require(exec["argv"] as? [String])
        #expect(argv[1].hasPrefix("Authorization: Bearer hmac-sha256:"), "\(argv)")
        #expect(argv[2].hasPrefix("hmac-sha256:") && argv[1].hasSuffix(argv[2]), "equal secrets, equal digests: \(argv)")
        // Control: without the profile setting the value is logged as is.
        let (_, plain) = run(t, ["echo", secret], env: ["DEPLOY_TOKEN": secret], name: "plain")
        #expect(try String(contentsOfFile: plain, encoding: .utf8).contains(secret))
    }

    @Test("an operator key certifies the run key; verify --key accepts it and rejects another key")
    func operatorKey() throws {
        let t = try TestDir("prov")
        let key = t.hostPath("operator.key")
        let gen = agentrun(["log", "keygen", "--out", key])
        #expect(gen.status == 0, "\(gen)")
        let other = t.hostPath("other.key")
        #expect(agentrun(["log", "keygen", "--out", other]).status == 0)
        let (r, log) = run(t, ["true"], options: ["--sign-key", key])
        #expect(r.status == 0, "\(r)")
        #expect(agentrun(["log", "verify", log, "--key", key + ".pub"]).status == 0)
        let wrong = agentrun(["log", "verify", log, "--key", other + ".pub"])
        #expect(wrong.status == 1, "\(wrong)")
        // A log written without an operator key does not pass --key either.
        let (_, unsigned) = run(t, ["true"], name: "unsigned")
        #expect(agentrun(["log", "verify", unsigned, "--key", key + ".pub"]).status == 1)
    }

    @Test("verify names an edited record")
    func tamper() throws {
        let t = try TestDir("prov")
        let (_, log) = run(t, ["sh", "-c", "exit 7"])
        var text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(agentrun(["log", "verify", log]).status == 0)
        text = text.replacingOccurrences(of: "\"status\":7", with: "\"status\":0")
        try text.write(toFile: log, atomically: false, encoding: .utf8)
        let r = agentrun(["log", "verify", log])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("edited") || r.stdout.contains("hash"), "\(r)")
    }

    @Test("agentrun killed with SIGKILL: the log verifies up to its last checkpoint and reports the unsealed tail")
    func supervisorKilled() throws {
        let t = try TestDir("prov")
        let profile = try t.profile("extends: default\nprovenance:\n  checkpoint_interval: 100ms\n")
        let dir = t.hostPath("killed")
        let child = try Child(argv: t.agentrunArgv(["sleep", "30"], profile: profile, options: ["--log", dir]), cwd: t.workspace)
        Host.sleep(1.5)
        child.signal(SIGKILL)
        _ = child.finish(timeout: 10)
        let r = agentrun(["log", "verify", dir])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("unsealed") || r.stdout.contains("not final"), "\(r)")
        let kinds = records(dir + "/log.jsonl").compactMap { $0["kind"] as? String }
        #expect(kinds.contains("checkpoint"), "\(kinds)")
    }

    // MARK: fail closed

    @Test("a log on a filesystem that fills up mid-run stops the agent (exit 123)")
    func fullFilesystem() throws {
        guard controlNeedsRoot() else { return }
        let t = try TestDir("prov")
        // The run directory is on a 256 KiB tmpfs in a private mount namespace. Once the agent
        // runs, the rest of the tmpfs is filled; the next checkpoint (every 20 ms) cannot be
        // written and the agent, which would sleep 20 s, must be stopped.
        let profile = try t.profile("extends: default\nprovenance:\n  checkpoint_interval: 20ms\n")
        let mnt = t.hostPath("small")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let script = """
            mount -t tmpfs -o size=256k tmpfs "$1" || exit 90
            "$2" --profile "$3" --workspace "$4" --log "$1/run" -- sh -c 'sleep 20; touch finished' &
            pid=$!
            sleep 1
            dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null
            wait $pid
            """
        let start = Date()
        let r = Harness.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", mnt, Harness.agentrun, profile, t.workspace],
                            cwd: t.workspace, timeout: 40)
        #expect(r.status == 123, "\(r)")
        #expect(r.stderr.contains("provenance"), "\(r)")
        #expect(Date().timeIntervalSince(start) < 10, "the agent was not stopped promptly")
        #expect(!FileManager.default.fileExists(atPath: t.path("finished")), "the agent kept running after the log failed")
    }

    @Test("a log directory too small for session.start keeps the agent from starting (exit 123)")
    func noRoomAtStart() throws {
        guard controlNeedsRoot() else { return }
        let t = try TestDir("prov")
        let mnt = t.hostPath("tiny")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let script = "mount -t tmpfs -o size=4k tmpfs \"$1\" && dd if=/dev/zero of=\"$1/filler\" bs=1k 2>/dev/null; exec \"$2\" --workspace \"$3\" --log \"$1/run\" -- sh -c 'touch started'"
        let r = Harness.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", mnt, Harness.agentrun, t.workspace],
                            cwd: t.workspace, timeout: 40)
        #expect(r.status == 123, "\(r)")
        #expect(!FileManager.default.fileExists(atPath: t.path("started")), "the agent ran without a log")
    }

    @Test("a log beyond RLIMIT_FSIZE stops the agent (exit 123)")
    func fileSizeLimit() throws {
        let t = try TestDir("prov")
        let profile = try t.profile("extends: default\nprovenance:\n  checkpoint_interval: 20ms\nlimits:\n  file_size: unlimited\n")
        let marker = t.path("finished")
        let r = Harness.run(["prlimit", "--fsize=40000"] + t.agentrunArgv(["sh", "-c", "sleep 20; touch finished"], profile: profile,
                                                                          options: ["--log", t.hostPath("fsize")]),
                            cwd: t.workspace, timeout: 40)
        #expect(r.status == 123, "\(r)")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test("removing the log mid-run stops the agent (exit 123)")
    func logRemoved() throws {
        let t = try TestDir("prov")
        let dir = t.hostPath("removed")
        let child = try Child(argv: t.agentrunArgv(["sh", "-c", "sleep 20; touch finished"], options: ["--log", dir]), cwd: t.workspace)
        Host.sleep(0.7)
        unlink(dir + "/log.jsonl")
        let r = child.finish(timeout: 20)
        #expect(r.status == 123, "\(r)")
        #expect(!FileManager.default.fileExists(atPath: t.path("finished")))
    }

    @Test("a run directory that cannot be created keeps the agent from starting (exit 123)")
    func unwritableRunDirectory() throws {
        let t = try TestDir("prov")
        let r = t.sandbox(["sh", "-c", "touch started"], options: ["--log", "/proc/agentrun-cannot-be-here"])
        #expect(r.status == 123, "\(r)")
        #expect(!FileManager.default.fileExists(atPath: t.path("started")))
    }
}

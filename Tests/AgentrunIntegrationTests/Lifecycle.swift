// Functional tests of the runner's contract: exit statuses, signals, timeouts and the death of
// the whole process tree, stdin/stdout, environment scrubbing, argument parsing, and ordinary
// programs (sh, bash, python3, git, cc) inside the default sandbox.

import Foundation
import Glibc
import Testing

/// Reads the daemon marker (a counter the grandchild rewrites every 100 ms).
private func markerValue(_ path: String) -> Int? {
    guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return Int(s.split(separator: " ").first ?? "")
}

/// True when the marker still changes over `window` seconds (the writer is alive).
private func markerChanges(_ path: String, window: Double = 0.6) -> Bool {
    let a = markerValue(path)
    Host.sleep(window)
    return markerValue(path) != a
}

private func waitForMarker(_ path: String, timeout: Double = 10) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if (markerValue(path) ?? 0) >= 2 { return true }
        Host.sleep(0.05)
    }
    return false
}

@Suite("Lifecycle", .serialized, .needsSandbox, .timeLimit(.minutes(1)))
struct Lifecycle {
    @Test("the command's exit status passes through", arguments: [0, 3, 255])
    func exitStatus(_ code: Int) throws {
        let t = try TestDir("life")
        let r = t.sandbox(["sh", "-c", "exit \(code)"])
        #expect(r.status == Int32(code), "\(r)")
        #expect(t.probeIn(["exit", "\(code)"]).status == Int32(code))
    }

    @Test("death by signal N is reported as 128+N", arguments: [SIGKILL, SIGTERM, SIGSEGV])
    func signalStatus(_ sig: Int32) throws {
        let t = try TestDir("life")
        let r = t.probeIn(["raise", "\(sig)"])
        #expect(r.status == 128 + sig, "\(r)")
    }

    @Test("--timeout kills the whole tree, including a setsid'ed grandchild that ignores SIGTERM, and exits 124")
    func timeoutKillsTree() throws {
        let t = try TestDir("life")
        let marker = t.path("marker")
        let start = Date()
        let r = t.probeIn(["daemon", marker, "wait"], options: ["--timeout", "1s"], timeout: 20)
        let elapsed = Date().timeIntervalSince(start)
        #expect(r.status == 124, "\(r)")
        #expect(elapsed < 8, "agentrun took \(elapsed) s to enforce --timeout 1s")
        #expect(markerValue(marker) != nil, "the grandchild never ran\n\(r)")
        #expect(!markerChanges(marker), "the grandchild is still writing its marker after agentrun returned")
        #expect(!r.pipesHeldOpen, "a process of the sandbox still held agentrun's stdout")
        #expect(Host.pids(commandLineContaining: t.probe).isEmpty, "processes of the sandbox survived")
    }

    @Test("a daemonized grandchild does not outlive the agent")
    func grandchildDiesWithAgent() throws {
        let t = try TestDir("life")
        let marker = t.path("marker")
        let r = t.probeIn(["daemon", marker, "exit"], timeout: 20)
        #expect(r.status == 0, "\(r)")
        Host.sleep(0.3)
        #expect(!markerChanges(marker), "the grandchild keeps running after the agent and agentrun exited")
        #expect(Host.pids(commandLineContaining: t.probe).isEmpty, "processes of the sandbox survived")
    }

    @Test("SIGTERM, SIGINT and SIGHUP sent to agentrun reach the agent", arguments: [SIGTERM, SIGINT, SIGHUP])
    func signalForwarding(_ sig: Int32) throws {
        let t = try TestDir("life")
        let child = try t.startSandbox([t.probe, "signals"])
        #expect(child.waitForOutput("ready"), "the agent did not start\n\(child.stdout)\n\(child.stderr)")
        child.signal(sig)
        let r = child.finish(timeout: 10)
        #expect(r.stdout.contains("got signal \(sig)"), "\(r)")
        #expect(r.status == 100 + sig, "the agent's own status (100+N) must pass through\n\(r)")
    }

    @Test("when agentrun is SIGKILLed the whole sandbox dies")
    func sigkillAgentrun() throws {
        let t = try TestDir("life")
        let marker = t.path("marker")
        let child = try t.startSandbox([t.probe, "daemon", marker, "wait"])
        #expect(waitForMarker(marker), "the grandchild never started\n\(child.stdout)\n\(child.stderr)")
        child.signal(SIGKILL)
        _ = child.finish(timeout: 10)
        Host.sleep(0.5)
        #expect(!markerChanges(marker), "the sandbox survived agentrun's death")
        #expect(Host.pids(commandLineContaining: t.probe).isEmpty, "processes of the sandbox survived")
    }

    @Test("1 MiB on stdin comes back unchanged on stdout")
    func stdinPassThrough() throws {
        let t = try TestDir("life")
        var data = [UInt8](repeating: 0, count: 1 << 20)
        for i in data.indices { data[i] = UInt8.random(in: 0...255) }
        let child = try Child(argv: t.agentrunArgv(["cat"]), cwd: t.workspace, stdin: .bytes(data))
        _ = child.finish(timeout: 30)
        #expect(child.status == 0, "\(child.stderr)")
        #expect(child.stdoutBytes.count == data.count, "got \(child.stdoutBytes.count) bytes")
        #expect(child.stdoutBytes == data, "stdout differs from stdin")
    }

    @Test("a Python agent runs: agentrun -- python3 agent.py (threads, subprocess, workspace files)")
    func pythonAgent() throws {
        let t = try TestDir("life")
        try t.write("agent.py", """
            import os, subprocess, sys, threading
            results = []
            threads = [threading.Thread(target=lambda i=i: results.append(i * i)) for i in range(8)]
            for th in threads: th.start()
            for th in threads: th.join()
            out = subprocess.run(["sh", "-c", "echo from-subprocess"], capture_output=True, text=True).stdout.strip()
            with open("result.txt", "w") as f: f.write(str(sum(results)))
            print("python", sys.version_info[0], out, sum(results), os.getcwd())
            """)
        let r = t.sandbox(["python3", "agent.py"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("python 3 from-subprocess 140 \(t.workspace)"), "\(r)")
        #expect(t.read("result.txt") == "140")
    }

    @Test("the environment is scrubbed: --env FOO=bar and --env FOO pass, host secrets do not")
    func environment() throws {
        let t = try TestDir("life")
        let r = t.sandbox(["env"], options: ["--env", "FOO=bar", "--env", "PASSED"],
                          env: ["PASSED": "from-host", "GITHUB_TOKEN": "ghp_secret", "AWS_SECRET_ACCESS_KEY": "aws_secret",
                                "LANG": "C.UTF-8", "RANDOM_HOST_VAR": "x"])
        #expect(r.status == 0, "\(r)")
        var env: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            if let eq = line.firstIndex(of: "=") { env[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
        }
        #expect(env["FOO"] == "bar")
        #expect(env["PASSED"] == "from-host")
        #expect(env["GITHUB_TOKEN"] == nil && env["AWS_SECRET_ACCESS_KEY"] == nil && env["RANDOM_HOST_VAR"] == nil, "\(r.stdout)")
        #expect(env["LANG"] == "C.UTF-8")
        #expect(env["AGENTRUN"] == "1")
        #expect(!(env["AGENTRUN_RUN_ID"] ?? "").isEmpty)
        #expect(env["AGENTRUN_PROFILE"] == "default")
        #expect(env["AGENTRUN_SOCKET"] == "unix:///run/agentrun/agentrun.sock")
        #expect(env["HOME"] == "/home/agent")
        for key in ["PATH", "USER", "LOGNAME", "SHELL", "TMPDIR"] { #expect(env[key] != nil, "\(key) missing") }
        let allowed: Set<String> = ["PATH", "LANG", "LANGUAGE", "TERM", "COLORTERM", "NO_COLOR", "TZ", "HOME", "USER", "LOGNAME",
                                    "SHELL", "TMPDIR", "AGENTRUN", "AGENTRUN_RUN_ID", "AGENTRUN_PROFILE", "AGENTRUN_SOCKET", "FOO", "PASSED", "PWD", "SHLVL", "_"]
        let unexpected = env.keys.filter { !allowed.contains($0) && !$0.hasPrefix("LC_") }
        #expect(unexpected.isEmpty, "variables outside the allow-list: \(unexpected.sorted())")
    }

    @Test("arguments after -- are never parsed as agentrun options")
    func argumentsAfterTerminator() throws {
        let t = try TestDir("life")
        let r = t.sandbox(["--profile", "/nonexistent"])
        #expect(r.status == 127, "`agentrun -- --profile x` must try to run a command named --profile\n\(r)")
        let h = t.sandbox(["--help"])
        #expect(h.status == 127, "`agentrun -- --help` must try to run a command named --help\n\(h)")
        let v = t.sandbox(["echo", "--timeout", "1s", "--env", "X"])
        #expect(v.status == 0 && v.stdout == "--timeout 1s --env X\n", "\(v)")
    }

    @Test("a missing command exits 127 and a non-executable file 126")
    func notFoundNotExecutable() throws {
        let t = try TestDir("life")
        let missing = t.sandbox(["agentrun-no-such-command"])
        #expect(missing.status == 127, "\(missing)")
        let missingPath = t.sandbox([t.path("nope")])
        #expect(missingPath.status == 127, "\(missingPath)")
        try t.write("data.txt", "not a program", mode: 0o644)
        let notExec = t.sandbox([t.path("data.txt")])
        #expect(notExec.status == 126, "\(notExec)")
    }

    @Test("a command without -- is a usage error (exit 64)")
    func missingTerminator() throws {
        let t = try TestDir("life")
        let r = Harness.run([Harness.agentrun, "python3", "x.py"], cwd: t.workspace)
        #expect(r.status == 64, "\(r)")
    }

    @Test("a bad profile fails with 125 and names the problem")
    func badProfile() throws {
        let t = try TestDir("life")
        let missing = t.sandbox(["true"], profile: t.hostPath("missing.yaml"))
        #expect(missing.status == 125 && !missing.stderr.isEmpty, "\(missing)")
        let typo = try t.profile("extends: default\nlimits:\n  procesess: 64\n")
        let r = t.sandbox(["true"], profile: typo)
        #expect(r.status == 125 && r.stderr.contains("procesess"), "an unknown key must be an error naming it\n\(r)")
    }

    @Test("identity inside: uid/gid 1000 when run as root, pid 2 under init, hostname agentrun, cwd = workspace")
    func identity() throws {
        let t = try TestDir("life")
        let r = t.probeIn(["id"])
        #expect(r.status == 0, "\(r)")
        if Harness.isRoot { #expect(r.stdout.contains("uid=1000 gid=1000 euid=1000 egid=1000 "), "\(r)") }
        #expect(r.stdout.contains(" pid=2 ppid=1 "), "\(r)")
        #expect(r.stdout.contains("hostname=agentrun\n"), "\(r)")
        #expect(r.stdout.contains("cwd=\(t.workspace)\n"), "\(r)")
    }

    @Test("HOME and /tmp are private, empty and writable")
    func privateHomeAndTmp() throws {
        let t = try TestDir("life")
        // The workspace lives under /tmp here, so its mount point's ancestors are the only entries
        // allowed in the private /tmp.
        let top = t.workspace.hasPrefix("/tmp/") ? String(t.workspace.dropFirst(5).split(separator: "/").first ?? "") : ""
        let r = t.sandbox(["sh", "-c", "ls -A /tmp | grep -vx '\(top)'; echo --; ls -A $HOME; echo --; echo x > /tmp/a && echo y > $HOME/b && cat /tmp/a $HOME/b"])
        #expect(r.status == 0 && r.stdout == "--\n--\nx\ny\n", "\(r)")
        #expect(!t.exists("/tmp/a") || (try? String(contentsOfFile: "/tmp/a", encoding: .utf8)) != "x\n", "the agent's /tmp/a reached the host")
    }

    @Test("files the agent creates in the workspace belong to the caller on the host")
    func workspaceOwnership() throws {
        let t = try TestDir("life")
        let r = t.sandbox(["sh", "-c", "echo hi > created.txt && mkdir made"])
        #expect(r.status == 0, "\(r)")
        let st = try #require(Host.stat(t.path("created.txt")), "created.txt is missing on the host")
        #expect(st.st_uid == getuid() && st.st_gid == getgid(), "owned by \(st.st_uid):\(st.st_gid), want \(getuid()):\(getgid())")
        let d = try #require(Host.stat(t.path("made")))
        #expect(d.st_uid == getuid())
    }

    @Test("sh and bash run")
    func shells() throws {
        let t = try TestDir("life")
        let sh = t.sandbox(["sh", "-c", "echo sh-ok"])
        #expect(sh.status == 0 && sh.stdout == "sh-ok\n", "\(sh)")
        let bash = t.sandbox(["bash", "-c", "arr=(a b c); echo bash-${#arr[@]}-$((6*7)); ls / >/dev/null"])
        #expect(bash.status == 0 && bash.stdout == "bash-3-42\n", "\(bash)")
    }

    @Test("git init, add and commit work in a workspace subdirectory")
    func gitWorks() throws {
        let t = try TestDir("life")
        let r = t.sandbox(["sh", "-c", """
            set -e
            mkdir repo && cd repo
            git init -q
            git config user.email agent@example.com && git config user.name agent
            echo hello > f.txt && git add f.txt && git commit -q -m first
            git log --oneline | wc -l
            """])
        #expect(r.status == 0 && r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(r)")
        #expect(t.exists("repo/.git/HEAD"))
    }

    @Test("cc compiles and runs a C program in the workspace")
    func compileC() throws {
        let t = try TestDir("life")
        try t.write("hello.c", "#include <stdio.h>\nint main(void) { printf(\"compiled %d\\n\", 6 * 7); return 0; }\n")
        let r = t.sandbox(["sh", "-c", "cc -o hello hello.c && ./hello"], timeout: 60)
        #expect(r.status == 0 && r.stdout == "compiled 42\n", "\(r)")
    }

    @Test("loopback networking works inside (127.0.0.1 and ::1)")
    func loopback() throws {
        let t = try TestDir("life")
        expectSuccess(t.probeIn(["loopback"]), "listening and connecting on loopback")
    }
}

// Attacks on the broker socket: a host secret that must never reach the sandbox, malformed, huge
// and slow requests, processes outside the run (root on the host through /proc/<pid>/root,
// another run's agent, an unprivileged host user, the same user of a rootless run), tampering
// with the socket from inside, and attempts to relax the policy through the socket.
//
// Each attack has a control that shows the test would notice success: the primitive works where
// the protection is absent, or the same request from the agent itself is served.

import Foundation
import Glibc
import Testing

@Suite("Broker attacks", .serialized, .needsSandbox, .timeLimit(.minutes(3)))
struct BrokerAttacks {
    // MARK: the host secret

    @Test("the host secret never appears inside the sandbox: environment, /proc, files, responses, errors, the log")
    func secretNeverInside() throws {
        let t = try TestDir("broker")
        let (server, port, requestsFile) = try Broker.startHTTPServer(t)
        defer { server.stop() }
        let upstream = try Broker.mcpServer(t)
        let profile = try Broker.profile(t, httpPort: port, mcpServer: upstream)
        // The agent gets the secret reversed (it must not be in its argv), rebuilds it in memory
        // and looks for it everywhere it can read.
        let r = try Broker.run(t, profile: profile, script: #"""
            import os, subprocess, sys
            from brokerclient import *
            secret = sys.argv[1][::-1].encode()
            marker = sys.argv[2][::-1].encode()
            found = []
            def scan(where, data):
                if secret in data:
                    found.append(where)
            # Controls: the marker planted in a file and in a child's environment is found by the same scans.
            os.makedirs("/tmp/plant", exist_ok=True)
            open("/tmp/plant/file", "wb").write(b"x" + marker + b"y")
            child = subprocess.Popen(["sleep", "5"], env={"PLANTED": marker.decode()})
            for _ in range(200):  # until the child has exec'd with its own environment
                if marker in open("/proc/%d/environ" % child.pid, "rb").read():
                    break
                __import__("time").sleep(0.01)
            controls = []
            for name, value in os.environ.items():
                scan("environ " + name, value.encode())
            for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self", "thread-self"]:
                for item in ("environ", "cmdline"):
                    try:
                        data = open("/proc/%s/%s" % (pid, item), "rb").read()
                    except OSError:
                        continue
                    scan("/proc/%s/%s" % (pid, item), data)
                    if marker in data:
                        controls.append("/proc/%s/%s" % (pid, item))
            for item in ("mounts", "mountinfo", "status", "maps"):
                scan("/proc/self/" + item, open("/proc/self/" + item, "rb").read())
            roots = ["/run", "/tmp", "/home", "/etc", "/dev/shm", "/var", "/root", os.getcwd(), "/"]
            files = 0
            for root in roots:
                for base, dirs, names in os.walk(root):
                    if base == "/":
                        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin", "opt", "dev")]
                    for n in names:
                        p = os.path.join(base, n)
                        try:
                            if os.path.islink(p) or not os.path.isfile(p) or os.path.getsize(p) > 50 << 20:
                                continue
                            data = open(p, "rb").read()
                        except OSError:
                            continue
                        files += 1
                        scan("file " + p, data)
                        if marker in data:
                            controls.append("file " + p)
            child.kill()
            # What the broker says: tools that echo the secret, failing tools, every route.
            answers = {
                "http_get": call("http_get", {"q": "x"}), "http_fail": call("http_fail", {}),
                "http_down": call("http_down", {}), "env_dump": call("env_dump", {}), "up_token": call("up_token", {}),
                "session": request("GET", "/v1/session"), "tools": rpc("tools/list"),
                "check": request("POST", "/v1/check", {"tool": "http_get", "arguments": {"q": "{secret:api_key}"}}),
                "cred_secret": request("POST", "/v1/credentials", {"name": "api_key", "audience": "https://ci.test"}),
                "template": call("http_get", {"q": "{secret:api_key}"}),
            }
            for name, answer in answers.items():
                scan("answer " + name, json.dumps(answer).encode())
            out(found=found, controls=controls, files=files, answers={k: json.dumps(v)[:3000] for k, v in answers.items()})
            """#, args: [String(Broker.secret.reversed()), String("planted-marker-\(getpid())".reversed())], timeout: 120)
        #expect(r.result.status == 0, "\(r)")
        #expect(r["found"].array.isEmpty, "the secret is visible inside the sandbox at: \(r["found"])\nanswers: \(r["answers"])")
        // Controls: the scans see a planted value in a file and in another process's environment.
        let controls = r["controls"].strings
        #expect(controls.contains("file /tmp/plant/file") && controls.contains { $0.hasSuffix("/environ") }, "CONTROL FAILED: \(controls)")
        #expect((r["files"].int ?? 0) > 20, "the file scan read only \(r["files"]) files")
        // Control: the secret was really used (it reached the host server and the host command).
        let requests = Broker.httpRequests(requestsFile)
        #expect(requests.contains { $0["headers"]["Authorization"].string == "Bearer " + Broker.secret }, "CONTROL FAILED: \(requests)")
        #expect(r["answers"]["env_dump"].string?.contains("TOOL_TOKEN=Bearer ") == true, "\(r["answers"]["env_dump"])")
        #expect(r["answers"]["up_token"].string?.contains("token=") == true, "\(r["answers"]["up_token"])")
        // The template injection attempt sent the literal text, not the secret.
        #expect(requests.contains { $0["headers"]["X-Query"].string == "{secret:api_key}" }, "\(requests)")
        #expect(!requests.contains { ($0["path"].string ?? "").contains(Broker.secret) }, "an argument pulled the secret into a URL")
        // The log: never the value (an HMAC of it is fine).
        let log = r.logText
        #expect(!log.isEmpty && !log.contains(Broker.secret), "the secret is in the provenance log")
        #expect(!log.contains(String(Broker.secret.dropFirst(8))), "a part of the secret is in the provenance log")
    }

    // MARK: malformed, huge and slow requests

    @Test("malformed, huge and slow requests are cut off while another client is served promptly")
    func limits() throws {
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let r = try Broker.run(t, profile: profile, script: #"""
            import socket, threading, time
            from brokerclient import *
            res = {}
            head = b"POST /v1/check HTTP/1.1\r\nHost: agentrun\r\nAgentRun-Request: 1\r\nContent-Type: application/json\r\n"
            body = b'{"tool": "echo", "arguments": {"text": "slow"}}'
            def slowloris():
                res["slowloris"] = exchange(head + b"Content-Length: %d\r\n\r\n" % len(body) + body, timeout=30, pace=1.0)
            def slow_body():
                s = socket.socket(socket.AF_UNIX); s.connect(PATH)
                s.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body))
                start = time.monotonic(); closed = False; reply = b""
                try:
                    for i in range(len(body)):
                        s.sendall(body[i:i+1]); time.sleep(1)
                except OSError:
                    closed = True
                s.settimeout(3)
                try:
                    reply = s.recv(65536)
                except OSError:
                    pass
                res["slow_body"] = {"closed": closed, "seconds": time.monotonic() - start, "reply": reply.decode("latin-1")}
            threads = [threading.Thread(target=slowloris), threading.Thread(target=slow_body)]
            for th in threads: th.start()
            time.sleep(1.5)
            latencies = []
            for i in range(10):
                t0 = time.monotonic()
                r = request("GET", "/v1/session", timeout=10)
                latencies.append([r["status"], time.monotonic() - t0])
                time.sleep(0.8)
            res["latencies"] = latencies
            big = b"x" * ((1 << 20) + 1024)
            res["declared_huge"] = exchange(head + b"Content-Length: 2097152\r\n\r\n{", timeout=5)
            res["sent_huge"] = exchange(head + b"Content-Length: %d\r\n\r\n" % len(big) + big, timeout=10)
            res["chunked_huge"] = exchange(head + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n", timeout=10)
            res["many_headers"] = exchange(b"GET /v1/session HTTP/1.1\r\nAgentRun-Request: 1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n", timeout=5)
            res["long_header"] = exchange(b"GET /v1/session HTTP/1.1\r\nAgentRun-Request: 1\r\nX-Long: " + b"a" * 40000 + b"\r\n\r\n", timeout=5)
            res["long_uri"] = exchange(b"GET /v1/session?" + b"a" * 40000 + b" HTTP/1.1\r\nAgentRun-Request: 1\r\n\r\n", timeout=5)
            res["garbage"] = exchange(b"GARBAGE\r\n\r\n", timeout=5)
            res["binary"] = exchange(bytes(range(256)) * 16, timeout=5)
            res["bad_length"] = exchange(b"POST /v1/check HTTP/1.1\r\nAgentRun-Request: 1\r\nContent-Length: -5\r\n\r\n", timeout=5)
            res["smuggle"] = exchange(head + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/session HTTP/1.1\r\nAgentRun-Request: 1\r\n\r\n", timeout=5)
            res["http09"] = exchange(b"GET /v1/session\r\n\r\n", timeout=15)
            res["bad_version"] = exchange(b"GET /v1/session HTTP/9.9\r\nAgentRun-Request: 1\r\n\r\n", timeout=15)
            for th in threads: th.join()
            # A flood of idle connections beyond the limit, then everything is served again.
            flood = []
            for i in range(140):
                s = socket.socket(socket.AF_UNIX); s.settimeout(5)
                try:
                    s.connect(PATH); flood.append(s)
                except OSError as e:
                    res.setdefault("flood_connect_errors", []).append(type(e).__name__)
            time.sleep(0.5)
            try:
                res["during_flood"] = request("GET", "/v1/session", timeout=5)["status"]
            except Exception as e:
                res["during_flood"] = type(e).__name__
            for s in flood: s.close()
            time.sleep(0.5)
            res["after"] = request("GET", "/v1/session")["status"]
            res["after_call"] = text_of(call("echo", {"text": "still fine"}))
            out(**res)
            """#, timeout: 150)
        #expect(r.result.status == 0, "\(r)")
        // Others are served promptly while two slow clients dribble bytes.
        let latencies = r["latencies"].array
        #expect(latencies.count == 10 && latencies.allSatisfy { $0[0].int == 200 && ($0[1].double ?? 99) < 2 }, "\(r["latencies"])")
        // The slow clients are cut off around the 10 s request timeout (their requests need ~45 s / ~140 s).
        for key in ["slowloris", "slow_body"] {
            let v = r[key]
            #expect((v["seconds"].double ?? 99) < 25, "\(key) was not cut off: \(v)")
            #expect(v["closed"].bool == true || v["send_error"].string != nil || (v["reply"].string ?? "").hasPrefix("HTTP/1.1 408"), "\(key): \(v)")
            #expect(!(v["reply"].string ?? "").contains("\"decision\""), "\(key) was served: \(v)")
        }
        func refusedAndClosed(_ key: String, statuses: Set<Int>, sourceLocation: SourceLocation = #_sourceLocation) {
            let v = r[key]
            let reply = v["reply"].string ?? ""
            let status = reply.hasPrefix("HTTP/1.1 ") ? Int(reply.dropFirst(9).prefix(3)) : nil
            #expect(v["closed"].bool == true || v["send_error"].string != nil, "\(key): the connection stayed open\n\(v)", sourceLocation: sourceLocation)
            #expect(status == nil || statuses.contains(status!), "\(key): status \(String(describing: status)), want one of \(statuses.sorted())\n\(reply.prefix(300))",
                    sourceLocation: sourceLocation)
            #expect(!reply.contains("\"run_id\"") && !reply.contains("\"decision\""), "\(key) was served\n\(reply.prefix(300))", sourceLocation: sourceLocation)
        }
        refusedAndClosed("declared_huge", statuses: [413])
        refusedAndClosed("sent_huge", statuses: [413])
        refusedAndClosed("chunked_huge", statuses: [413])
        refusedAndClosed("many_headers", statuses: [431, 400])
        refusedAndClosed("long_header", statuses: [431, 400])
        refusedAndClosed("long_uri", statuses: [431, 414, 400])
        refusedAndClosed("garbage", statuses: [400])
        refusedAndClosed("binary", statuses: [400])
        refusedAndClosed("bad_length", statuses: [400])
        refusedAndClosed("http09", statuses: [400, 408, 505])
        refusedAndClosed("bad_version", statuses: [400, 408, 505])
        // Smuggling: Content-Length together with chunked is refused, never two requests.
        let smuggle = r["smuggle"]["reply"].string ?? ""
        #expect(smuggle.components(separatedBy: "HTTP/1.1 ").count <= 2 && !smuggle.contains("\"run_id\""), "\(smuggle.prefix(600))")
        // The connection limit holds, and the broker recovers once the flood is gone.
        #expect(r["during_flood"].int != 200, "141 connections were all served: \(r["during_flood"])")
        #expect(r["after"].int == 200 && r["after_call"].string?.contains("still fine") == true, "\(r)")
        let verify = Broker.agentrun(["log", "verify", r.logDir])
        #expect(verify.status == 0, "\(verify)")
    }

    // MARK: processes outside the run

    /// An agent that reports READY, then waits for `release` in its workspace and asks its broker
    /// once more (the broker still serves its own run after the attack).
    private let holder = #"""
        import os, time
        from brokerclient import *
        out(before=request("GET", "/v1/session")["json"]["run_id"])
        print("READY", flush=True)
        deadline = time.time() + 60
        while not os.path.exists("release") and time.time() < deadline:
            time.sleep(0.05)
        out(after=request("GET", "/v1/session")["status"])
        """#

    /// Connects to `path` from the host and asks for /v1/session: {connect, reply | error}.
    private let hostClient = #"""
        import json, socket, sys
        res = {}
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        try:
            s.connect(sys.argv[1])
            res["connect"] = "ok"
            s.sendall(b"GET /v1/session HTTP/1.1\r\nHost: agentrun\r\nAgentRun-Request: 1\r\n\r\n")
            buf = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            res["reply"] = buf.decode("latin-1")
        except Exception as e:
            res["error"] = "%s: %s" % (type(e).__name__, e)
        print(json.dumps(res))
        """#

    private func release(_ t: TestDir, _ child: Child) -> RunResult {
        try? t.write("release", "")
        return child.finish(timeout: 30)
    }

    @Test("root on the host, through /proc/<agent>/root, reaches the socket but is refused, and the refusal is recorded")
    func hostRootRefused() throws {
        guard controlNeedsRoot() else { return }
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let (child, dir) = try Broker.start(t, profile: profile, script: holder, name: "holder")
        try #require(child.waitForOutput("READY", timeout: 20), "the agent did not start\n\(child.stdout)\n\(child.stderr)")
        let pid = try #require(Broker.agentPID(script: t.path("holder.py")), "the agent's host pid was not found")
        let path = "/proc/\(pid)/root\(Broker.socketPath)"
        let attempt = Broker.hostPython(hostClient, [path])
        let r = release(t, child)
        let v = JV.parse(attempt.stdout)
        // Control: root did reach the socket itself (so the refusal is the broker's, not a path error).
        #expect(v["connect"].string == "ok", "CONTROL FAILED: root could not even connect to \(path)\n\(attempt)")
        let reply = v["reply"].string ?? ""
        #expect(reply.hasPrefix("HTTP/1.1 403") || reply.isEmpty, "the broker served a host process:\n\(reply)")
        #expect(!reply.contains("\"run_id\""), "the broker served a host process:\n\(reply)")
        #expect(r.status == 0, "\(r)")
        let values = Broker.values(r.stdout)
        #expect(values["before"]?.string != nil && values["after"]?.int == 200, "the agent itself is served (control)\n\(r)")
        let run = BrokerRun(result: r, logDir: dir, values: values)
        let refused = run.records("broker.refused")
        #expect(refused.count >= 1, "no broker.refused record\n\(run)")
        #expect(refused.contains { $0["peer"]["pid"].exists }, "\(refused)")
        #expect(Broker.agentrun(["log", "verify", dir]).status == 0)
    }

    @Test("an unprivileged host user cannot reach or use a run's socket")
    func unprivilegedUserRefused() throws {
        guard controlNeedsRoot() else { return }
        guard let user = Harness.testUser, let pw = getpwnam(user) else {
            if Harness.requirePrivileged { Issue.record("AGENTRUN_TEST_USER is unset or unknown and AGENTRUN_REQUIRE_PRIVILEGED=1") }
            return
        }
        let wrapper = ["setpriv", "--reuid=\(pw.pointee.pw_uid)", "--regid=\(pw.pointee.pw_gid)", "--clear-groups"]
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let (child, _) = try Broker.start(t, profile: profile, script: holder, name: "holder")
        try #require(child.waitForOutput("READY", timeout: 20), "the agent did not start\n\(child.stdout)\n\(child.stderr)")
        let pid = try #require(Broker.agentPID(script: t.path("holder.py")))
        let path = "/proc/\(pid)/root\(Broker.socketPath)"
        let asUser = Broker.hostPython(hostClient, [path], wrapper: wrapper, env: ["HOME": "/tmp"])
        let asRoot = Broker.hostPython(hostClient, [path])
        let r = release(t, child)
        #expect(JV.parse(asRoot.stdout)["connect"].string == "ok", "CONTROL FAILED: root cannot connect to \(path)\n\(asRoot)")
        let v = JV.parse(asUser.stdout)
        #expect(v["connect"].string != "ok" || (v["reply"].string ?? "").hasPrefix("HTTP/1.1 403"), "\(user) reached the broker\n\(asUser)")
        #expect(!(v["reply"].string ?? "").contains("\"run_id\""), "\(user) was served\n\(asUser)")
        #expect(r.status == 0, "\(r)")
    }

    @Test("in a rootless run, the same user on the host reaches the socket through /proc but the broker refuses")
    func rootlessSameUserRefused() throws {
        guard controlNeedsRoot() else { return }
        guard let user = Harness.testUser, let pw = getpwnam(user) else {
            if Harness.requirePrivileged { Issue.record("AGENTRUN_TEST_USER is unset or unknown and AGENTRUN_REQUIRE_PRIVILEGED=1") }
            return
        }
        let uid = pw.pointee.pw_uid, gid = pw.pointee.pw_gid
        let wrapper = ["setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups"]
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        try t.write("brokerclient.py", Broker.client)
        try t.write("holder.py", holder)
        let chown = Harness.run(["chown", "-R", "\(uid):\(gid)", t.workspace, t.host])
        #expect(chown.status == 0, "\(chown)")
        let dir = t.hostPath("holder")
        let argv = wrapper + t.agentrunArgv([Broker.python, t.path("holder.py")], profile: profile, options: ["--log", dir],
                                            binary: Harness.agentrunForOtherUsers)
        let child = try Child(argv: argv, env: ["HOME": "/tmp", Broker.secretVariable: Broker.secret], cwd: t.workspace)
        try #require(child.waitForOutput("READY", timeout: 20), "the agent did not start\n\(child.stdout)\n\(child.stderr)")
        let pid = try #require(Broker.agentPID(script: t.path("holder.py")), "\(child.stderr)")
        let path = "/proc/\(pid)/root\(Broker.socketPath)"
        let sameUser = Broker.hostPython(hostClient, [path], wrapper: wrapper, env: ["HOME": "/tmp"])
        let r = release(t, child)
        let v = JV.parse(sameUser.stdout)
        let reply = v["reply"].string ?? ""
        #expect(!reply.contains("\"run_id\""), "a host process of the same user was served\n\(sameUser)")
        #expect(v["connect"].string != "ok" || reply.hasPrefix("HTTP/1.1 403") || reply.isEmpty, "\(sameUser)")
        #expect(r.status == 0 && Broker.values(r.stdout)["after"]?.int == 200, "the agent itself is served (control)\n\(r)")
        if v["connect"].string == "ok" {
            let run = BrokerRun(result: r, logDir: dir, values: [:])
            #expect(run.records("broker.refused").count >= 1, "\(run)")
        }
    }

    @Test("another run's agent cannot reach this run's broker (paths, /proc, abstract names)")
    func otherRunCannotReach() throws {
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let (child, _) = try Broker.start(t, profile: profile, script: holder, name: "holder")
        try #require(child.waitForOutput("READY", timeout: 20), "the agent did not start\n\(child.stdout)\n\(child.stderr)")
        let runA = try #require(Broker.values(child.stdout)["before"]?.string, "\(child.stdout)")
        let pidA = Broker.agentPID(script: t.path("holder.py")).map(String.init) ?? "1"
        let other = try TestDir("broker-b")
        let profileB = try Broker.profile(other)
        let b = try Broker.run(other, profile: profileB, script: #"""
            import os, sys
            from brokerclient import *
            own = request("GET", "/v1/session")["json"]["run_id"]
            candidates = {PATH, "/proc/1/root" + PATH, "/proc/%s/root%s" % (sys.argv[1], PATH), "@agentrun", "@" + PATH,
                          "@/run/agentrun", "/run/agentrun/agentrun.sock.0"}
            try:
                for line in open("/proc/net/unix").read().splitlines()[1:]:
                    parts = line.split()
                    if len(parts) >= 8:
                        candidates.add(parts[7])
            except OSError:
                pass
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    candidates.add("/proc/%s/root%s" % (pid, PATH))
                    candidates.add("/proc/%s/cwd/../../run/agentrun/agentrun.sock" % pid)
            reached = {}
            for c in sorted(candidates):
                address = "\0" + c[1:] if c.startswith("@") else c
                try:
                    r = request("GET", "/v1/session", path=address, timeout=3)
                    reached[c] = (r["json"] or {}).get("run_id") or r["status"]
                except Exception as e:
                    reached[c] = type(e).__name__
            out(own=own, reached=reached)
            """#, args: [pidA])
        let a = release(t, child)
        #expect(a.status == 0, "\(a)")
        #expect(b.result.status == 0, "\(b)")
        let own = try #require(b["own"].string)
        #expect(own != runA)
        let reached = b["reached"].dict ?? [:]
        #expect(JV(reached[Broker.socketPath]).string == own, "CONTROL FAILED: run B does not reach its own broker: \(reached)")
        for (candidate, answer) in reached {
            #expect(JV(answer).string != runA, "run B reached run A's broker through \(candidate)")
        }
    }

    // MARK: tampering from inside

    @Test("the agent can neither remove, replace nor re-mode the socket; the same operations work on its own socket (control)")
    func socketTamper() throws {
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let r = try Broker.run(t, profile: profile, script: #"""
            import ctypes, os, socket
            from brokerclient import *
            def attempt(f):
                try:
                    f()
                    return "SUCCEEDED"
                except Exception as e:
                    return type(e).__name__ + ": " + str(e)
            def bind(path):
                s = socket.socket(socket.AF_UNIX)
                s.bind(path)
                s.listen(1)
                return s
            libc = ctypes.CDLL(None, use_errno=True)
            def mount_tmpfs(target):
                if libc.mount(b"none", target.encode(), b"tmpfs", 0, None) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, os.strerror(e))
            P, D = PATH, os.path.dirname(PATH)
            before = os.stat(P)
            attempts = {
                "unlink": attempt(lambda: os.unlink(P)),
                "rename": attempt(lambda: os.rename(P, D + "/moved.sock")),
                "rename_to_tmp": attempt(lambda: os.rename(P, "/tmp/moved.sock")),
                "chmod": attempt(lambda: os.chmod(P, 0o777)),
                "chown": attempt(lambda: os.chown(P, os.getuid(), os.getgid())),
                "utime": attempt(lambda: os.utime(P)),
                "bind_over": attempt(lambda: bind(P)),
                "bind_beside": attempt(lambda: bind(D + "/evil.sock")),
                "symlink_beside": attempt(lambda: os.symlink("/tmp/evil.sock", D + "/link.sock")),
                "hardlink": attempt(lambda: os.link(P, D + "/hard.sock")),
                "mkdir_beside": attempt(lambda: os.mkdir(D + "/x")),
                "chmod_dir": attempt(lambda: os.chmod(D, 0o777)),
                "rmdir_dir": attempt(lambda: os.rmdir(D)),
                "rename_dir": attempt(lambda: os.rename(D, "/run/agentrun.old")),
                "mount_over_dir": attempt(lambda: mount_tmpfs(D)),
                "mount_over_socket": attempt(lambda: mount_tmpfs(P)),
            }
            after = os.stat(P)
            # Controls: the same operations on a socket the agent binds itself.
            os.makedirs("/tmp/ctl", exist_ok=True)
            own = bind("/tmp/ctl/a.sock")
            controls = {
                "chmod": attempt(lambda: os.chmod("/tmp/ctl/a.sock", 0o777)),
                "rename": attempt(lambda: os.rename("/tmp/ctl/a.sock", "/tmp/ctl/b.sock")),
                "unlink": attempt(lambda: os.unlink("/tmp/ctl/b.sock")),
                "bind_over": attempt(lambda: bind("/tmp/ctl/b.sock")),
            }
            out(attempts=attempts, controls=controls, same_inode=before.st_ino == after.st_ino and before.st_dev == after.st_dev,
                mode_before=before.st_mode, mode_after=after.st_mode, uid_after=after.st_uid, listing=sorted(os.listdir(D)),
                session=request("GET", "/v1/session")["status"], call=text_of(call("echo", {"text": "after tampering"})))
            """#)
        #expect(r.result.status == 0, "\(r)")
        for (what, outcome) in r["controls"].dict ?? [:] {
            #expect(JV(outcome).string == "SUCCEEDED", "CONTROL FAILED: \(what) on the agent's own socket: \(outcome)")
        }
        #expect((r["controls"].dict ?? [:]).count == 4)
        for (what, outcome) in r["attempts"].dict ?? [:] {
            #expect(JV(outcome).string != "SUCCEEDED", "the agent could \(what) the broker's socket")
        }
        #expect((r["attempts"].dict ?? [:]).count == 16)
        #expect(r["same_inode"].bool == true && r["mode_before"].int == r["mode_after"].int, "\(r)")
        #expect(r["listing"].strings == ["agentrun.sock"], "\(r["listing"])")
        #expect(r["session"].int == 200 && r["call"].string?.contains("after tampering") == true, "\(r)")
    }

    @Test("the agent cannot relax its policy through the socket")
    func noPolicyRelaxation() throws {
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let r = try Broker.run(t, profile: profile, script: #"""
            from brokerclient import *
            def decision(res):
                d = (res.get("_meta") or {}).get("agentrun/decision") or {}
                return [res.get("isError"), d.get("effect"), d.get("rule_id")]
            tools_before = rpc("tools/list")["json"]["result"]["tools"]
            session_before = request("GET", "/v1/session")["json"]
            deep = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x", "d": ' + b'[' * 5000 + b']' * 5000 + b'}}}'
            attempts = {
                "post_policy": request("POST", "/v1/policy", {"tools": {"echo": {"rules": [{"id": "x", "effect": "allow"}]}}})["status"],
                "put_session": request("PUT", "/v1/session", {"budgets": {"limited": {"per_run": 1000}}})["status"],
                "post_session": request("POST", "/v1/session", {"budgets": {}})["status"],
                "post_tools": request("POST", "/v1/tools", {"name": "shell"})["status"],
                "path_variants": [request("GET", p)["status"] for p in ("/v1//session", "/V1/SESSION", "/v1/session/", "/v1/./session", "/v1/session%00", "/mcp/../v1/session")],
                "register": (rpc("tools/register", {"name": "shell", "backend": {"command": {"argv": ["/bin/sh"]}}})["json"] or {}).get("error", {}).get("code"),
                "set_level": (rpc("logging/setLevel", {"level": "debug"})["json"] or {}).get("error", {}).get("code"),
                "resources": (rpc("resources/list")["json"] or {}).get("error", {}).get("code"),
                "meta_smuggle": decision(rpc("tools/call", {"name": "echo", "arguments": {"text": "forbidden"},
                                                  "_meta": {"agentrun/decision": {"effect": "allow", "rule_id": "echo-allowed"}}})["json"]["result"]),
                "args_meta": decision(call("echo", {"text": "forbidden", "_meta": {"agentrun/decision": {"effect": "allow"}}})),
                "case_name": (rpc("tools/call", {"name": "ECHO", "arguments": {"text": "x"}})["json"] or {}).get("error", {}).get("code"),
                "nul_name": (rpc("tools/call", {"name": "echo\u0000", "arguments": {"text": "x"}})["json"] or {}).get("error", {}).get("code"),
                "huge_id": rpc("ping", id="i" * 500000)["status"],
                "huge_number_id": request("POST", "/mcp", raw=b'{"jsonrpc": "2.0", "id": 1e400, "method": "ping"}')["status"],
                "deep_nesting": request("POST", "/mcp", raw=deep)["status"],
                "duplicate_keys": request("POST", "/mcp", raw=b'{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "forbidden", "text": "ok"}}}')["json"],
                "run_header": request("GET", "/v1/session", headers={"AgentRun-Run-Id": "someone-else", "X-Forwarded-For": "127.0.0.1"})["json"]["run_id"],
            }
            budget = [decision(call("limited", {})) for _ in range(3)]
            rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "again", "version": "2"}})
            budget.append(decision(call("limited", {})))
            out(attempts=attempts, budget=budget, still_denied=decision(call("echo", {"text": "forbidden"})),
                tools_same=rpc("tools/list")["json"]["result"]["tools"] == tools_before,
                run_same=request("GET", "/v1/session")["json"]["run_id"] == session_before["run_id"], run_id=session_before["run_id"])
            """#)
        #expect(r.result.status == 0, "\(r)")
        let a = r["attempts"]
        for key in ["post_policy", "put_session", "post_session", "post_tools"] {
            #expect([404, 405].contains(a[key].int ?? 0), "\(key): \(a[key])")
        }
        #expect(a["path_variants"].array.count == 6 && a["path_variants"].array.allSatisfy { [200, 400, 404].contains($0.int ?? 0) },
                "\(a["path_variants"])")
        for key in ["register", "set_level", "resources"] { #expect(a[key].int == -32601, "\(key): \(a[key])") }
        #expect(a["meta_smuggle"][1].string == "deny" && a["meta_smuggle"][2].string == "echo-forbidden-word", "\(a["meta_smuggle"])")
        #expect(a["args_meta"][1].string == "deny", "\(a["args_meta"])")
        #expect(a["case_name"].int == -32602 && a["nul_name"].int == -32602, "\(a)")
        #expect([200, 400, 413].contains(a["huge_id"].int ?? 0), "\(a["huge_id"])")
        #expect([200, 400].contains(a["huge_number_id"].int ?? 0) && [200, 400].contains(a["deep_nesting"].int ?? 0), "\(a)")
        // Duplicate keys: refused, or the decision and what ran agree (never "checked one value, ran another").
        let dup = a["duplicate_keys"]
        if dup["result"].exists {
            let ran = dup["result"]["content"][0]["text"].string ?? ""
            let d = dup["result"]["_meta"]["agentrun/decision"]
            #expect((d["effect"].string == "deny") || !ran.contains("forbidden"), "\(dup)")
            let recorded = r.calls(of: "echo").first { $0["request_id"].int == 5 }
            #expect(recorded == nil || (recorded!["arguments"]["text"].string == "ok") == (d["effect"].string == "allow"), "\(String(describing: recorded))")
        } else {
            #expect(dup["error"]["code"].int != nil, "\(dup)")
        }
        #expect(a["run_header"].string == r["run_id"].string, "\(a["run_header"])")
        let budget = r["budget"].array.map { $0[2].string ?? "?" }
        #expect(budget == ["limited-allowed", "limited-allowed", "budget-per-run", "budget-per-run"], "\(budget)")
        #expect(r["still_denied"][1].string == "deny" && r["tools_same"].bool == true && r["run_same"].bool == true, "\(r)")
        let verify = Broker.agentrun(["log", "verify", r.logDir])
        #expect(verify.status == 0, "\(verify)")
    }
}

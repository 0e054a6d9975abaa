// What the broker tests share: a stdlib Python client of the broker that agents in the sandbox
// import (`brokerclient.py`, written into the workspace), a test profile with one tool of each
// kind, host-side helper servers (an HTTP server that echoes what it received, an upstream MCP
// server over stdio), and readers for the run's log and for the values a script reports.
//
// Scripts report with `out(key=value)`: one `RESULT {json}` line on stdout each; the test merges
// them into `BrokerRun.values`.

import Foundation
import Glibc
import Testing

/// A JSON value read with JSONSerialization, navigable without casts: `v["a"][0]["b"].string`.
struct JV: CustomStringConvertible {
    let raw: Any?

    init(_ raw: Any?) { self.raw = raw }

    subscript(key: String) -> JV { JV((raw as? [String: Any])?[key]) }
    subscript(index: Int) -> JV {
        guard let a = raw as? [Any], a.indices.contains(index) else { return JV(nil) }
        return JV(a[index])
    }
    var string: String? { raw as? String }
    /// JSONSerialization's booleans are NSNumbers of ObjC type "c"; numbers are "i", "q" or "d".
    private var number: (NSNumber, isBool: Bool)? {
        guard let n = raw as? NSNumber else { return nil }
        return (n, String(cString: n.objCType) == "c")
    }
    var int: Int? {
        guard let (n, isBool) = number, !isBool, n.doubleValue == n.doubleValue.rounded() else { return nil }
        return n.intValue
    }
    var double: Double? { number.flatMap { $0.isBool ? nil : $0.0.doubleValue } }
    var bool: Bool? { number.flatMap { $0.isBool ? $0.0.boolValue : nil } }
    var array: [JV] { (raw as? [Any])?.map(JV.init) ?? [] }
    var dict: [String: Any]? { raw as? [String: Any] }
    var keys: [String] { (raw as? [String: Any]).map { Array($0.keys).sorted() } ?? [] }
    var exists: Bool { raw != nil && !(raw is NSNull) }
    var strings: [String] { array.compactMap(\.string) }

    var description: String {
        guard let raw else { return "nil" }
        if JSONSerialization.isValidJSONObject(raw),
           let d = try? JSONSerialization.data(withJSONObject: raw, options: [.sortedKeys, .fragmentsAllowed]) {
            return String(decoding: d, as: UTF8.self)
        }
        return "\(raw)"
    }

    static func parse(_ text: String) -> JV {
        JV(try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
    }
}

/// One sandboxed run of a script that talks to the broker.
struct BrokerRun: CustomStringConvertible {
    let result: RunResult
    let logDir: String
    let values: [String: JV]

    var log: String { logDir + "/log.jsonl" }
    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    var records: [JV] { logText.split(separator: "\n").map { JV.parse(String($0)) } }
    func records(_ kind: String) -> [JV] { records.filter { $0["kind"].string == kind } }
    subscript(key: String) -> JV { values[key] ?? JV(nil) }
    /// The run id from agentrun's last stderr line ("agentrun: run <id> exited ...").
    var runID: String? {
        result.stderr.split(separator: " ").drop { $0 != "run" }.dropFirst().first.map(String.init)
    }

    var description: String {
        "\(result)\n--- log kinds ---\n\(records.compactMap { $0["kind"].string }.joined(separator: " "))"
    }
}

enum Broker {
    /// Debian's python3: the one the sandbox sees (a pyenv build under /root is invisible there).
    static let python = "/usr/bin/python3"
    static let socketPath = "/run/agentrun/agentrun.sock"
    /// The host secret of the test profile's `api_key` credential, fresh per test process.
    static let secret = "sk-live-" + (0..<4).map { _ in String(UInt32.random(in: 0...UInt32.max), radix: 16) }.joined()
    static let secretVariable = "BROKER_TEST_SECRET"

    /// The repository (examples/ live there), from this file's path.
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Whether the host python has a module (PyJWT as `jwt`, `mcp`). CI installs them (.ci/run).
    static func hostHasModule(_ name: String) -> Bool {
        Harness.run([python, "-c", "import \(name)"], timeout: 30).status == 0
    }

    /// Fails (CI) or skips (a dev machine without it) when a Python module is missing on the host.
    static func requireModule(_ name: String, pip: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if hostHasModule(name) { return true }
        let message = "\(python) cannot import \(name): `\(python) -m pip install --break-system-packages '\(pip)'` (.ci/run does)"
        if Harness.requirePrivileged || Harness.environment["CI"] != nil {
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
        } else {
            print("skipping part of a broker test: \(message)")
        }
        return false
    }

    // MARK: running scripts in the sandbox

    /// Writes `brokerclient.py` and `script` into the workspace and runs the script under
    /// `profile` with the log in `<host>/<name>`.
    static func run(
        _ t: TestDir, profile: String, script: String, name: String = "run", env: [String: String] = [:], args: [String] = [],
        options: [String] = [], timeout: Double = 60
    ) throws -> BrokerRun {
        try t.write("brokerclient.py", client)
        let file = "\(name).py"
        try t.write(file, script)
        let dir = t.hostPath(name)
        var environment = [secretVariable: secret]
        for (k, v) in env { environment[k] = v }
        let r = t.sandbox([python, t.path(file)] + args, profile: profile, options: ["--log", dir] + options, env: environment,
                          timeout: timeout)
        return BrokerRun(result: r, logDir: dir, values: values(r.stdout))
    }

    /// Starts a script in the sandbox without waiting (for attacks from outside while it runs).
    static func start(
        _ t: TestDir, profile: String, script: String, name: String = "run", env: [String: String] = [:], options: [String] = []
    ) throws -> (Child, String) {
        try t.write("brokerclient.py", client)
        let file = "\(name).py"
        try t.write(file, script)
        let dir = t.hostPath(name)
        var environment = [secretVariable: secret]
        for (k, v) in env { environment[k] = v }
        let child = try t.startSandbox([python, t.path(file)], profile: profile, options: ["--log", dir] + options, env: environment)
        return (child, dir)
    }

    /// Merges the `RESULT {...}` lines of a script's stdout.
    static func values(_ stdout: String) -> [String: JV] {
        var out: [String: JV] = [:]
        for line in stdout.split(separator: "\n") where line.hasPrefix("RESULT ") {
            if let d = JV.parse(String(line.dropFirst(7))).dict {
                for (k, v) in d { out[k] = JV(v) }
            }
        }
        return out
    }

    /// `agentrun ARGS...` on the host.
    static func agentrun(_ args: [String], env: [String: String] = [:]) -> RunResult {
        Harness.run([Harness.agentrun] + args, env: env, timeout: 60)
    }

    /// A Python script run on the host (outside any sandbox), `args` as sys.argv[1:].
    static func hostPython(_ script: String, _ args: [String] = [], wrapper: [String] = [], env: [String: String] = [:],
                           timeout: Double = 30) -> RunResult {
        Harness.run(wrapper + [python, "-c", script] + args, env: env, timeout: timeout)
    }

    /// The agent process of a running sandbox: the host pid whose command line starts with
    /// `/usr/bin/python3 <script>`.
    static func agentPID(script: String, timeout: Double = 10) -> pid_t? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            for pid in Host.pids(commandLineContaining: script) {
                guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
                let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                if argv.first == python, argv.count > 1, argv[1] == script { return pid }
            }
            Host.sleep(0.05)
        } while Date() < deadline
        return nil
    }

    // MARK: host-side servers

    /// The HTTP server behind the test profile's http tools: it appends every request it gets
    /// to `requests` (JSON lines) and answers `{"echo": {method, path, headers, body}}`; /fail
    /// answers 500 with the Authorization header in the body, /slow waits 5 s, /big sends 200 kB.
    static let httpServerScript = #"""
        import json, sys, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        requests = open(sys.argv[1], "a")

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
                rec = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
                requests.write(json.dumps(rec) + "\n")
                requests.flush()
                status = 200
                if self.path.startswith("/slow"):
                    time.sleep(5)
                if self.path.startswith("/big"):
                    payload = b"x" * 200000
                elif self.path.startswith("/fail"):
                    status = 500
                    payload = json.dumps({"error": "upstream broke", "auth": rec["headers"].get("Authorization")}).encode()
                else:
                    payload = json.dumps({"echo": rec}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any
            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        print("PORT %d" % server.server_address[1], flush=True)
        server.serve_forever()
        """#

    /// Starts the echo HTTP server on 127.0.0.1; returns it, its port and its request log.
    static func startHTTPServer(_ t: TestDir) throws -> (HostProcess, Int, String) {
        let script = t.hostPath("http_server.py")
        try t.write(script, httpServerScript)
        let requests = t.hostPath("http-requests.jsonl")
        let server = try HostProcess([python, script, requests])
        let port = try #require(server.waitForLine(prefix: "PORT ").flatMap { Int($0) }, "the host HTTP server did not start\n\(server.child.stderr)")
        return (server, port, requests)
    }

    /// The requests the echo server received.
    static func httpRequests(_ file: String) -> [JV] {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").map { JV.parse(String($0)) }
    }

    /// An upstream MCP server over stdio (newline-delimited JSON-RPC). Tools: echo, add, danger
    /// (leaves `<log>.danger` behind when it runs), token (returns $UPSTREAM_TOKEN). Every
    /// message it receives is appended to argv[1].
    static let mcpServerScript = #"""
        import json, os, sys
        log = open(sys.argv[1], "a")
        TOOLS = [
            {"name": "echo", "description": "Returns its text", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
            {"name": "add", "description": "Adds two numbers", "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}},
            {"name": "danger", "description": "Must never run", "inputSchema": {"type": "object"}},
            {"name": "token", "description": "Returns the token it was started with", "inputSchema": {"type": "object"}},
        ]
        for line in sys.stdin:
            log.write(line if line.endswith("\n") else line + "\n")
            log.flush()
            msg = json.loads(line)
            if "id" not in msg:
                continue
            method = msg.get("method")
            reply = {"jsonrpc": "2.0", "id": msg["id"]}
            if method == "initialize":
                reply["result"] = {"protocolVersion": msg.get("params", {}).get("protocolVersion", "2025-06-18"),
                                   "capabilities": {"tools": {}}, "serverInfo": {"name": "fake-upstream", "version": "1.0"}}
            elif method == "tools/list":
                reply["result"] = {"tools": TOOLS}
            elif method == "tools/call":
                name = msg["params"]["name"]
                args = msg["params"].get("arguments") or {}
                if name == "echo":
                    text = "upstream echo: " + str(args.get("text"))
                elif name == "add":
                    text = str(args["a"] + args["b"])
                elif name == "danger":
                    open(sys.argv[1] + ".danger", "w").write("ran")
                    text = "danger ran"
                elif name == "token":
                    text = "token=" + os.environ.get("UPSTREAM_TOKEN", "")
                else:
                    text = None
                if text is None:
                    reply["error"] = {"code": -32602, "message": "unknown tool " + name}
                else:
                    reply["result"] = {"content": [{"type": "text", "text": text}], "isError": False}
            elif method == "ping":
                reply["result"] = {}
            else:
                reply["error"] = {"code": -32601, "message": "method not found"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
        """#

    // MARK: profiles

    /// The test profile: the default sandbox plus a jwt and a secret credential, noop tools with
    /// rules and budgets, command tools, http tools against `httpPort` (when given) and an upstream
    /// MCP server from `mcpServer` (script, call log) when given.
    static func profile(_ t: TestDir, httpPort: Int? = nil, mcpServer: (script: String, log: String)? = nil, extra: String = "") throws -> String {
        var yaml = """
            extends: default
            credentials:
              api_key:
                type: secret
                env: \(secretVariable)
              ci:
                type: jwt
                audiences: [https://ci.test, https://other.test]
                scopes: [read, write]
                max_ttl: 120
                issuer: agentrun-it
            tools:
              echo:
                description: Returns its arguments
                input_schema:
                  type: object
                  properties:
                    text: {type: string}
                  required: [text]
                rules:
                  - id: echo-allowed
                    effect: allow
                  - id: echo-forbidden-word
                    effect: deny
                    when:
                      /text: {eq: forbidden}
                backend: {noop: {}}
              limited:
                description: Two calls per run
                rules:
                  - id: limited-allowed
                    effect: allow
                budget: {per_run: 2}
                backend: {noop: {}}
              per_minute:
                description: Three calls a minute
                rules:
                  - id: per-minute-allowed
                    effect: allow
                budget: {per_minute: 3}
                backend: {noop: {}}
              argv:
                description: Prints its argv as JSON (host command, no shell)
                input_schema:
                  type: object
                  properties:
                    a: {type: string}
                    b: {type: string}
                  required: [a, b]
                rules:
                  - id: argv-allowed
                    effect: allow
                backend:
                  command:
                    argv: [\(python), -c, "import json, sys; print(json.dumps(sys.argv[1:]))", "{a}", "--", "{b}"]
                    timeout: 10
              env_dump:
                description: Prints the host command's environment, which holds the secret
                rules:
                  - id: env-dump-allowed
                    effect: allow
                backend:
                  command:
                    argv: [/usr/bin/env]
                    env:
                      TOOL_TOKEN: "Bearer {secret:api_key}"
                    timeout: 10
              cmd_slow:
                description: Outlives its timeout
                rules:
                  - id: cmd-slow-allowed
                    effect: allow
                backend:
                  command:
                    argv: [/bin/sleep, "37"]
                    timeout: 1
              cmd_big:
                description: Prints more than max_output
                rules:
                  - id: cmd-big-allowed
                    effect: allow
                backend:
                  command:
                    argv: [/usr/bin/head, -c, "100000", /dev/zero]
                    max_output: 1000
                    timeout: 10

            """
        if let port = httpPort {
            yaml += """
                  http_get:
                    description: GET against the host echo server, with the secret in a header
                    input_schema:
                      type: object
                      properties:
                        q: {type: string}
                      required: [q]
                    rules:
                      - id: http-get-allowed
                        effect: allow
                    backend:
                      http:
                        method: GET
                        url: "http://127.0.0.1:\(port)/echo/{q}?q={q}"
                        headers:
                          Authorization: "Bearer {secret:api_key}"
                          X-Query: "{q}"
                        timeout: 5
                  http_post:
                    description: POST of the arguments to the host echo server
                    rules:
                      - id: http-post-allowed
                        effect: allow
                    backend:
                      http:
                        method: POST
                        url: "http://127.0.0.1:\(port)/post"
                        headers:
                          Authorization: "Bearer {secret:api_key}"
                        body: arguments
                        timeout: 5
                  http_fail:
                    description: The server answers 500 with the Authorization header in its body
                    rules:
                      - id: http-fail-allowed
                        effect: allow
                    backend:
                      http:
                        url: "http://127.0.0.1:\(port)/fail"
                        headers:
                          Authorization: "Bearer {secret:api_key}"
                        timeout: 5
                  http_slow:
                    description: The server answers after the timeout
                    rules:
                      - id: http-slow-allowed
                        effect: allow
                    backend:
                      http:
                        url: "http://127.0.0.1:\(port)/slow"
                        timeout: 1
                  http_big:
                    description: The server answers more than max_response
                    rules:
                      - id: http-big-allowed
                        effect: allow
                    backend:
                      http:
                        url: "http://127.0.0.1:\(port)/big"
                        max_response: 1000
                        timeout: 5
                  http_down:
                    description: Nothing listens there
                    rules:
                      - id: http-down-allowed
                        effect: allow
                    backend:
                      http:
                        url: "http://127.0.0.1:1/down"
                        headers:
                          Authorization: "Bearer {secret:api_key}"
                        timeout: 5

                """
        }
        if let mcp = mcpServer {
            yaml += """
                mcp_servers:
                  up:
                    command: [\(python), \(mcp.script), \(mcp.log)]
                    env:
                      UPSTREAM_TOKEN: "{secret:api_key}"
                    prefix: up_
                    rules:
                      - id: up-safe-tools
                        effect: allow
                        tools: [echo, add, token]
                      - id: up-no-danger
                        effect: deny
                        tools: [danger]
                      - id: up-no-big-sums
                        effect: deny
                        tools: [add]
                        when:
                          /a: {range: [1000, 1000000000]}
                    timeout: 10

                """
        }
        yaml += extra
        return try t.profile(yaml)
    }

    /// Writes the upstream MCP server script; returns (script, call log) host paths.
    static func mcpServer(_ t: TestDir) throws -> (script: String, log: String) {
        let script = t.hostPath("fake_mcp_server.py")
        try t.write(script, mcpServerScript)
        return (script, t.hostPath("mcp-calls.jsonl"))
    }

    // MARK: the client agents import

    /// `brokerclient.py`: stdlib HTTP/1.1 over the broker's Unix socket.
    static let client = #"""
        import http.client, json, os, socket, sys, threading, time

        SOCKET = os.environ.get("AGENTRUN_SOCKET", "")
        PATH = SOCKET[len("unix://"):] if SOCKET.startswith("unix://") else "/run/agentrun/agentrun.sock"


        class Conn(http.client.HTTPConnection):
            def __init__(self, path=None, timeout=30):
                super().__init__("agentrun", timeout=timeout)
                self.unix_path = path or PATH

            def connect(self):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(self.timeout)
                s.connect(self.unix_path)
                self.sock = s


        def request(method, route, body=None, headers=None, raw=None, guard=True, path=None, timeout=30):
            """One request on a fresh connection: {status, json, text, content_type, headers}."""
            c = Conn(path, timeout)
            h = {"AgentRun-Request": "1"} if guard else {}
            h.update(headers or {})
            data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            if data is not None and "Content-Type" not in h:
                h["Content-Type"] = "application/json"
            try:
                c.request(method, route, body=data, headers=h)
                r = c.getresponse()
                b = r.read()
            finally:
                c.close()
            try:
                j = json.loads(b) if b else None
            except ValueError:
                j = None
            return {"status": r.status, "json": j, "text": b.decode("utf-8", "replace"),
                    "content_type": r.getheader("Content-Type") or "", "headers": dict(r.getheaders())}


        _next = [0]
        _lock = threading.Lock()


        def rpc(method, params=None, id=None, **kw):
            if id is None:
                with _lock:
                    _next[0] += 1
                    id = _next[0]
            msg = {"jsonrpc": "2.0", "id": id, "method": method}
            if params is not None:
                msg["params"] = params
            return request("POST", "/mcp", msg, **kw)


        def call(name, arguments, **kw):
            """tools/call; returns the JSON-RPC result (or the whole reply when it has none)."""
            r = rpc("tools/call", {"name": name, "arguments": arguments}, **kw)
            j = r["json"] or {}
            return j.get("result", j)


        def text_of(result):
            return " ".join(c.get("text", "") for c in (result or {}).get("content", []) if c.get("type") == "text")


        def exchange(data, path=None, timeout=5.0, pace=None):
            """Sends raw bytes (one at a time every `pace` seconds when given) and reads until the
            broker closes or `timeout` passes. Returns {reply, closed, seconds, send_error}."""
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(path or PATH)
            start = time.monotonic()
            send_error = None
            try:
                if pace is None:
                    s.sendall(data)
                else:
                    for i in range(len(data)):
                        s.sendall(data[i:i + 1])
                        time.sleep(pace)
            except OSError as e:
                send_error = type(e).__name__
            buf = b""
            closed = False
            s.settimeout(max(0.1, timeout - (time.monotonic() - start)))
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        closed = True
                        break
                    buf += chunk
            except socket.timeout:
                pass
            except OSError:
                closed = True
            s.close()
            return {"reply": buf.decode("latin-1"), "closed": closed, "seconds": time.monotonic() - start, "send_error": send_error}


        def status_line(reply):
            """The status code of a raw HTTP reply, or None."""
            parts = reply.split(" ", 2)
            return int(parts[1]) if len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit() else None


        def out(**kw):
            print("RESULT " + json.dumps(kw), flush=True)
        """#
}

/// The tool-call records of `tool` in a run, and their results by `call_seq`.
extension BrokerRun {
    func calls(of tool: String) -> [JV] { records("tool.call").filter { $0["tool"].string == tool } }
    func result(of call: JV) -> JV? {
        guard let seq = call["seq"].int else { return nil }
        return records("tool.result").first { $0["call_seq"].int == seq }
    }
}

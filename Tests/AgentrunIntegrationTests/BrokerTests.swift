// The broker from inside real sandboxes: every route and error answer, MCP as the PyPI client
// speaks it, tool decisions and budgets, minted tokens verified by PyJWT on the host, each tool
// backend end to end against servers on the host, 100 concurrent clients with complete records,
// and the examples (examples/agent.py, examples/mcp_agent.py) under their profile.

import Foundation
import Glibc
import Testing

@Suite("Broker", .serialized, .needsSandbox, .timeLimit(.minutes(3)))
struct BrokerTests {
    // MARK: routes

    @Test("every route answers from inside the sandbox; decisions, records and the log are right")
    func routes() throws {
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let r = try Broker.run(t, profile: profile, script: #"""
            import os
            from brokerclient import *
            out(env_socket=os.environ.get("AGENTRUN_SOCKET"), env_run=os.environ.get("AGENTRUN_RUN_ID"),
                socket_is_socket=__import__("stat").S_ISSOCK(os.stat(PATH).st_mode))
            out(session=request("GET", "/v1/session"), jwks=request("GET", "/v1/jwks"))
            out(check_allow=request("POST", "/v1/check", {"tool": "echo", "arguments": {"text": "hi"}}),
                check_deny=request("POST", "/v1/check", {"tool": "echo", "arguments": {"text": "forbidden"}}),
                check_unknown=request("POST", "/v1/check", {"tool": "no_such_tool", "arguments": {}}),
                check_invalid=request("POST", "/v1/check", {"tool": "echo", "arguments": {"text": 5}}))
            out(initialize=rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                              "clientInfo": {"name": "it", "version": "1"}}),
                initialized=request("POST", "/mcp", {"jsonrpc": "2.0", "method": "notifications/initialized"}),
                ping=rpc("ping"), tools_list=rpc("tools/list"))
            out(call_allow=rpc("tools/call", {"name": "echo", "arguments": {"text": "hello"}}, id="call-1"),
                call_deny=rpc("tools/call", {"name": "echo", "arguments": {"text": "forbidden"}}, id=77))
            out(cred=request("POST", "/v1/credentials", {"name": "ci", "audience": "https://ci.test", "scopes": ["read"], "ttl": 60}))
            """#)
        #expect(r.result.status == 0, "\(r)")
        let runID = try #require(r["env_run"].string, "\(r)")
        #expect(r["env_socket"].string == "unix://" + Broker.socketPath)
        #expect(r["socket_is_socket"].bool == true, "\(r)")

        // GET /v1/session: this run, this profile.
        let session = r["session"]
        #expect(session["status"].int == 200, "\(session)")
        #expect(session["content_type"].string?.hasPrefix("application/json") == true, "\(session)")
        #expect(session["json"]["run_id"].string == runID, "\(session)")
        #expect(r.runID == runID, "agentrun's run line and the sandbox's AGENTRUN_RUN_ID differ\n\(r)")
        let start = try #require(r.records("session.start").first, "\(r)")
        #expect(session["json"]["profile"]["digest"].string == start["profile"]["sha256"].string, "\(session)")
        #expect(Set(session["json"]["tools"].strings).isSuperset(of: ["echo", "limited", "argv"]), "\(session)")

        // GET /v1/jwks: one Ed25519 key.
        let key = r["jwks"]["json"]["keys"][0]
        #expect(r["jwks"]["status"].int == 200 && key["kty"].string == "OKP" && key["crv"].string == "Ed25519", "\(r["jwks"])")
        #expect((key["x"].string?.count ?? 0) == 43 && key["kid"].exists, "\(key)")

        // POST /v1/check: decisions with rule ids, nothing run.
        #expect(r["check_allow"]["json"]["decision"].string == "allow" && r["check_allow"]["json"]["rule_id"].string == "echo-allowed",
                "\(r["check_allow"])")
        #expect(r["check_deny"]["json"]["decision"].string == "deny" && r["check_deny"]["json"]["rule_id"].string == "echo-forbidden-word",
                "\(r["check_deny"])")
        #expect(r["check_unknown"]["json"]["decision"].string == "deny" && r["check_unknown"]["json"]["rule_id"].string == "unknown-tool",
                "\(r["check_unknown"])")
        #expect(r["check_invalid"]["json"]["decision"].string == "deny" && r["check_invalid"]["json"]["rule_id"].string == "invalid-arguments",
                "\(r["check_invalid"])")
        #expect(r.records("tool.check").count == 4, "\(r)")

        // MCP: initialize, the notification, ping, tools/list with input schemas.
        let initialize = r["initialize"]["json"]
        #expect(initialize["result"]["protocolVersion"].string == "2025-06-18", "\(initialize)")
        #expect(initialize["result"]["serverInfo"]["name"].string == "agentrun" && initialize["result"]["capabilities"]["tools"].exists,
                "\(initialize)")
        #expect([200, 202, 204].contains(r["initialized"]["status"].int ?? 0), "\(r["initialized"])")
        #expect(r["ping"]["json"]["result"].dict?.isEmpty == true, "\(r["ping"])")
        let tools = r["tools_list"]["json"]["result"]["tools"].array
        let echo = try #require(tools.first { $0["name"].string == "echo" }, "\(r["tools_list"])")
        #expect(echo["description"].string == "Returns its arguments")
        #expect(echo["inputSchema"]["properties"]["text"]["type"].string == "string", "\(echo)")
        #expect(Set(tools.compactMap { $0["name"].string }) == Set(session["json"]["tools"].strings), "tools/list and /v1/session disagree")

        // tools/call: the allowed one runs, the denied one says why.
        let allowed = r["call_allow"]["json"]
        #expect(allowed["id"].string == "call-1" && allowed["result"]["isError"].bool == false, "\(allowed)")
        #expect(allowed["result"]["content"][0]["text"].string?.contains("hello") == true, "\(allowed)")
        let denied = r["call_deny"]["json"]
        #expect(denied["id"].int == 77 && denied["result"]["isError"].bool == true, "\(denied)")
        let decision = denied["result"]["_meta"]["agentrun/decision"]
        #expect(decision["effect"].string == "deny" && decision["rule_id"].string == "echo-forbidden-word", "\(denied)")
        #expect(!(decision["reason"].string ?? "").isEmpty, "\(denied)")

        // The records: each call before it runs (with its decision), the allowed one's result after.
        let calls = r.calls(of: "echo")
        #expect(calls.count == 2, "\(r)")
        let allowCall = try #require(calls.first { $0["arguments"]["text"].string == "hello" }, "\(r)")
        #expect(allowCall["decision"]["effect"].string == "allow" && allowCall["decision"]["rule_id"].string == "echo-allowed", "\(allowCall)")
        let result = try #require(r.result(of: allowCall), "no tool.result for the allowed call\n\(r)")
        #expect(result["status"].string == "ok" && result["duration_ns"].int != nil, "\(result)")
        #expect(result["result_sha256"].string?.count == 64 && (result["result_size"].int ?? 0) > 0, "\(result)")
        #expect(result["result"].exists, "a small result is recorded inline\n\(result)")
        let denyCall = try #require(calls.first { $0["arguments"]["text"].string == "forbidden" }, "\(r)")
        #expect(denyCall["decision"]["effect"].string == "deny" && denyCall["decision"]["rule_id"].string == "echo-forbidden-word")
        #expect(r.result(of: denyCall) == nil, "a denied call must not run\n\(r)")
        #expect(allowCall["seq"].int ?? 0 < (result["seq"].int ?? 0))
        #expect(r["cred"]["status"].int == 200 && r.records("cred.issue").count == 1, "\(r["cred"])")

        let verify = Broker.agentrun(["log", "verify", r.logDir])
        #expect(verify.status == 0, "\(verify)")
    }

    @Test("curl inside the sandbox talks to the broker (and is refused without the guard header)")
    func curl() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else {
            if Harness.requirePrivileged { Issue.record("/usr/bin/curl is missing (.ci/run installs it)") }
            return
        }
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let script = """
            set -e
            sock=${AGENTRUN_SOCKET#unix://}
            echo "with: $(curl -sS --unix-socket "$sock" -H 'AgentRun-Request: 1' http://agentrun/v1/session)"
            echo "call: $(curl -sS --unix-socket "$sock" -H 'AgentRun-Request: 1' -H 'Content-Type: application/json' \
                --data '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"from curl"}}}' http://agentrun/mcp)"
            echo "without: $(curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://agentrun/v1/session)"
            """
        let r = t.sandbox(["sh", "-c", script], profile: profile, env: [Broker.secretVariable: Broker.secret])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("with: {") && r.stdout.contains("\"run_id\""), "\(r)")
        #expect(r.stdout.contains("call: {") && r.stdout.contains("from curl") && r.stdout.contains("\"isError\":false"), "\(r)")
        #expect(r.stdout.contains("without: 400"), "\(r)")
    }

    @Test("the guard header, bad JSON, wrong routes and methods, and every JSON-RPC error")
    func protocolErrors() throws {
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let r = try Broker.run(t, profile: profile, script: #"""
            from brokerclient import *
            out(no_header=request("GET", "/v1/session", guard=False),
                no_header_mcp=request("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"}, guard=False),
                header_zero=request("GET", "/v1/session", guard=False, headers={"AgentRun-Request": "0"}),
                header_yes=request("GET", "/v1/session", guard=False, headers={"AgentRun-Request": "yes"}))
            out(bad_json_check=request("POST", "/v1/check", raw=b"{not json"),
                bad_json_cred=request("POST", "/v1/credentials", raw=b"[1, 2"),
                empty_check=request("POST", "/v1/check", raw=b""),
                check_no_tool=request("POST", "/v1/check", {"arguments": {}}),
                check_extra=request("POST", "/v1/check", {"tool": "echo", "arguments": {"text": "x"}, "allow": True}))
            out(unknown_route=request("GET", "/v1/policy"), unknown_post=request("POST", "/v1/tools", {"name": "x"}),
                wrong_method=request("GET", "/v1/check"), wrong_method_mcp=request("DELETE", "/mcp"),
                wrong_method_jwks=request("POST", "/v1/jwks", {}))
            out(parse=request("POST", "/mcp", raw=b'{"jsonrpc": "2.0", "id": 1, "method": '),
                not_object=request("POST", "/mcp", raw=b'"ping"'),
                batch=request("POST", "/mcp", raw=b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]'),
                old_version=request("POST", "/mcp", {"jsonrpc": "1.0", "id": 1, "method": "ping"}),
                no_method=request("POST", "/mcp", {"jsonrpc": "2.0", "id": 1}),
                object_id=request("POST", "/mcp", {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}),
                unknown_method=rpc("tools/register", {"name": "shell"}),
                no_name=rpc("tools/call", {"arguments": {}}),
                args_not_object=rpc("tools/call", {"name": "echo", "arguments": ["x"]}),
                params_not_object=request("POST", "/mcp", {"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": [1]}),
                unknown_tool=rpc("tools/call", {"name": "rm_rf", "arguments": {}}))
            """#)
        #expect(r.result.status == 0, "\(r)")
        func expectError(_ key: String, _ status: Int, sourceLocation: SourceLocation = #_sourceLocation) {
            let v = r[key]
            #expect(v["status"].int == status, "\(key): want HTTP \(status)\n\(v)", sourceLocation: sourceLocation)
            #expect(v["json"]["error"]["code"].string != nil && v["json"]["error"]["message"].string != nil,
                    "\(key): the body must be {\"error\": {code, message}}\n\(v)", sourceLocation: sourceLocation)
        }
        for key in ["no_header", "no_header_mcp", "header_zero", "header_yes"] { expectError(key, 400) }
        #expect(r["no_header"]["json"]["error"]["message"].string?.contains("AgentRun-Request") == true, "\(r["no_header"])")
        for key in ["bad_json_check", "bad_json_cred", "empty_check", "check_no_tool", "check_extra"] { expectError(key, 400) }
        expectError("unknown_route", 404)
        expectError("unknown_post", 404)
        expectError("wrong_method", 405)
        expectError("wrong_method_mcp", 405)
        expectError("wrong_method_jwks", 405)
        #expect(r["wrong_method"]["headers"]["Allow"].string == "POST", "\(r["wrong_method"])")

        func expectRPC(_ key: String, _ code: Int, sourceLocation: SourceLocation = #_sourceLocation) {
            let v = r[key]
            #expect(v["json"]["jsonrpc"].string == "2.0" && v["json"]["error"]["code"].int == code,
                    "\(key): want JSON-RPC error \(code)\n\(v)", sourceLocation: sourceLocation)
            #expect(!v["json"]["result"].exists, "\(key)", sourceLocation: sourceLocation)
        }
        expectRPC("parse", -32700)
        #expect(r["parse"]["json"]["id"].exists == false, "a parse error answers id null\n\(r["parse"])")
        expectRPC("not_object", -32600)
        expectRPC("batch", -32600)
        expectRPC("old_version", -32600)
        expectRPC("no_method", -32600)
        expectRPC("object_id", -32600)
        expectRPC("unknown_method", -32601)
        expectRPC("no_name", -32602)
        expectRPC("args_not_object", -32602)
        expectRPC("params_not_object", -32602)
        expectRPC("unknown_tool", -32602)
        // An unknown tool is still a recorded (denied) call.
        #expect(r.calls(of: "rm_rf").first?["decision"]["rule_id"].string == "unknown-tool", "\(r)")
        #expect(r.records("tool.result").isEmpty, "nothing ran\n\(r)")
    }

    // MARK: decisions and budgets

    @Test("argument validation, per-run and per-minute budgets; /v1/session counts down")
    func budgets() throws {
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let r = try Broker.run(t, profile: profile, script: #"""
            from brokerclient import *
            def decision(res):
                d = (res.get("_meta") or {}).get("agentrun/decision") or {}
                return "%s|%s|%s" % (res.get("isError"), d.get("effect"), d.get("rule_id"))
            before = request("GET", "/v1/session")["json"]["budgets"]
            limited = [decision(call("limited", {})) for _ in range(3)]
            minute = [decision(call("per_minute", {})) for _ in range(4)]
            after = request("GET", "/v1/session")["json"]["budgets"]
            check_after = request("POST", "/v1/check", {"tool": "limited", "arguments": {}})["json"]
            invalid = [decision(call("echo", {})), decision(call("echo", {"text": 5}))]
            out(before=before, after=after, limited=limited, minute=minute, check_after=check_after, invalid=invalid)
            """#)
        #expect(r.result.status == 0, "\(r)")
        #expect(r["limited"].strings == ["False|allow|limited-allowed", "False|allow|limited-allowed", "True|deny|budget-per-run"],
                "\(r["limited"])")
        #expect(r["minute"].strings == ["False|allow|per-minute-allowed", "False|allow|per-minute-allowed", "False|allow|per-minute-allowed",
                                        "True|deny|budget-per-minute"], "\(r["minute"])")
        #expect(r["check_after"]["decision"].string == "deny" && r["check_after"]["rule_id"].string == "budget-per-run", "\(r["check_after"])")
        #expect(r["invalid"].strings == ["True|deny|invalid-arguments", "True|deny|invalid-arguments"],
                "a missing required argument, an argument of the wrong type\n\(r["invalid"])")
        // /v1/session counts the budgets down.
        #expect(r["before"]["limited"]["per_run"].int == 2 && r["after"]["limited"]["per_run"].int == 0, "\(r["before"]) -> \(r["after"])")
        #expect(r["before"]["per_minute"]["per_minute"].int == 3 && r["after"]["per_minute"]["per_minute"].int == 0,
                "\(r["before"]) -> \(r["after"])")
        let budgetDenials = r.calls(of: "limited").filter { $0["decision"]["rule_id"].string == "budget-per-run" }
        #expect(budgetDenials.count == 1, "\(r)")
    }

    // MARK: credentials

    @Test("minted tokens verify with PyJWT against /v1/jwks; claims are right; refusals are refused and recorded")
    func tokens() throws {
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let r = try Broker.run(t, profile: profile, script: #"""
            from brokerclient import *
            ask = {"name": "ci", "audience": "https://ci.test", "scopes": ["read"], "ttl": 60}
            token = request("POST", "/v1/credentials", ask)
            full = request("POST", "/v1/credentials", {"name": "ci", "audience": "https://other.test", "scopes": ["read", "write"]})
            refusals = {
                "audience": request("POST", "/v1/credentials", {**ask, "audience": "https://evil.test"}),
                "scope": request("POST", "/v1/credentials", {**ask, "scopes": ["read", "admin"]}),
                "ttl_too_long": request("POST", "/v1/credentials", {**ask, "ttl": 121}),
                "ttl_zero": request("POST", "/v1/credentials", {**ask, "ttl": 0}),
                "ttl_negative": request("POST", "/v1/credentials", {**ask, "ttl": -30}),
                "unknown_name": request("POST", "/v1/credentials", {**ask, "name": "admin"}),
                "host_secret": request("POST", "/v1/credentials", {**ask, "name": "api_key"}),
                "no_audience": request("POST", "/v1/credentials", {"name": "ci", "scopes": ["read"]}),
                "extra_claims": request("POST", "/v1/credentials", {**ask, "claims": {"admin": True}}),
            }
            out(token=token, full=full, refusals=refusals, jwks=request("GET", "/v1/jwks")["json"])
            """#)
        #expect(r.result.status == 0, "\(r)")
        let runID = try #require(r.runID, "\(r)")
        let token = r["token"]["json"]
        #expect(r["token"]["status"].int == 200, "\(r["token"])")
        let jwt = try #require(token["token"].string, "\(r["token"])")
        #expect(token["token_type"].string == "Bearer" && token["scopes"].strings == ["read"], "\(token)")
        #expect(r["full"]["status"].int == 200 && r["full"]["json"]["scopes"].strings == ["read", "write"], "\(r["full"])")

        // Every refusal: a 4xx error, no token, a cred.deny record.
        for (what, reply) in r["refusals"].dict ?? [:] {
            let v = JV(reply)
            #expect((400..<500).contains(v["status"].int ?? 0) && !v["json"]["token"].exists && v["json"]["error"]["code"].exists,
                    "\(what) must be refused\n\(v)")
        }
        #expect(r["refusals"]["host_secret"]["status"].int == 403, "\(r["refusals"]["host_secret"])")
        #expect(!(r["refusals"]["host_secret"]["text"].string ?? "").contains(Broker.secret))
        #expect(r.records("cred.deny").count >= 7, "refusals are recorded\n\(r)")
        #expect(r.records("cred.issue").count == 2, "\(r)")

        // The record names the token, never contains it.
        let issue = try #require(r.records("cred.issue").first { $0["jti"].string == token["jti"].string }, "\(r)")
        #expect(issue["audience"].string == "https://ci.test" && issue["scopes"].strings == ["read"] && issue["expires_at"].exists, "\(issue)")
        let signature = String(jwt.split(separator: ".").last ?? "")
        #expect(!r.logText.contains(jwt) && !r.logText.contains(signature), "the token is in the log")

        // PyJWT on the host, with the JWKS the agent fetched.
        guard Broker.requireModule("jwt", pip: "PyJWT[crypto]==2.15.1") else { return }
        let jwks = t.hostPath("jwks.json")
        try r["jwks"].description.write(toFile: jwks, atomically: false, encoding: .utf8)
        let verify = Broker.hostPython(#"""
            import base64, json, sys, jwt
            jwks, token = json.load(open(sys.argv[1])), sys.argv[2]
            header = jwt.get_unverified_header(token)
            key = next(k for k in jwks["keys"] if k.get("kid") == header.get("kid"))
            public = jwt.PyJWK(key).key
            claims = jwt.decode(token, public, algorithms=["EdDSA"], audience="https://ci.test", issuer="agentrun-it")
            result = {"header": header, "claims": claims}
            # Controls: the verifier rejects a forged payload, another audience and another key.
            h, p, s = token.split(".")
            payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
            payload["scope"] = "read write admin"
            forged = h + "." + base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode() + "." + s
            def outcome(f):
                try:
                    f()
                    return "accepted"
                except jwt.PyJWTError as e:
                    return type(e).__name__
            result["forged"] = outcome(lambda: jwt.decode(forged, public, algorithms=["EdDSA"], audience="https://ci.test"))
            result["other_audience"] = outcome(lambda: jwt.decode(token, public, algorithms=["EdDSA"], audience="https://other.test"))
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
            stranger = Ed25519PrivateKey.generate().public_key()
            result["other_key"] = outcome(lambda: jwt.decode(token, stranger, algorithms=["EdDSA"], audience="https://ci.test"))
            print(json.dumps(result))
            """#, [jwks, jwt])
        #expect(verify.status == 0, "PyJWT did not verify the token\n\(verify)")
        let v = JV.parse(verify.stdout)
        #expect(v["header"]["alg"].string == "EdDSA" && v["header"]["kid"].string == r["jwks"]["keys"][0]["kid"].string, "\(v)")
        let claims = v["claims"]
        #expect(claims["aud"].string == "https://ci.test" || claims["aud"].strings == ["https://ci.test"], "\(claims)")
        #expect(claims["iss"].string == "agentrun-it", "\(claims)")
        #expect(claims["jti"].string == token["jti"].string && claims["jti"].string != nil, "\(claims)")
        #expect(claims["run_id"].string == runID, "\(claims)")
        #expect(claims["sub"].string?.contains(runID) == true, "\(claims)")
        #expect(claims["scope"].string == "read", "\(claims)")
        let start = try #require(r.records("session.start").first)
        #expect(claims["profile_digest"].string == start["profile"]["sha256"].string, "\(claims)")
        let iat = try #require(claims["iat"].int), exp = try #require(claims["exp"].int)
        #expect(exp - iat == 60, "\(claims)")
        #expect((claims["nbf"].int ?? Int.max) <= iat, "\(claims)")
        #expect(abs(Double(iat) - Date().timeIntervalSince1970) < 120, "\(claims)")
        #expect(v["forged"].string == "InvalidSignatureError", "\(v)")
        #expect(v["other_audience"].string == "InvalidAudienceError", "\(v)")
        #expect(v["other_key"].string == "InvalidSignatureError", "\(v)")
    }

    // MARK: backends

    @Test("http backend: templates are encoded into one path segment and query value, the body is the arguments, failures are errors")
    func httpBackend() throws {
        let t = try TestDir("broker")
        let (server, port, requestsFile) = try Broker.startHTTPServer(t)
        defer { server.stop() }
        let profile = try Broker.profile(t, httpPort: port)
        let tricky = "a b/../../admin?x=1&y=2#frag %2e%2e {secret:api_key}"
        let r = try Broker.run(t, profile: profile, script: #"""
            import sys, time
            from brokerclient import *
            def timed(name, args):
                start = time.monotonic()
                res = call(name, args)
                return {"result": res, "seconds": time.monotonic() - start}
            out(get=timed("http_get", {"q": sys.argv[1]}),
                crlf=timed("http_get", {"q": "x\r\nX-Injected: 1"}),
                post=timed("http_post", {"n": 1, "s": "two", "nested": {"list": [1, 2.5, None, True]}}),
                fail=timed("http_fail", {}), slow=timed("http_slow", {}), big=timed("http_big", {}), down=timed("http_down", {}))
            """#, args: [tricky])
        #expect(r.result.status == 0, "\(r)")
        let requests = Broker.httpRequests(requestsFile)

        // GET: the value is one path segment and one query value, percent-encoded, never a template.
        #expect(r["get"]["result"]["isError"].bool == false, "\(r["get"])")
        let get = try #require(requests.first { $0["path"].string?.hasPrefix("/echo/") == true && $0["headers"]["X-Query"].string == tricky },
                               "the server did not get the GET with the literal X-Query header\n\(requests)")
        let path = try #require(get["path"].string)
        let segment = String(path.dropFirst("/echo/".count).prefix { $0 != "?" })
        #expect(segment.removingPercentEncoding == tricky, "the path segment \(segment) does not decode to the argument")
        #expect(!segment.contains("/") && !segment.contains("?") && !segment.contains("#"), "\(path)")
        let query = URLComponents(string: "http://x" + path)?.queryItems ?? []
        #expect(query.count == 1 && query.first?.name == "q" && query.first?.value == tricky, "\(path)")
        #expect(get["headers"]["Authorization"].string == "Bearer " + Broker.secret, "the secret reached the server (control)\n\(get)")
        // The server echoed the Authorization header back: the agent gets it scrubbed.
        let getText = r["get"]["result"]["content"].description
        #expect(!getText.contains(Broker.secret), "the echoed secret reached the agent: \(getText)")
        #expect(getText.contains("[secret:api_key]"), "\(getText)")

        // CR/LF in a header value never becomes a second header.
        #expect(!requests.contains { $0["headers"]["X-Injected"].exists }, "header injection: \(requests)")
        if r["crlf"]["result"]["isError"].bool == false {
            #expect(requests.contains { $0["headers"]["X-Query"].string?.contains("X-Injected") == true }, "\(r["crlf"])")
        }

        // POST: the body is exactly the arguments.
        #expect(r["post"]["result"]["isError"].bool == false, "\(r["post"])")
        let post = try #require(requests.first { $0["method"].string == "POST" }, "\(requests)")
        let body = JV.parse(post["body"].string ?? "")
        #expect(body["n"].int == 1 && body["s"].string == "two" && body["nested"]["list"].array.count == 4, "\(post)")
        #expect(body.keys == ["n", "nested", "s"], "\(post)")

        // Failures are tool errors, in bounded time.
        for key in ["fail", "slow", "big", "down"] {
            #expect(r[key]["result"]["isError"].bool == true, "\(key) must fail the call\n\(r[key])")
            #expect(!r[key]["result"].description.contains(Broker.secret), "\(key) leaks the secret: \(r[key])")
        }
        #expect((r["slow"]["seconds"].double ?? 99) < 4, "the 1 s timeout did not cut the slow server off: \(r["slow"])")
        let statuses = Dictionary(r.records("tool.result").compactMap { rec in rec["tool"].string.map { ($0, rec["status"].string ?? "?") } },
                                  uniquingKeysWith: { a, _ in a })
        #expect(statuses["http_post"] == "ok" && statuses["http_fail"] != "ok" && statuses["http_slow"] != "ok", "\(statuses)")
        #expect(!r.logText.contains(Broker.secret), "the secret is in the log")
    }

    @Test("command backend: every argument is exactly one argv item, no shell; timeouts and output caps fail the call")
    func commandBackend() throws {
        let t = try TestDir("broker")
        let victim = t.hostPath("victim")
        let pwned = t.hostPath("pwned")
        try t.write(victim, "still here\n")
        let a = "; rm -f \(victim); echo $(touch \(pwned)) `touch \(pwned)` *"
        let b = "--help\n$(id)\u{7F}'\"|&>/dev/null"
        // Control: the same text through a shell does create the file.
        let control = Harness.run(["sh", "-c", "echo \(a)"], cwd: t.host)
        #expect(control.status == 0 && t.exists(pwned), "CONTROL FAILED: the payload does nothing even through a shell\n\(control)")
        unlink(pwned)
        try t.write(victim, "still here\n")

        let profile = try Broker.profile(t)
        let r = try Broker.run(t, profile: profile, script: #"""
            import sys, time
            from brokerclient import *
            def timed(name, args):
                start = time.monotonic()
                res = call(name, args)
                return {"result": res, "seconds": time.monotonic() - start}
            out(argv=timed("argv", {"a": sys.argv[1], "b": sys.argv[2]}),
                template=timed("argv", {"a": "{secret:api_key}", "b": "{a}"}),
                number=timed("argv", {"a": 5, "b": "x"}),
                env=timed("env_dump", {}), slow=timed("cmd_slow", {}), big=timed("cmd_big", {}))
            """#, env: ["HOST_ONLY_VARIABLE": "host-only-value"], args: [a, b])
        #expect(r.result.status == 0, "\(r)")
        let argvText = try #require(r["argv"]["result"]["content"][0]["text"].string, "\(r["argv"])")
        #expect(JV.parse(argvText).strings == [a, "--", b], "argv items differ: \(argvText)")
        #expect(t.exists(victim) && !t.exists(pwned), "the arguments reached a shell")
        let templateText = r["template"]["result"]["content"][0]["text"].string ?? ""
        #expect(JV.parse(templateText).strings == ["{secret:api_key}", "--", "{a}"], "an argument was expanded as a template: \(templateText)")
        #expect(r["number"]["result"]["_meta"]["agentrun/decision"]["rule_id"].string == "invalid-arguments", "\(r["number"])")

        // The command's environment: only PATH and what the profile sets; the secret scrubbed on the way back.
        let envText = r["env"]["result"]["content"][0]["text"].string ?? ""
        #expect(r["env"]["result"]["isError"].bool == false, "\(r["env"])")
        #expect(envText.contains("TOOL_TOKEN=Bearer "), "the tool did not get its variable (control)\n\(envText)")
        #expect(!envText.contains(Broker.secret), "the tool's output handed the secret to the agent: \(envText)")
        #expect(!envText.contains("HOST_ONLY_VARIABLE") && !envText.contains(Broker.secretVariable), "the supervisor's environment leaked: \(envText)")

        #expect(r["slow"]["result"]["isError"].bool == true && (r["slow"]["seconds"].double ?? 99) < 5, "\(r["slow"])")
        #expect(r["big"]["result"]["isError"].bool == true, "\(r["big"])")
        Host.sleep(0.5)
        #expect(Host.pids(commandLineContaining: "/bin/sleep 37 ").isEmpty, "the timed-out command is still running")
        let slow = try #require(r.calls(of: "cmd_slow").first.flatMap { r.result(of: $0) }, "\(r)")
        #expect(slow["status"].string == "timeout" || slow["status"].string == "error", "\(slow)")
        #expect(!r.logText.contains(Broker.secret), "the secret is in the log")
    }

    @Test("mcp backend: an upstream server's tools are re-exported under the prefix, checked and recorded")
    func mcpBackend() throws {
        let t = try TestDir("broker")
        let upstream = try Broker.mcpServer(t)
        let profile = try Broker.profile(t, mcpServer: upstream)
        let r = try Broker.run(t, profile: profile, script: #"""
            from brokerclient import *
            out(tools=[x["name"] for x in rpc("tools/list")["json"]["result"]["tools"]],
                echo=call("up_echo", {"text": "hi"}), add=call("up_add", {"a": 2, "b": 3}),
                big_add=call("up_add", {"a": 5000, "b": 1}), danger=call("up_danger", {}), token=call("up_token", {}),
                unprefixed=rpc("tools/call", {"name": "echo_upstream", "arguments": {}})["json"])
            """#)
        #expect(r.result.status == 0, "\(r)")
        let tools = Set(r["tools"].strings)
        #expect(tools.isSuperset(of: ["up_echo", "up_add", "up_token"]), "\(r["tools"])")
        #expect(r["echo"]["isError"].bool == false && r["echo"]["content"][0]["text"].string == "upstream echo: hi", "\(r["echo"])")
        #expect(r["add"]["content"][0]["text"].string == "5", "\(r["add"])")
        #expect(r["big_add"]["_meta"]["agentrun/decision"]["rule_id"].string == "up-no-big-sums", "\(r["big_add"])")
        // A tool that every rule denies is not listed; calling it anyway is denied (unknown or by its rule) and recorded.
        #expect(!tools.contains("up_danger"), "\(r["tools"])")
        #expect(r["danger"]["_meta"]["agentrun/decision"]["rule_id"].string == "up-no-danger" || r["danger"]["error"]["code"].int == -32602,
                "\(r["danger"])")
        #expect(r.calls(of: "up_danger").first?["decision"]["effect"].string == "deny", "\(r)")
        #expect(!t.exists(upstream.log + ".danger"), "the denied upstream tool ran")
        let upstreamCalls = (try? String(contentsOfFile: upstream.log, encoding: .utf8)) ?? ""
        #expect(upstreamCalls.contains("\"echo\"") && !upstreamCalls.contains("\"danger\"") && !upstreamCalls.contains("5000"),
                "the upstream server saw:\n\(upstreamCalls)")
        let tokenText = r["token"]["content"][0]["text"].string ?? ""
        #expect(tokenText.hasPrefix("token=") && !tokenText.contains(Broker.secret), "\(r["token"])")
        let call = try #require(r.calls(of: "up_echo").first, "\(r)")
        #expect(call["decision"]["rule_id"].string == "up-safe-tools", "\(call)")
        #expect(r.result(of: call)?["status"].string == "ok", "\(r)")
        #expect(!r.logText.contains(Broker.secret), "the secret is in the log")
    }

    // MARK: load

    @Test("100 concurrent clients: every call answered, every call and result recorded, the log verifies")
    func concurrentClients() throws {
        let t = try TestDir("broker")
        let profile = try Broker.profile(t)
        let r = try Broker.run(t, profile: profile, script: #"""
            import threading
            from brokerclient import *
            results = [None] * 100
            barrier = threading.Barrier(100)
            def worker(i):
                barrier.wait()
                try:
                    res = call("echo", {"text": "client-%d" % i}, timeout=60)
                    results[i] = "ok" if res.get("isError") is False and ("client-%d" % i) in text_of(res) else repr(res)
                except Exception as e:
                    results[i] = "%s: %s" % (type(e).__name__, e)
            threads = [threading.Thread(target=worker, args=(i,)) for i in range(100)]
            for th in threads: th.start()
            for th in threads: th.join()
            out(failures=[r for r in results if r != "ok"])
            """#, timeout: 120)
        #expect(r.result.status == 0, "\(r)")
        #expect(r["failures"].array.isEmpty, "\(r["failures"])")
        let calls = r.calls(of: "echo")
        let texts = calls.compactMap { $0["arguments"]["text"].string }
        #expect(Set(texts) == Set((0..<100).map { "client-\($0)" }) && texts.count == 100, "\(texts.count) tool.call records")
        let results = r.records("tool.result")
        #expect(results.count == 100, "\(results.count) tool.result records")
        let callSeqs = Set(calls.compactMap { $0["seq"].int })
        #expect(Set(results.compactMap { $0["call_seq"].int }) == callSeqs, "every result names its call")
        let seqs = r.records.compactMap { $0["seq"].int }
        #expect(seqs == Array(1...seqs.count), "the log's sequence has gaps")
        let verify = Broker.agentrun(["log", "verify", r.logDir])
        #expect(verify.status == 0, "\(verify)")
    }

    // MARK: the examples

    /// Copies examples/ into the workspace, the demo profile with the tool server's port.
    private func exampleSetup(_ t: TestDir) throws -> (HostProcess, String, [String: String]) {
        let key = "demo-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let env = ["DEMO_API_KEY": key]
        let server = try HostProcess([Broker.python, Broker.repository + "/examples/tool_server.py", "--port", "0"], env: env)
        let line = try #require(server.waitForLine(prefix: "tool_server: listening on 127.0.0.1:"), "tool_server.py did not start\n\(server.child.stderr)")
        let yaml = try String(contentsOfFile: Broker.repository + "/examples/profiles/broker-demo.yaml", encoding: .utf8)
        #expect(yaml.contains("127.0.0.1:8765"))
        let profile = try t.profile(yaml.replacingOccurrences(of: "127.0.0.1:8765", with: "127.0.0.1:" + line))
        for name in ["agent.py", "mcp_agent.py"] {
            try t.write(name, try String(contentsOfFile: Broker.repository + "/examples/" + name, encoding: .utf8))
        }
        return (server, profile, env)
    }

    @Test("examples/agent.py under examples/profiles/broker-demo.yaml: every answer as expected")
    func exampleAgent() throws {
        let t = try TestDir("broker")
        let (server, profile, env) = try exampleSetup(t)
        defer { server.stop() }
        let dir = t.hostPath("agent-run")
        let r = t.sandbox([Broker.python, t.path("agent.py")], profile: profile, options: ["--log", dir], env: env, timeout: 60)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains(" 0 unexpected"), "\(r)")
        #expect(!r.stdout.contains("UNEXPECTED"), "\(r)")
        #expect(r.stdout.contains("get_ticket {\"id\": \"DEMO-42\"} -> allowed") && r.stdout.contains("Flaky test"), "\(r)")
        #expect(!r.stdout.contains(env["DEMO_API_KEY"]!) && !r.stderr.contains(env["DEMO_API_KEY"]!))
        let log = (try? String(contentsOfFile: dir + "/log.jsonl", encoding: .utf8)) ?? ""
        #expect(log.contains("\"kind\":\"tool.call\"") && log.contains("\"kind\":\"cred.issue\""), "\(log.suffix(2000))")
        #expect(!log.contains(env["DEMO_API_KEY"]!), "the demo key is in the log")
        // Control: without the key the ticket server refuses, so the agent reports it.
        let bad = t.sandbox([Broker.python, t.path("agent.py")], profile: profile, env: ["DEMO_API_KEY": "wrong-key"], timeout: 60)
        #expect(bad.status == 1 && bad.stdout.contains("the tool failed"), "\(bad)")
    }

    @Test("examples/mcp_agent.py: the PyPI mcp client over the Unix socket")
    func exampleMCPAgent() throws {
        guard Broker.requireModule("mcp", pip: "mcp==1.30.0") else { return }
        let t = try TestDir("broker")
        let (server, profile, env) = try exampleSetup(t)
        defer { server.stop() }
        let r = t.sandbox([Broker.python, t.path("mcp_agent.py")], profile: profile, env: env, timeout: 90)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains(" 0 unexpected") && r.stdout.contains("MCP server agentrun"), "\(r)")
    }

    @Test("the demo profile checks, explains itself, and check-call decides without running anything")
    func exampleProfileCLI() throws {
        let path = Broker.repository + "/examples/profiles/broker-demo.yaml"
        let check = Broker.agentrun(["profile", "check", path])
        #expect(check.status == 0, "\(check)")
        let explain = Broker.agentrun(["profile", "explain", path])
        #expect(explain.status == 0, "\(explain)")
        for word in ["get_ticket", "word_count", "no-release-ticket", "ci_token", "demo_api_key"] {
            #expect(explain.stdout.contains(word), "explain does not mention \(word)\n\(explain)")
        }
        let allow = Broker.agentrun(["check-call", "--profile", path, "get_ticket", #"{"id": "DEMO-42"}"#])
        #expect(allow.status == 0 && allow.stdout.contains("allow") && allow.stdout.contains("demo-project-tickets"), "\(allow)")
        let deny = Broker.agentrun(["check-call", "--profile", path, "get_ticket", #"{"id": "DEMO-1"}"#])
        #expect(deny.status != 0 && deny.stdout.contains("deny") && deny.stdout.contains("no-release-ticket"), "\(deny)")
        let traversal = Broker.agentrun(["check-call", "--profile", path, "word_count", #"{"path": "/usr/share/common-licenses/../../../etc/shadow"}"#])
        #expect(traversal.status != 0 && traversal.stdout.contains("deny"), "\(traversal)")
    }
}

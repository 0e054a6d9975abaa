import AgentrunJSON
import Synchronization
import Testing
@testable import AgentrunPolicy

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let time = Mutex<Double>(1000)
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
    var now: @Sendable () -> Double { { [self] in time.withLock { $0 } } }
}

/// One tool `t` with a string/number/array-typed free schema and the given rules.
func engine(_ rules: [ToolRule], budget: ToolBudget = .init(), schema: JSON = ["type": "object"], clock: ManualClock = ManualClock()) -> ToolPolicyEngine {
    ToolPolicyEngine(
        policy: BrokerPolicy(tools: [ToolPolicy(name: "t", inputSchema: schema, rules: rules, budget: budget, backend: .noop)]),
        now: clock.now)
}

func allowWhen(_ pointer: String, _ matcher: ArgumentMatcher) -> [ToolRule] {
    [ToolRule(id: "r", effect: .allow, conditions: [ArgumentCondition(pointer: pointer, matcher: matcher)])]
}

func decide(_ engine: ToolPolicyEngine, _ json: String, tool: String = "t", consume: Bool = true) throws -> ToolDecision {
    engine.evaluate(tool: tool, arguments: try JSON.parse(json), consume: consume)
}

@Suite struct MatcherTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var matcher: ArgumentMatcher
        var matching: [String]
        var notMatching: [String]
        var testDescription: String { "\(matcher)" }
    }

    /// Each matcher on `/v`: values that match, and values that do not (wrong type and missing included).
    static let cases: [Case] = [
        Case(matcher: .eq("a"), matching: [#""a""#], notMatching: [#""b""#, #""A""#, "1", "null", "[\"a\"]"]),
        Case(matcher: .eq(3), matching: ["3", "3.0", "3e0", "30e-1"], notMatching: ["4", #""3""#, "true"]),
        Case(matcher: .eq(["x": [1, true]]), matching: [#"{"x": [1.0, true]}"#], notMatching: [#"{"x": [1, false]}"#, #"{"x": [1, true], "y": 1}"#]),
        // precomposed é vs e + combining acute: equal as Characters, different as scalars
        Case(matcher: .eq("caf\u{E9}"), matching: ["\"caf\u{E9}\""], notMatching: ["\"cafe\u{301}\""]),
        Case(matcher: .oneOf(["a", 2, nil]), matching: [#""a""#, "2", "2.00", "null"], notMatching: [#""2""#, "false", #""b""#]),
        Case(matcher: .prefix(["/work/", "/tmp/"]), matching: [#""/work/a""#, #""/tmp/""#], notMatching: [#""/workx""#, #""/etc""#, "5", "[\"/work/\"]"]),
        Case(matcher: .glob(["*.md", "docs/**"]), matching: [#""a.md""#, #""docs/x/y.txt""#, #""docs/""#], notMatching: [#""x/a.md""#, #""doc/a""#, "1"]),
        Case(matcher: .regex("[a-z]+-[0-9]{2}"), matching: [#""ab-12""#], notMatching: [#""ab-123""#, #"" ab-12""#, #""ab-12\n""#, "12"]),
        Case(matcher: .regex("a|b"), matching: [#""a""#, #""b""#], notMatching: [#""ab""#, #""xa""#]),
        Case(matcher: .pathUnder(["/work", "/data/x"]), matching: [#""/work""#, #""/work/a/../b""#, #""//work//c""#, #""/data/x/./y""#],
             notMatching: [#""/work/../etc""#, #""/workshop""#, #""/data/xy""#, #""work/a""#, #""/a/../../work/../etc""#, "7", #""/work/a\u0000""#]),
        Case(matcher: .maxLength(3), matching: [#""abc""#, #""ééé""#, "[1, 2, 3]", #""""#], notMatching: [#""abcd""#, "[1, 2, 3, 4]", "123", "{}"]),
        Case(matcher: .range(min: -1, max: 2.5), matching: ["-1", "0", "2.5", "2", "1e0"], notMatching: ["-1.5", "3", "2.6", #""1""#, "1e400"]),
        Case(matcher: .range(min: 0, max: 9_000_000_000_000), matching: ["9000000000000"], notMatching: ["9000000000001"]),
    ]

    @Test(arguments: cases)
    func matcher(_ c: Case) throws {
        let e = engine(allowWhen("/v", c.matcher))
        for value in c.matching {
            #expect(try decide(e, #"{"v": \#(value)}"#).effect == .allow, "\(value) should match")
        }
        for value in c.notMatching {
            #expect(try decide(e, #"{"v": \#(value)}"#).ruleID == "default-deny", "\(value) should not match")
        }
        // A missing value matches nothing but `absent`.
        #expect(try decide(e, "{}").ruleID == "default-deny")
    }

    @Test func absent() throws {
        let absent = engine(allowWhen("/v", .absent(true)))
        #expect(try decide(absent, "{}").effect == .allow)
        #expect(try decide(absent, #"{"v": null}"#).ruleID == "default-deny")
        let present = engine(allowWhen("/v", .absent(false)))
        #expect(try decide(present, #"{"v": null}"#).effect == .allow)
        #expect(try decide(present, "{}").ruleID == "default-deny")
    }

    @Test func nestedPointers() throws {
        let e = engine(allowWhen("/a~1b/0/c~0d", .eq(1)))
        #expect(try decide(e, #"{"a/b": [{"c~d": 1}]}"#).effect == .allow)
        #expect(try decide(e, #"{"a/b": {"0": {"c~d": 1}}}"#).effect == .allow)
        #expect(try decide(e, #"{"a/b": [{"c~d": 2}]}"#).ruleID == "default-deny")
        let leadingZero = engine(allowWhen("/a/00", .eq(1)))
        #expect(try decide(leadingZero, #"{"a": [1]}"#).ruleID == "default-deny")
        let whole = engine(allowWhen("", .maxLength(1)))
        #expect(try decide(whole, #"{"a": 1}"#).ruleID == "default-deny")  // an object has no length
    }

    @Test func allConditionsMustHold() throws {
        let e = engine([ToolRule(id: "both", effect: .allow, conditions: [
            ArgumentCondition(pointer: "/a", matcher: .eq(1)), ArgumentCondition(pointer: "/b", matcher: .eq(2)),
        ])])
        #expect(try decide(e, #"{"a": 1, "b": 2}"#).effect == .allow)
        #expect(try decide(e, #"{"a": 1, "b": 3}"#).ruleID == "default-deny")
        #expect(try decide(e, #"{"a": 1}"#).ruleID == "default-deny")
    }
}

@Suite struct PrecedenceTests {
    let allowAll = ToolRule(id: "allow-all", effect: .allow)
    let denyEtc = ToolRule(id: "deny-etc", effect: .deny, conditions: [ArgumentCondition(pointer: "/p", matcher: .prefix(["/etc"]))])

    @Test func denyBeatsAllowInAnyOrder() throws {
        for rules in [[allowAll, denyEtc], [denyEtc, allowAll]] {
            let e = engine(rules)
            #expect(try decide(e, #"{"p": "/etc/passwd"}"#) == ToolDecision(effect: .deny, ruleID: "deny-etc", reason: "denied by rule 'deny-etc'"))
            #expect(try decide(e, #"{"p": "/work"}"#) == ToolDecision(effect: .allow, ruleID: "allow-all", reason: "allowed by rule 'allow-all'"))
        }
    }

    @Test func firstAllowIsCited() throws {
        let e = engine([ToolRule(id: "one", effect: .allow), ToolRule(id: "two", effect: .allow)])
        #expect(try decide(e, "{}").ruleID == "one")
    }

    @Test func defaultDeny() throws {
        #expect(try decide(engine([]), "{}") == ToolDecision(effect: .deny, ruleID: "default-deny", reason: "no rule allows this call (default deny)"))
        // Only deny rules, none matching: still denied.
        #expect(try decide(engine([denyEtc]), #"{"p": "/work"}"#).ruleID == "default-deny")
    }

    @Test func wrongTypeSkipsDenyRule() throws {
        // Documented: a deny rule does not apply to a value of another type; the schema must type it.
        let e = engine([denyEtc, allowAll])
        #expect(try decide(e, #"{"p": ["/etc"]}"#).ruleID == "allow-all")
        let typed = engine([denyEtc, allowAll], schema: ["type": "object", "properties": ["p": ["type": "string"]]])
        #expect(try decide(typed, #"{"p": ["/etc"]}"#).ruleID == "invalid-arguments")
    }

    @Test func unknownToolAndBadArguments() throws {
        let e = engine([allowAll])
        #expect(try decide(e, "{}", tool: "other") == ToolDecision(effect: .deny, ruleID: "unknown-tool", reason: "unknown tool 'other'"))
        #expect(try decide(e, "[]").ruleID == "invalid-arguments")
        #expect(try decide(e, "null").reason == "the arguments must be an object, found null")
    }

    @Test func isListed() {
        let e = ToolPolicyEngine(policy: BrokerPolicy(tools: [
            ToolPolicy(name: "open", rules: [allowAll], backend: .noop),
            ToolPolicy(name: "closed", rules: [denyEtc], backend: .noop),
            ToolPolicy(name: "shut", rules: [allowAll, ToolRule(id: "never", effect: .deny)], backend: .noop),
            ToolPolicy(name: "conditional", rules: [allowAll, denyEtc], backend: .noop),
        ]), now: { 0 })
        #expect(e.isListed(tool: "open"))
        #expect(!e.isListed(tool: "closed"))
        #expect(!e.isListed(tool: "shut"))
        #expect(e.isListed(tool: "conditional"))
        #expect(!e.isListed(tool: "missing"))
    }

    @Test func brokenPolicyDeniesEverything() throws {
        let e = engine(allowWhen("/p", .regex("(unclosed")))
        let decision = try decide(e, #"{"p": "x"}"#)
        #expect(decision.effect == .deny)
        #expect(decision.reason.contains("cannot be used"))
        #expect(!e.isListed(tool: "t"))
    }
}

@Suite struct BudgetTests {
    let allow = [ToolRule(id: "ok", effect: .allow)]

    @Test func perRunExhaustion() throws {
        let e = engine(allow, budget: ToolBudget(perRun: 2))
        #expect(e.remainingBudgets() == ["t": BudgetRemaining(perRun: 2, perMinute: nil)])
        #expect(try decide(e, "{}").effect == .allow)
        #expect(try decide(e, "{}").effect == .allow)
        #expect(try decide(e, "{}") == ToolDecision(effect: .deny, ruleID: "budget-per-run", reason: "budget exhausted: at most 2 calls per run"))
        #expect(e.remainingBudgets()["t"] == BudgetRemaining(perRun: 0, perMinute: nil))
    }

    @Test func dryRunDoesNotCharge() throws {
        let e = engine(allow, budget: ToolBudget(perRun: 1, perMinute: 1))
        for _ in 0..<5 { #expect(try decide(e, "{}", consume: false).effect == .allow) }
        #expect(try decide(e, "{}").effect == .allow)
        #expect(try decide(e, "{}", consume: false).ruleID == "budget-per-run")
    }

    @Test func deniedCallsAreNotCharged() throws {
        let e = engine([ToolRule(id: "ok", effect: .allow, conditions: [ArgumentCondition(pointer: "/x", matcher: .eq(1))])], budget: ToolBudget(perRun: 1))
        #expect(try decide(e, #"{"x": 2}"#).ruleID == "default-deny")
        #expect(try decide(e, #"{"x": 1}"#).effect == .allow)
    }

    @Test func perMinuteSlidingWindow() throws {
        let clock = ManualClock()
        let e = engine(allow, budget: ToolBudget(perMinute: 2), clock: clock)
        #expect(try decide(e, "{}").effect == .allow)  // t=0
        clock.advance(30)
        #expect(try decide(e, "{}").effect == .allow)  // t=30
        #expect(try decide(e, "{}").ruleID == "budget-per-minute")
        #expect(e.remainingBudgets()["t"] == BudgetRemaining(perRun: nil, perMinute: 0))
        clock.advance(29.9)  // t=59.9: the first call is still inside the window
        #expect(try decide(e, "{}").ruleID == "budget-per-minute")
        clock.advance(0.1)  // t=60: the first call has left it
        #expect(e.remainingBudgets()["t"] == BudgetRemaining(perRun: nil, perMinute: 1))
        #expect(try decide(e, "{}").effect == .allow)
        #expect(try decide(e, "{}").ruleID == "budget-per-minute")
        clock.advance(30)  // t=90: the call at 30 has left
        #expect(try decide(e, "{}").effect == .allow)
    }

    @Test func concurrentChargesNeverExceedTheBudget() async throws {
        let e = engine(allow, budget: ToolBudget(perRun: 500))
        let allowed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var n = 0
                    for _ in 0..<200 where e.evaluate(tool: "t", arguments: [:], consume: true).effect == .allow { n += 1 }
                    return n
                }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 500)
    }
}

@Suite struct UpstreamToolTests {
    let policy = BrokerPolicy(
        tools: [ToolPolicy(name: "local", rules: [ToolRule(id: "local-ok", effect: .allow)], backend: .noop)],
        mcpServers: [
            MCPServerPolicy(name: "gh", command: ["/bin/gh-mcp"], rules: [
                ToolRule(id: "gh-read", effect: .allow, tools: ["get_*", "list_*"]),
                ToolRule(id: "gh-no-secrets", effect: .deny, tools: ["get_*"], conditions: [ArgumentCondition(pointer: "/path", matcher: .glob(["**/.env"]))]),
                ToolRule(id: "gh-write", effect: .allow, tools: ["create_issue"], conditions: [ArgumentCondition(pointer: "/repo", matcher: .eq("acme/web"))]),
            ], budget: ToolBudget(perRun: 3)),
            MCPServerPolicy(name: "ghx", command: ["/bin/x"], prefix: "ghx_", rules: [ToolRule(id: "x-all", effect: .allow)]),
        ])

    @Test func resolution() throws {
        let e = ToolPolicyEngine(policy: policy, now: { 0 })
        #expect(try decide(e, "{}", tool: "gh_get_file").ruleID == "gh-read")
        #expect(try decide(e, #"{"path": "a/.env"}"#, tool: "gh_get_file").ruleID == "gh-no-secrets")
        #expect(try decide(e, #"{"path": "a/.env"}"#, tool: "gh_list_files").ruleID == "gh-read")  // the deny names get_* only
        #expect(try decide(e, #"{"repo": "acme/web"}"#, tool: "gh_create_issue").ruleID == "gh-write")
        #expect(try decide(e, #"{"repo": "acme/api"}"#, tool: "gh_create_issue").ruleID == "default-deny")
        #expect(try decide(e, "{}", tool: "gh_delete_repo").ruleID == "default-deny")
        #expect(try decide(e, "{}", tool: "ghx_anything").ruleID == "x-all")  // the longer prefix wins
        #expect(try decide(e, "{}", tool: "gh_").ruleID == "unknown-tool")
        #expect(try decide(e, "{}", tool: "local").ruleID == "local-ok")
        #expect(e.upstream(of: "gh_get_file")! == ("gh", "get_file"))
        #expect(e.upstream(of: "local") == nil)
        #expect(e.isListed(tool: "gh_get_file"))
        #expect(!e.isListed(tool: "gh_delete_repo"))
    }

    @Test func sharedServerBudget() throws {
        let e = ToolPolicyEngine(policy: policy, now: { 0 })
        #expect(try decide(e, "{}", tool: "gh_get_a").effect == .allow)
        #expect(try decide(e, "{}", tool: "gh_list_b").effect == .allow)
        #expect(try decide(e, "{}", tool: "gh_get_c").effect == .allow)
        #expect(try decide(e, "{}", tool: "gh_get_d").ruleID == "budget-per-run")
        #expect(e.remainingBudgets() == ["mcp:gh": BudgetRemaining(perRun: 0, perMinute: nil)])
    }

    @Test func advertisedToolsOnly() throws {
        let e = ToolPolicyEngine(policy: policy, now: { 0 })
        e.setUpstreamTools(server: "gh", tools: ["get_file"])
        #expect(try decide(e, "{}", tool: "gh_get_file").effect == .allow)
        #expect(try decide(e, "{}", tool: "gh_get_other").ruleID == "unknown-tool")
        #expect(!e.isListed(tool: "gh_get_other"))
    }
}

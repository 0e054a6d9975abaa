import AgentrunJSON

// The profile sections the broker enforces: `credentials:`, `tools:` and `mcp_servers:`
// (docs/profiles.md). Decoded strictly like the rest of the profile; evaluated by ToolPolicyEngine.

/// `credentials:` — named credentials, keyed by name.
public struct CredentialPolicy: Sendable, Equatable {
    public var name: String
    public var kind: CredentialKind

    public init(name: String, kind: CredentialKind) {
        self.name = name
        self.kind = kind
    }
}

public enum CredentialKind: Sendable, Equatable {
    /// `type: jwt` — minted per request and signed with the run's Ed25519 key.
    case jwt(JWTCredential)
    /// `type: secret` — a host secret only host-side tools receive; never served to the agent.
    case secret(SecretSource)
}

public struct JWTCredential: Sendable, Equatable {
    /// `audiences:` the `aud` values an agent may ask for (at least one). Exact strings.
    public var audiences: [String]
    /// `scopes:` the scopes an agent may ask for; a request must name a subset. Empty: no scopes.
    public var scopes: [String]
    /// `max_ttl:` seconds; a request may ask for less. Default 300, at most 3600.
    public var maxTTL: Double
    /// `issuer:` the `iss` claim. Default "agentrun".
    public var issuer: String

    public init(audiences: [String], scopes: [String] = [], maxTTL: Double = 300, issuer: String = "agentrun") {
        self.audiences = audiences
        self.scopes = scopes
        self.maxTTL = maxTTL
        self.issuer = issuer
    }
}

/// Where a host secret comes from. Read by the supervisor at launch (a missing one stops the launch).
public enum SecretSource: Sendable, Equatable {
    /// `env: NAME` — a variable of the supervisor's environment (scrubbed from the agent's, as all are).
    case environment(String)
    /// `file: /abs/path` — the file's content, one trailing newline removed.
    case file(String)
}

/// `tools:` — one tool the agent may call, keyed by its name.
public struct ToolPolicy: Sendable, Equatable {
    /// MCP tool name: 1-128 of `A-Za-z0-9_.-`.
    public var name: String
    public var description: String
    /// `input_schema:` a JSON Schema object (YAML written, JSON served by `tools/list`).
    /// Arguments are validated against it before the rules run (the supported subset is in docs/profiles.md).
    public var inputSchema: JSON
    /// `rules:` evaluated in order, but the outcome does not depend on order: any matching deny
    /// wins, else any matching allow, else the tool's default (deny).
    public var rules: [ToolRule]
    /// `budget:`
    public var budget: ToolBudget
    /// `backend:` what runs the call on the host.
    public var backend: ToolBackendSpec

    public init(
        name: String, description: String = "", inputSchema: JSON = ["type": "object"], rules: [ToolRule] = [],
        budget: ToolBudget = .init(), backend: ToolBackendSpec
    ) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
        self.rules = rules
        self.budget = budget
        self.backend = backend
    }
}

/// One rule: `{id, effect, when: {<JSON pointer>: {<matcher>: <value>, ...}, ...}}`.
/// All matchers of all pointers must hold for the rule to match; a rule without `when` matches every call.
public struct ToolRule: Sendable, Equatable {
    /// Unique within the profile; cited in every decision and record.
    public var id: String
    public var effect: RuleEffect
    /// `tools:` (only in `mcp_servers.*.rules`) glob patterns of upstream tool names this rule covers; empty = all.
    public var tools: [String]
    public var conditions: [ArgumentCondition]

    public init(id: String, effect: RuleEffect, tools: [String] = [], conditions: [ArgumentCondition] = []) {
        self.id = id
        self.effect = effect
        self.tools = tools
        self.conditions = conditions
    }
}

public enum RuleEffect: String, Sendable, Equatable, CaseIterable {
    case allow
    case deny
}

/// One `<JSON pointer>: {<matcher>: value}` entry of a rule's `when`.
public struct ArgumentCondition: Sendable, Equatable {
    /// RFC 6901 pointer into the call's arguments ("" = the whole arguments object).
    public var pointer: String
    public var matcher: ArgumentMatcher

    public init(pointer: String, matcher: ArgumentMatcher) {
        self.pointer = pointer
        self.matcher = matcher
    }
}

/// Matchers. A missing value (the pointer resolves to nothing) matches none of them, except `absent`.
public enum ArgumentMatcher: Sendable, Equatable {
    /// `eq:` equal JSON value (numbers compared by value).
    case eq(JSON)
    /// `in:` equal to one of.
    case oneOf([JSON])
    /// `prefix:` a string starting with one of these.
    case prefix([String])
    /// `glob:` a string matching one of these (`*` within a path segment, `**` across, `?`, `[...]`).
    case glob([String])
    /// `regex:` a string whose whole text matches (anchored at both ends).
    case regex(String)
    /// `path_under:` a string that is an absolute path and, after lexical normalisation (`.`, `..`,
    /// repeated `/`), is one of these directories or inside one. Symlinks are not resolved.
    case pathUnder([String])
    /// `max_length:` a string of at most this many Unicode scalars, or an array of at most this many items.
    case maxLength(Int)
    /// `range: [min, max]` a number within, inclusive.
    case range(min: Double, max: Double)
    /// `absent: true|false` whether the pointer resolves to nothing.
    case absent(Bool)
}

/// `budget:` per tool (or per upstream MCP server). nil = unlimited.
public struct ToolBudget: Sendable, Equatable {
    /// `per_run:` allowed calls in the whole run.
    public var perRun: Int?
    /// `per_minute:` allowed calls in any sliding 60 s window.
    public var perMinute: Int?

    public init(perRun: Int? = nil, perMinute: Int? = nil) {
        self.perRun = perRun
        self.perMinute = perMinute
    }
}

/// `backend:` — exactly one of these keys.
public enum ToolBackendSpec: Sendable, Equatable {
    /// `noop: {}` returns its arguments as the result; runs nothing (tests, benchmarks, dry policies).
    case noop
    case command(CommandBackendSpec)
    case http(HTTPBackendSpec)
    /// A tool re-exported from `mcp_servers.<server>` (set by the decoder for upstream tools, never written).
    case mcp(server: String, tool: String)
}

/// `backend.command:` a host-side program, no shell. Each argv item is a template: `{name}` is
/// replaced by the top-level argument `name` (strings as is, numbers and booleans as JSON text,
/// anything else refused); an item is always exactly one argv entry whatever the value holds.
public struct CommandBackendSpec: Sendable, Equatable {
    public var argv: [String]
    /// `env:` variables of the tool's environment, values are templates that may use `{secret:NAME}`.
    /// Nothing else of the supervisor's environment passes except PATH=/usr/bin:/bin.
    public var env: [String: String]
    /// `cwd:` absolute host directory (default `/`).
    public var cwd: String
    /// `timeout:` seconds (default 30); the process group is killed after it.
    public var timeout: Double
    /// `max_output:` bytes of stdout kept (default 1 MiB); more fails the call.
    public var maxOutput: Int

    public init(argv: [String], env: [String: String] = [:], cwd: String = "/", timeout: Double = 30, maxOutput: Int = 1 << 20) {
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.timeout = timeout
        self.maxOutput = maxOutput
    }
}

/// `backend.http:` one HTTP request per call.
public struct HTTPBackendSpec: Sendable, Equatable {
    /// `method:` GET, POST, PUT, PATCH, DELETE (default GET).
    public var method: String
    /// `url:` http:// or https:// template; `{name}` is percent-encoded into the path or query.
    /// Scheme, host and port must be literal (no template in them).
    public var url: String
    /// `headers:` templates that may use `{secret:NAME}` and `{name}`.
    public var headers: [String: String]
    /// `body:` `arguments` (the call's arguments as JSON, the default for POST/PUT/PATCH) or `none`.
    public var sendArguments: Bool
    /// `timeout:` seconds (default 30).
    public var timeout: Double
    /// `max_response:` bytes (default 1 MiB); more fails the call.
    public var maxResponse: Int

    public init(
        method: String = "GET", url: String, headers: [String: String] = [:], sendArguments: Bool = false, timeout: Double = 30,
        maxResponse: Int = 1 << 20
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.sendArguments = sendArguments
        self.timeout = timeout
        self.maxResponse = maxResponse
    }
}

/// `mcp_servers:` — an upstream MCP server the supervisor starts over stdio (outside the sandbox).
/// Its tools are re-exported as `<prefix><tool>` and governed by `rules` and `budget` (default deny).
public struct MCPServerPolicy: Sendable, Equatable {
    public var name: String
    /// `command:` argv of the server (absolute program path).
    public var command: [String]
    /// `env:` templates with `{secret:NAME}`; nothing else of the supervisor's environment passes except PATH.
    public var env: [String: String]
    /// `prefix:` default `<name>_`.
    public var prefix: String
    public var rules: [ToolRule]
    public var budget: ToolBudget
    /// `timeout:` per call, seconds (default 30). Start-up and `initialize` get the same.
    public var timeout: Double
    /// `max_output:` bytes of one response (default 1 MiB).
    public var maxOutput: Int

    public init(
        name: String, command: [String], env: [String: String] = [:], prefix: String? = nil, rules: [ToolRule] = [],
        budget: ToolBudget = .init(), timeout: Double = 30, maxOutput: Int = 1 << 20
    ) {
        self.name = name
        self.command = command
        self.env = env
        self.prefix = prefix ?? name + "_"
        self.rules = rules
        self.budget = budget
        self.timeout = timeout
        self.maxOutput = maxOutput
    }
}

/// What the broker exposes, as the profile approved it.
public struct BrokerPolicy: Sendable, Equatable {
    public var credentials: [CredentialPolicy]
    public var tools: [ToolPolicy]
    public var mcpServers: [MCPServerPolicy]

    public init(credentials: [CredentialPolicy] = [], tools: [ToolPolicy] = [], mcpServers: [MCPServerPolicy] = []) {
        self.credentials = credentials
        self.tools = tools
        self.mcpServers = mcpServers
    }

    public var isEmpty: Bool { credentials.isEmpty && tools.isEmpty && mcpServers.isEmpty }
}

/// The outcome of evaluating one tool call.
public struct ToolDecision: Sendable, Equatable {
    public var effect: RuleEffect
    /// The deciding rule's id; built-in reasons use reserved ids: `default-deny`, `unknown-tool`,
    /// `invalid-arguments`, `budget-per-run`, `budget-per-minute`.
    public var ruleID: String
    /// One sentence for the agent and the log.
    public var reason: String

    public init(effect: RuleEffect, ruleID: String, reason: String) {
        self.effect = effect
        self.ruleID = ruleID
        self.reason = reason
    }
}

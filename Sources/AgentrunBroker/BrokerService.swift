import AgentrunJSON
import AgentrunPolicy
import AgentrunProvenance

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The broker's routes over one run's configuration: answers requests, evaluates tool calls and
/// records everything in the provenance log before acting (fail closed: an unrecorded call does
/// not run, an unrecorded credential is not handed out).
final class BrokerService: Sendable {
    static let serverVersion = "0.1.0"

    let limits: BrokerLimits
    let sandboxPIDNamespace: (device: UInt64, inode: UInt64)
    let writer: ProvenanceWriter
    let policy: any ToolPolicyEvaluating
    let tools: any ToolRunning
    let issuer: CredentialIssuer
    let runID: String
    let profileName: String
    let profileDigest: String
    let expiresAt: Double?
    let credentials: [String: CredentialPolicy]
    let credentialOrder: [CredentialPolicy]
    /// Names of the tools the policy lists, in `tools/list` order.
    let listedToolNames: [String]
    /// `{"tools":[...]}` of `tools/list`, computed once.
    let toolsListResult: [UInt8]
    /// Bodies limits for parsing request JSON.
    let parseLimits = JSONParseLimits(maxDepth: 64, maxStringBytes: 1 << 20)

    init(
        limits: BrokerLimits, sandboxPIDNamespace: (device: UInt64, inode: UInt64), writer: ProvenanceWriter,
        policy: any ToolPolicyEvaluating, tools: any ToolRunning, runKey: RunKey, runID: String, profile: Profile,
        profileDigest: String, expiresAt: Double?
    ) {
        self.limits = limits
        self.sandboxPIDNamespace = sandboxPIDNamespace
        self.writer = writer
        self.policy = policy
        self.tools = tools
        self.issuer = CredentialIssuer(runKey: runKey)
        self.runID = runID
        self.profileName = profile.name
        self.profileDigest = profileDigest
        self.expiresAt = expiresAt
        credentialOrder = profile.broker.credentials
        credentials = Dictionary(profile.broker.credentials.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var listings = profile.broker.tools.map { ToolListing(name: $0.name, description: $0.description, inputSchema: $0.inputSchema) }
        let local = Set(listings.map(\.name))
        listings += tools.upstreamListings.filter { !local.contains($0.name) }
        let listed = listings.filter { policy.isListed(tool: $0.name) }
        listedToolNames = listed.map(\.name)
        let toolObjects: [JSON] = listed.map { t in
            ["name": .string(t.name), "description": .string(t.description), "inputSchema": t.inputSchema]
        }
        toolsListResult = JSONWriter.encode(["tools": .array(toolObjects)])
    }

    func handle(_ request: BrokerRequest) -> BrokerOutcome {
        switch request.route {
        case .jwks: return .now(.json(issuer.jwksBody))
        case .session: return .now(session())
        case .check: return .now(check(request))
        case .credentials: return credential(request)
        case .mcp: return mcp(request)
        }
    }

    // MARK: - Records

    /// Appends a record; nil when the log refused it (the caller must then not act).
    func record(_ kind: String, _ fields: [String: JSONValue]) -> ProvenanceWriter.Receipt? {
        try? writer.append(kind, fields)
    }

    func recordRefusal(_ refusal: PeerRefusal) {
        var peer: [String: JSONValue] = [:]
        if let pid = refusal.pid { peer["pid"] = .int(Int64(pid)) }
        if let uid = refusal.uid { peer["uid"] = .int(Int64(uid)) }
        _ = record("broker.refused", ["peer": .object(peer), "reason": .string(refusal.reason)])
    }

    // MARK: - Helpers

    func parseBody(_ request: BrokerRequest) -> Result<JSON, BrokerHTTPError> {
        let bytes = request.bodyBytes
        guard !bytes.isEmpty else { return .failure(.badRequest("the request needs a JSON body")) }
        do {
            return .success(try JSON.parse(bytes, limits: parseLimits))
        } catch {
            return .failure(.badRequest("the body is not valid JSON: \(error)"))
        }
    }

    static func realtimeNow() -> (seconds: Int64, nanoseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Int64(now.tv_sec), Int(now.tv_nsec))
    }

    /// RFC 3339 UTC in whole seconds (`2026-11-29T18:15:00Z`).
    static func rfc3339(seconds: Int64) -> String {
        let full = RFC3339.format(seconds: seconds, nanoseconds: 0)
        guard let dot = full.firstIndex(of: ".") else { return full }
        return String(full[..<dot]) + "Z"
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    // MARK: - GET /v1/session

    func session() -> BrokerResponse {
        var body: [String: JSON] = [
            "run_id": .string(runID),
            "profile": ["name": .string(profileName), "digest": .string(profileDigest)],
            "tools": .array(listedToolNames.map { .string($0) }),
            "budgets": policy.remainingBudgetsJSON(),
        ]
        if let expiresAt {
            let seconds = Int64(expiresAt.rounded(.down))
            body["expires_at"] = .string(Self.rfc3339(seconds: seconds))
            body["expires_in"] = .number(JSONNumber(max(0, seconds - Self.realtimeNow().seconds)))
        } else {
            body["expires_at"] = .null
        }
        body["credentials"] = .array(
            credentialOrder.compactMap { c -> JSON? in
                guard case .jwt(let jwt) = c.kind else { return nil }  // host secrets are not the agent's business
                return [
                    "name": .string(c.name), "type": "jwt", "audiences": .array(jwt.audiences.map { .string($0) }),
                    "scopes": .array(jwt.scopes.map { .string($0) }), "max_ttl": .number(JSONNumber(Int64(jwt.maxTTL))),
                ]
            })
        return .json(JSONWriter.encode(.object(body)))
    }

    // MARK: - POST /v1/check

    func check(_ request: BrokerRequest) -> BrokerResponse {
        let body: JSON
        switch parseBody(request) {
        case .failure(let e): return .error(e)
        case .success(let b): body = b
        }
        guard case .object(let fields) = body, let tool = fields["tool"]?.stringValue else {
            return .error(.badRequest("the body must be {\"tool\": <name>, \"arguments\": {...}}"))
        }
        for key in fields.keys where key != "tool" && key != "arguments" {
            return .error(.badRequest("unknown member '\(key)'"))
        }
        let arguments = fields["arguments"] ?? .object([:])
        guard case .object = arguments else { return .error(.badRequest("'arguments' must be a JSON object")) }
        let decision = policy.evaluate(tool: tool, arguments: arguments, consume: false)
        let recorded = record(
            "tool.check",
            [
                "actor": request.peer.actor, "tool": .string(tool), "arguments": RecordValues.value(arguments),
                "decision": RecordValues.decision(decision), "via": "http",
            ])
        guard recorded != nil else { return .error(.unrecorded("the check was not recorded")) }
        var out: [UInt8] = []
        out.reserveCapacity(96 + decision.reason.utf8.count)
        out.append(contentsOf: "{\"decision\":".utf8)
        JSONWriter.appendString(decision.effect.rawValue, to: &out)
        out.append(contentsOf: ",\"reason\":".utf8)
        JSONWriter.appendString(decision.reason, to: &out)
        out.append(contentsOf: ",\"rule_id\":".utf8)
        JSONWriter.appendString(decision.ruleID, to: &out)
        out.append(UInt8(ascii: "}"))
        return .json(out)
    }

    // MARK: - POST /v1/credentials

    func credential(_ request: BrokerRequest) -> BrokerOutcome {
        let body: JSON
        switch parseBody(request) {
        case .failure(let e): return .now(.error(e))
        case .success(let b): body = b
        }
        let grant: CredentialIssuer.Grant
        switch CredentialIssuer.grant(body, credentials: credentials) {
        case .failure(let denial):
            var fields: [String: JSONValue] = [
                "actor": request.peer.actor, "reason": .string(denial.error.message),
                "scopes": .array(denial.scopes.map { .string($0) }),
            ]
            if let name = denial.name { fields["name"] = .string(name) }
            if let audience = denial.audience { fields["audience"] = .string(audience) }
            guard record("cred.deny", fields) != nil else { return .now(.error(.unrecorded("the refusal was not recorded"))) }
            return .now(.error(denial.error))
        case .success(let g): grant = g
        }
        let actor = request.peer.actor
        let subject = "agentrun:\(runID):agent"
        return .later { [self] in
            let minted: CredentialIssuer.Minted
            do {
                minted = try await issuer.mint(grant, runID: runID, profileDigest: profileDigest, subject: subject)
            } catch {
                return .error(BrokerHTTPError(status: 500, .internalError, "signing the token failed"))
            }
            let expires = Self.rfc3339(seconds: minted.expiresAt)
            let recorded = record(
                "cred.issue",
                [
                    "actor": actor, "name": .string(grant.name), "type": "jwt", "jti": .string(minted.jti),
                    "audience": .string(grant.audience), "scopes": .array(grant.scopes.map { .string($0) }),
                    "expires_at": .string(expires),
                ])
            guard recorded != nil else { return .error(.unrecorded("the token was not issued")) }
            let response: JSON = [
                "token": .string(minted.token), "token_type": "Bearer", "expires_at": .string(expires),
                "expires_in": .number(JSONNumber(grant.ttl)), "scopes": .array(grant.scopes.map { .string($0) }),
                "jti": .string(minted.jti), "audience": .string(grant.audience),
            ]
            return .json(JSONWriter.encode(response))
        }
    }
}

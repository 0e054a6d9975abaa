// Export of provenance records as OCSF events (docs/provenance.md, "OCSF export").
//
// One record becomes at most one event of the pinned OCSF version. Every event carries the whole
// record under `unmapped`, so nothing is lost to the mapping; the mapped attributes are the ones
// a SIEM searches on (class, activity, status, actor process, file, endpoint, API operation).
// Events never hold `null` outside `unmapped`: an absent record member leaves its OCSF attribute out.

/// Maps agentrun provenance records to OCSF events.
public enum OCSFExport {
    /// The OCSF schema version the events follow (`metadata.version`); `Tests/ocsf/validate.py`
    /// validates against the same version.
    public static let version = "1.5.0"

    /// The product name and vendor written to `metadata.product` (and `app` of lifecycle events).
    public static let productName = "agentrun"

    /// What a run's `session.start` tells about the records after it.
    public struct Context: Sendable, Equatable {
        /// agentrun's version (`session.start` `agentrun.version`); "unknown" in events when nil.
        public var productVersion: String?
        /// The host's name and kernel release (`session.start` `host`), for the `device` object.
        public var hostname: String?
        public var kernel: String?

        public init(productVersion: String? = nil, hostname: String? = nil, kernel: String? = nil) {
            self.productVersion = productVersion
            self.hostname = hostname
            self.kernel = kernel
        }

        /// The context a `session.start` record gives; nil for any other record.
        public init?(sessionStart record: JSONValue) {
            guard record["kind"]?.stringValue == "session.start" else { return nil }
            self.init(
                productVersion: record["agentrun"]?["version"]?.stringValue,
                hostname: record["host"]?["hostname"]?.stringValue,
                kernel: record["host"]?["kernel"]?.stringValue
            )
        }
    }

    /// Exports the records of one log in order, remembering what its `session.start` said.
    public struct Exporter: Sendable {
        public private(set) var context: Context

        public init(context: Context = Context()) { self.context = context }

        public mutating func event(for record: JSONValue) -> JSONValue? {
            if let fromStart = Context(sessionStart: record) { context = fromStart }
            return OCSFExport.event(for: record, context: context)
        }
    }

    /// The OCSF event for one record, or nil for records with no OCSF counterpart (`checkpoint`,
    /// kinds this version does not know) and for records that are not records (no `kind`, a
    /// `ts` that is not RFC 3339, a process record or process syscall without `actor.pid`). A `session.start` supplies its own context; for other records
    /// the product version is "unknown" and the host is not named: use `Exporter` (or pass the
    /// context) to carry `session.start` over to the rest of a log.
    public static func event(for record: JSONValue) -> JSONValue? {
        event(for: record, context: Context(sessionStart: record) ?? Context())
    }

    /// The OCSF event for one record, with what the run's `session.start` said.
    public static func event(for record: JSONValue, context: Context) -> JSONValue? {
        guard case .object(let fields) = record, let kind = fields["kind"]?.stringValue,
            let ts = fields["ts"]?.stringValue, let time = epochMilliseconds(rfc3339: ts)
        else { return nil }
        let r = OCSFRecord(fields: fields, kind: kind, time: time, context: context)
        let event: OCSFEvent?
        switch kind {
        case "session.start": event = r.sessionStart()
        case "session.end": event = r.sessionEnd()
        case "process.exec": event = r.processExec()
        case "process.exit": event = r.processExit()
        case "tool.call": event = r.toolCall()
        case "tool.result": event = r.toolResult()
        case "tool.check": event = r.toolCheck()
        case "cred.issue": event = r.credentialIssue()
        case "cred.deny": event = r.credentialDeny()
        case "broker.refused": event = r.brokerRefused()
        case "net.connect": event = r.netConnect()
        default:
            if kind.hasPrefix("syscall.") {
                event = r.syscall(name: fields["syscall"]?.stringValue ?? String(kind.dropFirst("syscall.".count)))
            } else {
                event = nil  // checkpoint, and kinds without an OCSF counterpart
            }
        }
        return event.map { r.finish($0) }
    }
}

// MARK: - Classes and activities

/// The OCSF classes agentrun exports to, with the captions the schema gives them.
enum OCSFClass: Int64, Sendable {
    case fileSystemActivity = 1001
    case processActivity = 1007
    case authentication = 3002
    case networkActivity = 4001
    case applicationLifecycle = 6002
    case apiActivity = 6003

    var name: String {
        switch self {
        case .fileSystemActivity: "File System Activity"
        case .processActivity: "Process Activity"
        case .authentication: "Authentication"
        case .networkActivity: "Network Activity"
        case .applicationLifecycle: "Application Lifecycle"
        case .apiActivity: "API Activity"
        }
    }

    var categoryUID: Int64 { rawValue / 1000 }

    var categoryName: String {
        switch categoryUID {
        case 1: "System Activity"
        case 3: "Identity & Access Management"
        case 4: "Network Activity"
        default: "Application Activity"
        }
    }

    /// Whether `actor` and `device` are the class's own attributes (System Activity) rather than
    /// the `host` profile's.
    var hasHostAttributes: Bool { categoryUID == 1 }

    /// The schema's caption of an activity id of this class.
    func activityName(_ id: Int64) -> String {
        if id == 0 { return "Unknown" }
        if id == 99 { return "Other" }
        let names: [Int64: String]
        switch self {
        case .fileSystemActivity:
            names = [
                1: "Create", 2: "Read", 3: "Update", 4: "Delete", 5: "Rename", 6: "Set Attributes", 7: "Set Security",
                8: "Get Attributes", 9: "Get Security", 10: "Encrypt", 11: "Decrypt", 12: "Mount", 13: "Unmount",
                14: "Open",
            ]
        case .processActivity: names = [1: "Launch", 2: "Terminate", 3: "Open", 4: "Inject", 5: "Set User ID"]
        case .authentication:
            names = [
                1: "Logon", 2: "Logoff", 3: "Authentication Ticket", 4: "Service Ticket Request",
                5: "Service Ticket Renew", 6: "Preauth",
            ]
        case .networkActivity:
            names = [1: "Open", 2: "Close", 3: "Reset", 4: "Fail", 5: "Refuse", 6: "Traffic", 7: "Listen"]
        case .applicationLifecycle:
            names = [
                1: "Install", 2: "Remove", 3: "Start", 4: "Stop", 5: "Restart", 6: "Enable", 7: "Disable", 8: "Update",
            ]
        case .apiActivity: names = [1: "Create", 2: "Read", 3: "Update", 4: "Delete"]
        }
        return names[id] ?? "Other"
    }
}

/// Activity ids used by name below.
enum OCSFActivity {
    static let fileCreate: Int64 = 1, fileRead: Int64 = 2, fileUpdate: Int64 = 3, fileDelete: Int64 = 4
    static let fileRename: Int64 = 5, fileSetAttributes: Int64 = 6, fileGetAttributes: Int64 = 8
    static let fileMount: Int64 = 12, fileUnmount: Int64 = 13
    static let processLaunch: Int64 = 1, processTerminate: Int64 = 2, processOpen: Int64 = 3, processInject: Int64 = 4
    static let processSetUserID: Int64 = 5
    static let authenticationTicket: Int64 = 3
    static let networkOpen: Int64 = 1, networkRefuse: Int64 = 5, networkTraffic: Int64 = 6, networkListen: Int64 = 7
    static let appStart: Int64 = 3, appStop: Int64 = 4
    static let other: Int64 = 99
}

enum OCSFSeverity: Int64 {
    case informational = 1, low = 2, medium = 3, high = 4

    var name: String {
        switch self {
        case .informational: "Informational"
        case .low: "Low"
        case .medium: "Medium"
        case .high: "High"
        }
    }
}

/// An event under construction: the class-specific attributes, before `finish` adds the common ones.
struct OCSFEvent {
    var cls: OCSFClass
    var activityID: Int64
    /// Overrides the schema caption in `activity_name` (e.g. the syscall for "Other").
    var activityName: String?
    var severity: OCSFSeverity = .informational
    /// true = Success, false = Failure, nil = no status.
    var success: Bool?
    var fields: [String: JSONValue] = [:]
    /// Profiles whose attributes the event uses besides `host` (added by `finish` when needed).
    var profiles: Set<String> = []

    init(_ cls: OCSFClass, _ activityID: Int64, activityName: String? = nil) {
        self.cls = cls
        self.activityID = activityID
        self.activityName = activityName
    }

    subscript(key: String) -> JSONValue? {
        get { fields[key] }
        set { fields[key] = newValue }
    }
}

// MARK: - The record being exported

struct OCSFRecord {
    let fields: [String: JSONValue]
    let kind: String
    let time: Int64
    let context: Context

    typealias Context = OCSFExport.Context

    var run: String? { fields["run"]?.stringValue }

    // MARK: Common attributes

    func finish(_ e: OCSFEvent) -> JSONValue {
        var out = e.fields
        var profiles = e.profiles
        let cls = e.cls
        out["class_uid"] = .int(cls.rawValue)
        out["class_name"] = .string(cls.name)
        out["category_uid"] = .int(cls.categoryUID)
        out["category_name"] = .string(cls.categoryName)
        out["activity_id"] = .int(e.activityID)
        out["activity_name"] = .string(e.activityName ?? cls.activityName(e.activityID))
        out["type_uid"] = .int(cls.rawValue * 100 + e.activityID)
        out["type_name"] = .string("\(cls.name): \(cls.activityName(e.activityID))")
        out["time"] = .int(time)
        out["severity_id"] = .int(e.severity.rawValue)
        out["severity"] = .string(e.severity.name)
        if let success = e.success {
            out["status_id"] = .int(success ? 1 : 2)
            out["status"] = .string(success ? "Success" : "Failure")
        }
        if out["device"] == nil { out["device"] = device() }
        if !cls.hasHostAttributes, out["device"] != nil || out["actor"] != nil { profiles.insert("host") }
        if out["disposition_id"] != nil || out["action_id"] != nil || out["policy"] != nil {
            profiles.insert("security_control")
        }
        out["metadata"] = metadata(profiles: profiles)
        out["unmapped"] = .object(fields)
        return .object(out)
    }

    func metadata(profiles: Set<String>) -> JSONValue {
        var m: [String: JSONValue] = [
            "version": .string(OCSFExport.version),
            "product": product(),
            "original_time": fields["ts"] ?? .null,
            "event_code": .string(kind),
            "log_provider": .string(OCSFExport.productName),
        ]
        if let hash = fields["hash"]?.stringValue { m["uid"] = .string(hash) }
        if let run { m["correlation_uid"] = .string(run) }
        if let seq = fields["seq"]?.intValue { m["sequence"] = .int(seq) }
        if let v = fields["v"]?.intValue { m["log_version"] = .string("agentrun-provenance/\(v)") }
        if !profiles.isEmpty { m["profiles"] = .array(profiles.sorted().map { .string($0) }) }
        return .object(m)
    }

    func product() -> JSONValue {
        [
            "name": .string(OCSFExport.productName),
            "vendor_name": .string(OCSFExport.productName),
            "version": .string(context.productVersion ?? "unknown"),
        ]
    }

    /// The host agentrun ran on: named when `session.start` was seen, else "unknown".
    func device() -> JSONValue {
        var d: [String: JSONValue] = ["type_id": 0, "type": "Unknown"]
        if let hostname = context.hostname, !hostname.isEmpty {
            d["hostname"] = .string(hostname)
        } else {
            d["name"] = "unknown"
        }
        var os: [String: JSONValue] = ["name": "Linux", "type_id": 200, "type": "Linux"]
        if let kernel = context.kernel { os["kernel_release"] = .string(kernel) }
        d["os"] = .object(os)
        return .object(d)
    }

    // MARK: Processes, files, actors

    /// A `file` object for a path: name = the last component (the path itself for `/`).
    static func file(path: String, typeID: Int64 = 1) -> JSONValue {
        var f: [String: JSONValue] = ["path": .string(path), "name": .string(baseName(path))]
        f["type_id"] = .int(typeID)
        f["type"] = .string(fileTypeName(typeID))
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            f["parent_folder"] = .string(String(path[..<slash]))
        } else if path.hasPrefix("/"), path.count > 1 {
            f["parent_folder"] = "/"
        }
        return .object(f)
    }

    static func baseName(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if let slash = trimmed.lastIndex(of: "/"), trimmed.index(after: slash) != trimmed.endIndex {
            return String(trimmed[trimmed.index(after: slash)...])
        }
        return trimmed.isEmpty ? path : String(trimmed)
    }

    static func fileTypeName(_ id: Int64) -> String {
        switch id {
        case 1: "Regular File"
        case 2: "Folder"
        case 3: "Character Device"
        case 4: "Block Device"
        case 5: "Local Socket"
        case 6: "Named Pipe"
        case 7: "Symbolic Link"
        case 99: "Other"
        default: "Unknown"
        }
    }

    static func commandLine(_ argv: JSONValue?) -> String? {
        guard let args = argv?.arrayValue else { return nil }
        let strings = args.compactMap(\.stringValue)
        return strings.isEmpty ? nil : strings.joined(separator: " ")
    }

    /// A `process` object (needs a pid to be one): pid, executable as `file`, name, command line.
    func process(pid: Int64?, exe: String?, argv: JSONValue? = nil) -> [String: JSONValue]? {
        guard let pid else { return nil }
        var p: [String: JSONValue] = ["pid": .int(pid), "sandbox": .string(OCSFExport.productName)]
        if let exe, !exe.isEmpty {
            p["file"] = Self.file(path: exe)
            p["name"] = .string(Self.baseName(exe))
            p["path"] = .string(exe)
        }
        if let cmd = Self.commandLine(argv) { p["cmd_line"] = .string(cmd) }
        return p
    }

    /// The record's `actor` as a `process` object.
    func actorProcess(argv: JSONValue? = nil) -> [String: JSONValue]? {
        process(pid: fields["actor"]?["pid"]?.intValue, exe: fields["actor"]?["exe"]?.stringValue, argv: argv)
    }

    /// The `actor` object: the record's actor process, else agentrun itself.
    func actor(argv: JSONValue? = nil) -> JSONValue {
        if let p = actorProcess(argv: argv) { return ["process": .object(p)] }
        return ["app_name": .string(OCSFExport.productName)]
    }

    // MARK: Decisions

    /// The decision's effect: `decision` is either a string (syscalls, `net.connect`, with the
    /// rule in `rule`) or the broker's object `{effect, rule_id, reason}`.
    var decisionEffect: String? { fields["decision"]?.stringValue ?? fields["decision"]?["effect"]?.stringValue }
    var decisionRule: String? { fields["rule"]?.stringValue ?? fields["decision"]?["rule_id"]?.stringValue }

    /// Applies `decision` (and `rule`, `errno`): status, and the security_control profile's
    /// disposition/action/policy. Allowed-but-failed (an errno with `allow`) is a Failure too.
    func applyDecision(_ e: inout OCSFEvent) {
        let errno = fields["errno"]?.stringValue
        switch decisionEffect {
        case "allow":
            e.success = errno == nil
            e["action_id"] = 1
            e["action"] = "Allowed"
            e["disposition_id"] = 1
            e["disposition"] = "Allowed"
        case "deny":
            e.success = false
            e.severity = max(e.severity, .low)
            e["action_id"] = 2
            e["action"] = "Denied"
            e["disposition_id"] = 2
            e["disposition"] = "Blocked"
        case let other?:
            e.success = nil
            e["status_id"] = 99
            e["status"] = .string(other)
        case nil:
            if errno != nil { e.success = false }
        }
        if let rule = decisionRule, !rule.isEmpty {
            var policy: [String: JSONValue] = ["name": .string(rule)]
            if let reason = fields["decision"]?["reason"]?.stringValue, !reason.isEmpty { policy["desc"] = .string(reason) }
            e["policy"] = .object(policy)
        }
        if let errno {
            e["status_code"] = .string(errno)
            e["status_detail"] = .string(errno)
        } else if decisionEffect == "deny" {
            e["status_detail"] = .string(decisionRule.map { "denied by rule \($0)" } ?? "denied")
        }
    }

    // MARK: - session.*

    func sessionStart() -> OCSFEvent {
        var e = OCSFEvent(.applicationLifecycle, OCSFActivity.appStart)
        e.success = true
        e["app"] = product()
        var actor: [String: JSONValue] = ["app_name": .string(OCSFExport.productName)]
        if let uid = fields["user"]?["uid"]?.intValue {
            actor["user"] = ["uid": .string(String(uid))]
        }
        e["actor"] = .object(actor)
        var message = "agentrun session started"
        if let profile = fields["profile"]?["name"]?.stringValue { message += " with profile \(profile)" }
        if let cmd = Self.commandLine(fields["argv"]) { message += ": \(cmd)" }
        e["message"] = .string(message)
        return e
    }

    func sessionEnd() -> OCSFEvent {
        var e = OCSFEvent(.applicationLifecycle, OCSFActivity.appStop)
        e["app"] = product()
        e["actor"] = ["app_name": .string(OCSFExport.productName)]
        let exitCode = fields["exit_code"]?.intValue
        let reason = fields["reason"]?.stringValue
        if let exitCode {
            e.success = exitCode == 0
            e["status_code"] = .string(String(exitCode))
        }
        let error = fields["error"]?.stringValue
        if let detail = [reason, error].compactMap({ $0 }).joined(separator: ": ").nilIfEmpty {
            e["status_detail"] = .string(detail)
        }
        if reason == "provenance-failure" { e.severity = .high }
        var message = "agentrun session ended"
        if let reason { message += " (\(reason))" }
        if let error { message += ": \(error)" }
        if let exitCode { message += ", exit code \(exitCode)" }
        if let records = fields["records"]?.intValue { message += ", \(records) records" }
        e["message"] = .string(message)
        return e
    }

    // MARK: - process.*

    /// Nil without an actor pid: an OCSF process is identified by its pid.
    func processExec() -> OCSFEvent? {
        guard var p = actorProcess(argv: fields["argv"]) else { return nil }
        var e = OCSFEvent(.processActivity, OCSFActivity.processLaunch)
        e.success = true
        if let cwd = fields["cwd"]?.stringValue { p["working_directory"] = .string(cwd) }
        if let uid = fields["uid"]?.intValue { p["user"] = ["uid": .string(String(uid))] }
        p["created_time"] = .int(time)
        e["process"] = .object(p)
        e["actor"] = ["app_name": .string(OCSFExport.productName)]
        e["message"] = .string("agent started" + (Self.commandLine(fields["argv"]).map { ": \($0)" } ?? ""))
        return e
    }

    func processExit() -> OCSFEvent? {
        guard var p = actorProcess() else { return nil }
        var e = OCSFEvent(.processActivity, OCSFActivity.processTerminate)
        p["terminated_time"] = .int(time)
        e["process"] = .object(p)
        e["actor"] = ["app_name": .string(OCSFExport.productName)]
        let exitCode = fields["exit_code"]?.intValue
        let reason = fields["reason"]?.stringValue
        if let exitCode {
            e["exit_code"] = .int(exitCode)
            e.success = exitCode == 0
        }
        if let ns = fields["duration_ns"]?.intValue, ns >= 0 {
            let ms = ns / 1_000_000
            e["duration"] = .int(ms)
            e["start_time"] = .int(time - ms)
            e["end_time"] = .int(time)
        }
        var detail = reason ?? "exited"
        if let status = fields["status"]?.intValue { detail += ", status \(status)" }
        if let signal = fields["signal"]?.intValue { detail += ", signal \(signal)" }
        e["status_detail"] = .string(detail)
        switch reason {
        case "provenance-failure": e.severity = .high
        case "timeout", "out-of-memory", "supervisor-stopped": e.severity = .low
        default: break
        }
        e["message"] = .string("agent ended: \(detail)")
        return e
    }

    // MARK: - tool.*

    /// The calling side of an API Activity event: the sandbox of this run.
    func sandboxEndpoint() -> JSONValue {
        var s: [String: JSONValue] = ["name": "agentrun-sandbox"]
        if let run { s["uid"] = .string(run) }
        return .object(s)
    }

    func toolCall() -> OCSFEvent {
        var e = OCSFEvent(.apiActivity, OCSFActivity.other, activityName: "Tool Call")
        let tool = fields["tool"]?.stringValue ?? "unknown"
        var request: [String: JSONValue] = ["uid": .string(fields["seq"]?.intValue.map { String($0) } ?? "")]
        if let arguments = fields["arguments"] { request["data"] = arguments }
        e["api"] = ["operation": .string(tool), "request": .object(request)]
        e["actor"] = actor()
        e["src_endpoint"] = sandboxEndpoint()
        e.success = true
        applyDecision(&e)
        e["message"] = .string("tool call \(tool)" + (decisionEffect.map { " (\($0))" } ?? ""))
        return e
    }

    /// A dry-run decision (`POST /v1/check`): nothing ran.
    func toolCheck() -> OCSFEvent {
        var e = OCSFEvent(.apiActivity, OCSFActivity.other, activityName: "Tool Check")
        let tool = fields["tool"]?.stringValue ?? "unknown"
        var request: [String: JSONValue] = ["uid": .string(fields["seq"]?.intValue.map { String($0) } ?? "")]
        if let arguments = fields["arguments"] { request["data"] = arguments }
        e["api"] = ["operation": .string(tool), "request": .object(request)]
        e["actor"] = actor()
        e["src_endpoint"] = sandboxEndpoint()
        e.success = true
        applyDecision(&e)
        e["message"] = .string("policy check of tool \(tool)" + (decisionEffect.map { " (would \($0))" } ?? ""))
        return e
    }

    func toolResult() -> OCSFEvent {
        var e = OCSFEvent(.apiActivity, OCSFActivity.other, activityName: "Tool Result")
        let tool = fields["tool"]?.stringValue ?? "unknown"
        let status = fields["status"]?.stringValue
        var api: [String: JSONValue] = ["operation": .string(tool)]
        if let callSeq = fields["call_seq"]?.intValue { api["request"] = ["uid": .string(String(callSeq))] }
        // The result itself (possibly large) stays in `unmapped` only.
        if status == "error" { api["response"] = ["error": "error"] }
        e["api"] = .object(api)
        e["actor"] = actor()
        e["src_endpoint"] = sandboxEndpoint()
        if let status {
            e.success = status == "ok"
            e["status_detail"] = .string(status)
        }
        if let ns = fields["duration_ns"]?.intValue, ns >= 0 {
            let ms = ns / 1_000_000
            e["duration"] = .int(ms)
            e["start_time"] = .int(time - ms)
            e["end_time"] = .int(time)
        }
        applyDecision(&e)
        e["message"] = .string("tool result \(tool): \(status ?? "unknown")")
        return e
    }

    // MARK: - cred.issue

    /// A credential issued to the agent: an Authentication Ticket for the audience (the service).
    /// The token itself is never in the record; `jti` identifies it.
    func credentialIssue() -> OCSFEvent {
        var e = OCSFEvent(.authentication, OCSFActivity.authenticationTicket)
        e.success = true
        let name = fields["name"]?.stringValue
        let jti = fields["jti"]?.stringValue
        // The principal is the sandboxed agent of this run.
        var user: [String: JSONValue] = ["uid": .string(run ?? "unknown"), "type_id": 99, "type": "Agent"]
        if let jti { user["credential_uid"] = .string(jti) }
        e["user"] = .object(user)
        let audience = fields["audience"]?.stringValue
        e["service"] = ["name": .string(audience ?? "unknown")]
        e["actor"] = actor()
        if let type = fields["type"]?.stringValue {
            e["auth_protocol_id"] = 99
            e["auth_protocol"] = .string(type.uppercased())
        }
        var session: [String: JSONValue] = ["issuer": .string(OCSFExport.productName), "created_time": .int(time)]
        if let jti { session["credential_uid"] = .string(jti) }
        if let expires = fields["expires_at"]?.stringValue, let ms = OCSFExport.epochMilliseconds(rfc3339: expires) {
            session["expiration_time"] = .int(ms)
        }
        e["session"] = .object(session)
        applyDecision(&e)
        var message = "issued \(fields["type"]?.stringValue ?? "credential")"
        if let name { message += " \(name)" }
        if let audience { message += " for \(audience)" }
        if let scopes = fields["scopes"]?.arrayValue?.compactMap(\.stringValue), !scopes.isEmpty {
            message += " with scopes \(scopes.joined(separator: " "))"
        }
        e["message"] = .string(message)
        return e
    }

    /// A refused credential request: an Authentication Ticket that failed. Never a token.
    func credentialDeny() -> OCSFEvent {
        var e = OCSFEvent(.authentication, OCSFActivity.authenticationTicket)
        e.success = false
        e.severity = .low
        let name = fields["name"]?.stringValue
        e["user"] = ["uid": .string(run ?? "unknown"), "type_id": 99, "type": "Agent"]
        let audience = fields["audience"]?.stringValue
        e["service"] = ["name": .string(audience ?? "unknown")]
        e["actor"] = actor()
        e["action_id"] = 2
        e["action"] = "Denied"
        e["disposition_id"] = 2
        e["disposition"] = "Blocked"
        if let reason = fields["reason"]?.stringValue { e["status_detail"] = .string(reason) }
        var message = "refused credential"
        if let name { message += " \(name)" }
        if let audience { message += " for \(audience)" }
        if let reason = fields["reason"]?.stringValue { message += ": \(reason)" }
        e["message"] = .string(message)
        return e
    }

    // MARK: - broker.refused

    /// A connection to the broker socket from a process outside the run: refused at accept.
    func brokerRefused() -> OCSFEvent {
        var e = OCSFEvent(.networkActivity, OCSFActivity.networkRefuse)
        e.success = false
        e.severity = .medium
        e["dst_endpoint"] = ["name": "agentrun.sock"]
        var src: [String: JSONValue] = ["name": "unix-socket-peer"]
        if let pid = fields["peer"]?["pid"]?.intValue { src["name"] = .string("pid \(pid)") }
        e["src_endpoint"] = .object(src)
        e["connection_info"] = ["direction_id": 1, "direction": "Inbound"]
        if let p = process(pid: fields["peer"]?["pid"]?.intValue, exe: fields["peer"]?["exe"]?.stringValue) {
            var p = p
            if let uid = fields["peer"]?["uid"]?.intValue { p["user"] = ["uid": .string(String(uid))] }
            e["actor"] = ["process": .object(p)]
        } else {
            e["actor"] = ["app_name": .string(OCSFExport.productName)]
        }
        e["action_id"] = 2
        e["action"] = "Denied"
        e["disposition_id"] = 2
        e["disposition"] = "Blocked"
        let reason = fields["reason"]?.stringValue
        if let reason { e["status_detail"] = .string(reason) }
        e["message"] = .string("broker connection refused" + (reason.map { ": \($0)" } ?? ""))
        return e
    }

    // MARK: - net.connect

    func netConnect() -> OCSFEvent {
        let denied = fields["decision"]?.stringValue == "deny"
        var e = OCSFEvent(.networkActivity, denied ? OCSFActivity.networkRefuse : OCSFActivity.networkOpen)
        var endpoint: [String: JSONValue] = [:]
        let host = fields["host"]?.stringValue
        let ip = fields["ip"]?.stringValue
        if let ip, OCSFIP.isValid(ip) { endpoint["ip"] = .string(ip) }
        if let host, !host.isEmpty, host != ip {
            if OCSFIP.isValid(host), endpoint["ip"] == nil { endpoint["ip"] = .string(host) } else {
                endpoint["hostname"] = .string(host)
            }
        }
        if endpoint.isEmpty { endpoint["name"] = .string(host ?? ip ?? "unknown") }
        if let port = fields["port"]?.intValue, (0...65535).contains(port) { endpoint["port"] = .int(port) }
        e["dst_endpoint"] = .object(endpoint)
        var connection: [String: JSONValue] = ["direction_id": 2, "direction": "Outbound"]
        if let ip = endpoint["ip"]?.stringValue { connection.merge(Self.ipVersion(ip)) { a, _ in a } }
        e["connection_info"] = .object(connection)
        e["actor"] = actor()
        e.success = true
        applyDecision(&e)
        let target = [host, ip].compactMap { $0 }.first ?? "unknown"
        e["message"] = .string(
            "connect to \(target)" + (fields["port"]?.intValue.map { ":\($0)" } ?? "")
                + (fields["decision"]?.stringValue.map { " (\($0))" } ?? ""))
        return e
    }

    static func ipVersion(_ ip: String) -> [String: JSONValue] {
        ip.contains(":")
            ? ["protocol_ver_id": 6, "protocol_ver": "Internet Protocol version 6 (IPv6)"]
            : ["protocol_ver_id": 4, "protocol_ver": "Internet Protocol version 4 (IPv4)"]
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension OCSFSeverity: Comparable {
    static func < (a: OCSFSeverity, b: OCSFSeverity) -> Bool { a.rawValue < b.rawValue }
}

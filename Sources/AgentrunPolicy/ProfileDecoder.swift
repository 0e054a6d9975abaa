/// Decodes one profile file's YAML tree into a `ProfileLayer`, strictly: unknown keys, wrong
/// types and out-of-range values are errors that name the line, column and key path. A silently
/// ignored typo would weaken the sandbox without anyone noticing.
struct ProfileDecoder {
    /// Shown in errors: a path, or `<built-in NAME>`.
    let file: String

    func decode(_ root: YAMLNode?) throws(ProfileError) -> ProfileLayer {
        guard let root else {
            throw ProfileError(file: file, message: "the profile is empty; expected a mapping with keys such as name, extends, filesystem")
        }
        var layer = ProfileLayer()
        for entry in try entries(of: root, path: "", in: .top) {
            switch entry.key {
            case "name":
                let text = try string(entry.value, entry.path, expected: "a profile name")
                guard ValueRules.isProfileName(text) else {
                    throw fail(entry.value, entry.path, "invalid profile name '\(text)'; use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit")
                }
                layer.name = Located(value: text, mark: entry.value.mark)
            case "description":
                let text = try string(entry.value, entry.path, expected: "a one-line description")
                if let problem = ValueRules.characterProblem(text) { throw fail(entry.value, entry.path, problem) }
                layer.description = text
            case "extends":
                layer.extends = Located(value: try extends(entry), mark: entry.value.mark)
            case "filesystem": try decodeFilesystem(entry, into: &layer)
            case "network": layer.network = try network(entry)
            case "process":
                for env in try entries(of: entry.value, path: entry.path, in: .process) {
                    try decodeEnv(env, into: &layer)
                }
            case "limits": try decodeLimits(entry, into: &layer)
            case "syscalls":
                for field in try entries(of: entry.value, path: entry.path, in: .syscalls) {
                    switch field.key {
                    case "deny":
                        layer.deny = try list(field, of: "syscall names") { node, path throws(ProfileError) in
                            let name = try string(node, path, expected: "a syscall name")
                            guard ValueRules.isSyscallName(name) else {
                                throw fail(node, path, "invalid syscall name '\(name)'; syscall names are lower-case letters, digits and '_' (e.g. ptrace)")
                            }
                            return name
                        }
                    case "mediate": try decodeMediate(field, into: &layer.mediate)
                    default: break
                    }
                }
            case "landlock": layer.landlock = try choice(entry.value, entry.path, LandlockMode.self)
            case "provenance": try decodeProvenance(entry, into: &layer)
            case "credentials": try decodeCredentials(entry, into: &layer)
            case "tools": try decodeTools(entry, into: &layer)
            case "mcp_servers": try decodeMCPServers(entry, into: &layer)
            default: break  // `entries` only returns keys of the section
            }
        }
        return layer
    }

    // MARK: - Sections

    func extends(_ entry: Entry) throws(ProfileError) -> String {
        let text = try string(entry.value, entry.path, expected: "a profile name or a path")
        if ProfileStore.isPath(text) {
            if text.isEmpty { throw fail(entry.value, entry.path, "the path is empty") }
            if let problem = ValueRules.characterProblem(text) { throw fail(entry.value, entry.path, problem) }
        } else if !ValueRules.isProfileName(text) {
            throw fail(entry.value, entry.path, "invalid profile name '\(text)'; write a name such as default, or a path such as ./base.yaml")
        }
        return text
    }

    func network(_ entry: Entry) throws(ProfileError) -> NetworkMode {
        if case .scalar("proxy", _, _) = entry.value {
            throw fail(entry.value, entry.path, "network: proxy is not supported yet (there is no egress proxy); allowed: none, host")
        }
        return try choice(entry.value, entry.path, NetworkMode.self)
    }

    func decodeFilesystem(_ section: Entry, into layer: inout ProfileLayer) throws(ProfileError) {
        for entry in try entries(of: section.value, path: section.path, in: .filesystem) {
            switch entry.key {
            case "workspace": layer.workspace = try choice(entry.value, entry.path, WorkspaceAccess.self)
            case "system": layer.system = try absolutePaths(entry)
            case "read_only": layer.readOnly = try absolutePaths(entry)
            case "read_write": layer.readWrite = try absolutePaths(entry)
            case "tmpfs":
                layer.tmpfs = try list(entry, of: "absolute paths") { node, path throws(ProfileError) in
                    let text = try absolutePath(node, path)
                    if text == "/proc" || text == "/dev" {
                        throw fail(node, path, "'\(text)' cannot be a tmpfs: agentrun mounts it itself")
                    }
                    return text
                }
            case "protected":
                layer.protected = try list(entry, of: "paths relative to the workspace") { node, path throws(ProfileError) in
                    let text = try string(node, path, expected: "a path relative to the workspace")
                    if let problem = ValueRules.protectedPathProblem(text) { throw fail(node, path, problem) }
                    return text
                }
            case "exec":
                layer.exec = try list(entry, of: "exec locations") { node, path throws(ProfileError) in
                    try choice(node, path, ExecLocation.self)
                }
            case "tmp_size":
                guard case .value(let size) = try size(entry, minimum: 1 << 20, allowUnlimited: false) else { break }
                layer.tmpSize = size
            default: break
            }
        }
    }

    func decodeEnv(_ process: Entry, into layer: inout ProfileLayer) throws(ProfileError) {
        for entry in try entries(of: process.value, path: process.path, in: .env) {
            switch entry.key {
            case "pass":
                layer.envPass = try list(entry, of: "variable names") { node, path throws(ProfileError) in
                    let text = try string(node, path, expected: "a variable name or PREFIX*")
                    let name = text.hasSuffix("*") ? String(text.dropLast()) : text
                    if name.isEmpty {
                        throw fail(node, path, "'*' alone would pass every host variable (and its secrets); list names or prefixes such as LC_*")
                    }
                    guard ValueRules.isEnvName(name) else {
                        throw fail(node, path, "invalid variable name '\(text)'; names match [A-Za-z_][A-Za-z0-9_]*, optionally ending in '*' for a prefix")
                    }
                    return text
                }
            case "set":
                guard case .mapping(let pairs, _) = entry.value else {
                    throw typeError(entry.value, entry.path, expected: "a mapping of variable names to values")
                }
                for pair in pairs {
                    let name = pair.key.scalarText ?? ""
                    let path = "\(entry.path).\(name)"
                    guard ValueRules.isEnvName(name) else {
                        throw fail(pair.key, path, "invalid variable name '\(name)'; names match [A-Za-z_][A-Za-z0-9_]*")
                    }
                    let value = try string(pair.value, path, expected: "a string value")
                    if value.utf8.contains(0) { throw fail(pair.value, path, "a NUL character cannot be part of an environment value") }
                    layer.envSet[name] = value
                }
            default: break
            }
        }
    }

    func decodeLimits(_ section: Entry, into layer: inout ProfileLayer) throws(ProfileError) {
        for entry in try entries(of: section.value, path: section.path, in: .limits) {
            switch entry.key {
            case "wall": layer.wall = try duration(entry, allowUnlimited: true)
            case "kill_grace":
                guard case .value(let seconds) = try duration(entry, allowUnlimited: false) else { break }
                guard seconds <= 300 else {
                    throw fail(entry.value, entry.path, "must be between 0s and 5m, found \(Units.formatDuration(seconds))")
                }
                layer.killGrace = seconds
            case "cpu": layer.cpu = try duration(entry, allowUnlimited: true)
            case "memory": layer.memory = try size(entry, minimum: 16 << 20, allowUnlimited: true)
            case "address_space": layer.addressSpace = try size(entry, minimum: 64 << 20, allowUnlimited: true)
            case "file_size": layer.fileSize = try size(entry, minimum: 1, allowUnlimited: true)
            case "processes": layer.processes = try count(entry, range: 1...4_194_304)
            case "open_files": layer.openFiles = try count(entry, range: 16...1_048_576)
            default: break
            }
        }
    }

    func decodeProvenance(_ section: Entry, into layer: inout ProfileLayer) throws(ProfileError) {
        for entry in try entries(of: section.value, path: section.path, in: .provenance) {
            switch entry.key {
            case "dir": layer.provenanceDir = try absolutePath(entry.value, entry.path)
            case "sign_key": layer.signKey = try absolutePath(entry.value, entry.path)
            case "checkpoint_every":
                guard case .value(let count) = try count(entry, range: 1...1_000_000) else {
                    throw fail(entry.value, entry.path, "cannot be unlimited: the log must be sealed regularly; give a number of records such as 1000")
                }
                layer.checkpointEvery = Int(count)
            case "checkpoint_interval":
                guard case .value(let seconds) = try duration(entry, allowUnlimited: false) else { break }
                guard seconds >= 0.01, seconds <= 3600 else {
                    throw fail(entry.value, entry.path, "must be between 10ms and 1h, found \(Units.formatDuration(seconds))")
                }
                layer.checkpointInterval = seconds
            case "durability": layer.durability = try choice(entry.value, entry.path, ProvenanceDurability.self)
            case "secrets":
                layer.secrets = try list(entry, of: "variable names") { node, path throws(ProfileError) in
                    let name = try string(node, path, expected: "a variable name")
                    guard ValueRules.isEnvName(name) else {
                        throw fail(node, path, "invalid variable name '\(name)'; names match [A-Za-z_][A-Za-z0-9_]*")
                    }
                    return name
                }
            default: break
            }
        }
    }

    /// `syscalls.mediate:` (MediationPolicy.swift, docs/profiles.md).
    func decodeMediate(_ section: Entry, into mediate: inout MediationLayer) throws(ProfileError) {
        var ruleIDs: [String: String] = [:]  // id -> key path of the rule that has it
        for entry in try entries(of: section.value, path: section.path, in: .mediate) {
            switch entry.key {
            case "record":
                mediate.record = try list(entry, of: "groups or syscall names") { node, path throws(ProfileError) in
                    try recordName(node, path)
                }
            case "record_all": mediate.recordAll = try boolean(entry)
            case "exact_files": mediate.exactFiles = try boolean(entry)
            case "errno":
                let allowed = MediationErrno.allCases.map(\.rawValue)
                let text = try string(entry.value, entry.path, expected: "one of " + allowed.joined(separator: ", "))
                guard let value = MediationErrno(rawValue: text) else {
                    var message = "unknown value '\(text)';"
                    if let close = KeySuggestion.closest(to: text, in: allowed.map { $0.lowercased() }) {
                        message += " did you mean '\(close.uppercased())'?"
                    }
                    throw fail(entry.value, entry.path, message + " allowed: " + allowed.joined(separator: ", "))
                }
                mediate.errno = value
            case "deny_exec": mediate.denyExec = try pathRules(entry, exec: true, ids: &ruleIDs, into: &mediate)
            case "deny_write": mediate.denyWrite = try pathRules(entry, exec: false, ids: &ruleIDs, into: &mediate)
            default: break
            }
        }
    }

    /// A `record:` entry: a `MediationGroup` or a syscall name.
    private func recordName(_ node: YAMLNode, _ path: String) throws(ProfileError) -> String {
        let groups = MediationGroup.allCases.map(\.rawValue)
        let groupList = groups.joined(separator: ", ")
        let name = try string(node, path, expected: "a group (\(groupList)) or a syscall name")
        if MediationGroup(rawValue: name) != nil { return name }
        if name.contains("-") {
            var message = "unknown group '\(name)';"
            if let close = KeySuggestion.closest(to: name, in: groups) { message += " did you mean '\(close)'?" }
            throw fail(node, path, message + " groups: \(groupList) (syscall names are written with '_', not '-')")
        }
        if let group = MediationGroup(rawValue: name.replacing("_", with: "-")) {
            throw fail(node, path, "'\(name)' is not a syscall; did you mean the group '\(group.rawValue)'? groups: \(groupList)")
        }
        guard ValueRules.isSyscallName(name) else {
            var message = "invalid syscall name '\(name)';"
            if let close = KeySuggestion.closest(to: name, in: groups) { message += " did you mean the group '\(close)'?" }
            throw fail(node, path, message + " record takes groups (\(groupList)) or syscall names: lower-case letters, digits and '_' (e.g. openat)")
        }
        return name
    }

    /// `deny_exec:` or `deny_write:`, a list of `{id, paths}`. Rule ids are unique across both
    /// lists of the file (`ids`); clashes with inherited rules are checked by `MediationValidation`.
    private func pathRules(
        _ entry: Entry, exec: Bool, ids: inout [String: String], into mediate: inout MediationLayer
    ) throws(ProfileError) -> ListSetting<MediationPolicy.PathRule> {
        try list(entry, of: "rules ({id, paths})") { node, path throws(ProfileError) in
            guard case .mapping = node else { throw typeError(node, path, expected: "a rule mapping {id, paths}") }
            var id: String?
            var paths: [String]?
            for field in try entries(of: node, path: path, in: .pathRule) {
                switch field.key {
                case "id":
                    let text = try string(field.value, field.path, expected: "a rule id")
                    guard BrokerNames.isName(text) else {
                        throw fail(field.value, field.path, "invalid rule id '\(text)'; use 1-128 letters, digits, '_', '.' and '-'")
                    }
                    guard !MediationPolicy.isReservedRuleID(text) else {
                        throw fail(field.value, field.path, "'\(text)' is reserved for decisions agentrun makes itself (reserved: \(MediationPolicy.builtinRuleIDs.joined(separator: ", ")) and every id starting with \(MediationPolicy.reservedRulePrefixes.map { "'\($0)'" }.joined(separator: " or ")))")
                    }
                    if let first = ids[text] {
                        throw fail(field.value, field.path, "duplicate rule id '\(text)' (already used by \(first)); rule ids are unique across deny_exec and deny_write")
                    }
                    ids[text] = path
                    mediate.ruleIDs[text] = Located(value: field.path, mark: field.value.mark)
                    id = text
                case "paths":
                    if field.append {
                        throw fail(field.keyNode, field.path, "'+' appends to an inherited list, but a rule's paths are never inherited; write 'paths:'")
                    }
                    let items = exec ? "program names or absolute globs" : "absolute globs or '**/' patterns"
                    guard case .replace(let values) = try list(field, of: items, { item, itemPath throws(ProfileError) in
                        let text = try string(item, itemPath, expected: exec ? "a program name or an absolute glob" : "an absolute glob or a '**/' pattern")
                        if let problem = exec ? MediationPatterns.execProblem(text) : MediationPatterns.writeProblem(text) {
                            throw fail(item, itemPath, problem)
                        }
                        return text
                    }) else { break }
                    if values.isEmpty { throw fail(field.value, field.path, "a rule needs at least one path pattern") }
                    paths = values
                default: break
                }
            }
            guard let id else { throw fail(node, path, "missing key 'id'; every rule needs an id, cited in the log when the rule denies a call") }
            guard let paths else { throw fail(node, path, "missing key 'paths'; a rule needs at least one path pattern") }
            return MediationPolicy.PathRule(id: id, paths: paths)
        }
    }

    // MARK: - Mappings and keys

    /// One key of a section, with `+` split off and the key path for errors.
    struct Entry {
        var key: String
        var append: Bool
        var keyNode: YAMLNode
        var value: YAMLNode
        var path: String
    }

    /// The entries of a section mapping, checked against its schema: unknown keys (with a
    /// suggestion), `+` on a key that is not a list, and `KEY` together with `KEY+`.
    func entries(of node: YAMLNode, path: String, in section: Section) throws(ProfileError) -> [Entry] {
        guard case .mapping(let pairs, _) = node else {
            throw typeError(node, path, expected: section.expected)
        }
        var result: [Entry] = []
        var seen: [String: String] = [:]  // base key -> key as written
        for pair in pairs {
            let written = pair.key.scalarText ?? ""
            let append = written.hasSuffix("+")
            let key = append ? String(written.dropLast()) : written
            let keyPath = path.isEmpty ? written : "\(path).\(written)"
            guard section.keys.contains(key) else {
                throw fail(pair.key, keyPath, unknownKeyMessage(written, in: section))
            }
            if append, !section.lists.contains(key) {
                throw fail(pair.key, keyPath, "'+' appends to a list, but '\(key)' is not a list; write '\(key):' to replace the value"
                    + (key == "set" ? " (set already merges key by key with the parent)" : ""))
            }
            if let other = seen[key] {
                throw fail(pair.key, keyPath, "both '\(other)' and '\(written)' are set; use '\(key):' to replace the inherited list or '\(key)+:' to append to it, not both")
            }
            seen[key] = written
            result.append(Entry(key: key, append: append, keyNode: pair.key, value: pair.value, path: keyPath))
        }
        return result
    }

    func unknownKeyMessage(_ written: String, in section: Section) -> String {
        let append = written.hasSuffix("+")
        let base = append ? String(written.dropLast()) : written
        var message = "unknown key '\(written)'; "
        if let close = KeySuggestion.closest(to: base, in: section.keys) {
            message += "did you mean '\(close)\(append ? "+" : "")'? "
        } else if let home = Section.home(of: base), home != section.name {
            message += home.isEmpty ? "'\(base)' is a top-level key; " : "'\(base)' belongs in '\(home)'; "
        }
        return message + "allowed: " + section.keys.joined(separator: ", ")
    }

    // MARK: - Values

    func list<T>(
        _ entry: Entry, of items: String, _ decode: (YAMLNode, String) throws(ProfileError) -> T
    ) throws(ProfileError) -> ListSetting<T> {
        guard case .sequence(let nodes, _) = entry.value else {
            throw typeError(entry.value, entry.path, expected: "a list of \(items)")
        }
        var values: [T] = []
        var seen: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            let path = "\(entry.path)[\(index)]"
            let value = try decode(node, path)
            if let text = node.scalarText {
                if let first = seen[text] {
                    throw fail(node, path, "duplicate entry '\(text)' (already at \(entry.path)[\(first)])")
                }
                seen[text] = index
            }
            values.append(value)
        }
        return entry.append ? .append(values) : .replace(values)
    }

    func absolutePaths(_ entry: Entry) throws(ProfileError) -> ListSetting<String> {
        try list(entry, of: "absolute paths") { node, path throws(ProfileError) in try absolutePath(node, path) }
    }

    func absolutePath(_ node: YAMLNode, _ path: String) throws(ProfileError) -> String {
        let text = try string(node, path, expected: "an absolute path")
        if let problem = ValueRules.absolutePathProblem(text) { throw fail(node, path, problem) }
        return text
    }

    func choice<T: RawRepresentable & CaseIterable>(
        _ node: YAMLNode, _ path: String, _ type: T.Type
    ) throws(ProfileError) -> T where T.RawValue == String {
        let allowed = T.allCases.map(\.rawValue)
        let text = try string(node, path, expected: "one of " + allowed.joined(separator: ", "))
        if let value = T(rawValue: text) { return value }
        var message = "unknown value '\(text)';"
        if let close = KeySuggestion.closest(to: text, in: allowed) { message += " did you mean '\(close)'?" }
        throw fail(node, path, message + " allowed: " + allowed.joined(separator: ", "))
    }

    func size(_ entry: Entry, minimum: UInt64, allowUnlimited: Bool) throws(ProfileError) -> LimitSetting<UInt64> {
        let expected = "a size such as 512MiB" + (allowUnlimited ? " or unlimited" : "")
        let text = try string(entry.value, entry.path, expected: expected)
        if text == "unlimited" {
            guard allowUnlimited else { throw fail(entry.value, entry.path, "cannot be unlimited; give a size such as 1GiB") }
            return .unlimited
        }
        switch Units.sizeValue(text) {
        case .failure(let error):
            throw fail(entry.value, entry.path, "invalid size '\(text)': \(error.message)" + (allowUnlimited ? " (or unlimited)" : ""))
        case .success(let bytes):
            guard bytes >= minimum else {
                throw fail(entry.value, entry.path, "must be at least \(Units.formatSize(minimum)), found \(text)")
            }
            return .value(bytes)
        }
    }

    func duration(_ entry: Entry, allowUnlimited: Bool) throws(ProfileError) -> LimitSetting<Double> {
        let expected = "a duration such as 30m" + (allowUnlimited ? " or unlimited" : "")
        let text = try string(entry.value, entry.path, expected: expected)
        if text == "unlimited" {
            guard allowUnlimited else { throw fail(entry.value, entry.path, "cannot be unlimited; give a duration such as 2s") }
            return .unlimited
        }
        switch Units.durationValue(text) {
        case .failure(let error):
            throw fail(entry.value, entry.path, "invalid duration '\(text)': \(error.message)" + (allowUnlimited ? " (or unlimited)" : ""))
        case .success(let seconds):
            // kill_grace may be 0 (SIGKILL at once); a zero timeout or CPU budget is a mistake.
            if allowUnlimited, seconds == 0 {
                throw fail(entry.value, entry.path, "must be more than 0s, found \(text); write unlimited for no limit")
            }
            return .value(seconds)
        }
    }

    /// `true` or `false`, plain (a quoted "true" is text).
    func boolean(_ entry: Entry) throws(ProfileError) -> Bool {
        guard case .scalar(let text, false, _) = entry.value, ScalarKind(plain: text) == .boolean else {
            throw typeError(entry.value, entry.path, expected: "true or false")
        }
        return text == "true"
    }

    func count(_ entry: Entry, range: ClosedRange<UInt64>) throws(ProfileError) -> LimitSetting<UInt64> {
        let outOfRange = "must be between \(range.lowerBound) and \(range.upperBound)"
        switch entry.value {
        case .scalar("unlimited", _, _):
            return .unlimited
        case .scalar(let text, quoted: false, _) where ScalarKind(plain: text) == .integer:
            guard let value = UInt64(text), range.contains(value) else {
                throw fail(entry.value, entry.path, "\(outOfRange), found \(text)")
            }
            return .value(value)
        default:
            throw typeError(entry.value, entry.path, expected: "a whole number or unlimited")
        }
    }

    /// A string, from a quoted scalar or a plain one that is not null or a boolean. Numbers are
    /// taken as written (`PIP_NO_INPUT: 1` sets "1").
    func string(_ node: YAMLNode, _ path: String, expected: String) throws(ProfileError) -> String {
        if case .scalar(let text, let quoted, _) = node {
            if quoted { return text }
            switch ScalarKind(plain: text) {
            case .null, .boolean: break
            case .integer, .float, .string: return text
            }
        }
        throw typeError(node, path, expected: expected)
    }

    // MARK: - Errors

    func typeError(_ node: YAMLNode, _ path: String, expected: String) -> ProfileError {
        var message = "expected \(expected), found \(ScalarKind.describe(node))"
        if case .scalar(let text, false, _) = node, ScalarKind(plain: text) == .boolean {
            message += "; quote it (\"\(text)\") if you mean the text"
        }
        return fail(node, path, message)
    }

    func fail(_ node: YAMLNode, _ path: String, _ message: String) -> ProfileError {
        ProfileError(file: file, line: node.mark.line, column: node.mark.column, keyPath: path, message: message)
    }
}

/// The keys each section accepts, in the order `renderYAML` writes them.
struct Section: Sendable {
    var name: String
    var keys: [String]
    /// Keys whose value is a list, the only ones that accept `KEY+:`.
    var lists: Set<String> = []
    var expected: String

    static let top = Section(
        name: "", keys: [
            "name", "description", "extends", "filesystem", "network", "process", "limits", "syscalls", "landlock", "provenance",
            "credentials", "tools", "mcp_servers",
        ],
        expected: "a mapping (the profile)")
    static let filesystem = Section(
        name: "filesystem",
        keys: ["workspace", "system", "read_only", "read_write", "tmpfs", "protected", "exec", "tmp_size"],
        lists: ["system", "read_only", "read_write", "tmpfs", "protected", "exec"],
        expected: "a mapping of filesystem settings")
    static let process = Section(name: "process", keys: ["env"], expected: "a mapping with the key env")
    static let env = Section(name: "process.env", keys: ["pass", "set"], lists: ["pass"], expected: "a mapping with the keys pass and set")
    static let limits = Section(
        name: "limits",
        keys: ["wall", "kill_grace", "cpu", "memory", "address_space", "processes", "open_files", "file_size"],
        expected: "a mapping of limits")
    static let syscalls = Section(
        name: "syscalls", keys: ["deny", "mediate"], lists: ["deny"], expected: "a mapping with the keys deny and mediate")
    static let mediate = Section(
        name: "syscalls.mediate", keys: ["record", "record_all", "exact_files", "errno", "deny_exec", "deny_write"],
        lists: ["record", "deny_exec", "deny_write"], expected: "a mapping of mediation settings")
    /// A `deny_exec`/`deny_write` rule. `paths` is listed so that `paths+:` gets its own message.
    static let pathRule = Section(name: "syscalls.mediate.*[]", keys: ["id", "paths"], lists: ["paths"], expected: "a rule mapping {id, paths}")
    static let provenance = Section(
        name: "provenance", keys: ["dir", "sign_key", "checkpoint_every", "checkpoint_interval", "durability", "secrets"],
        lists: ["secrets"], expected: "a mapping of provenance settings")

    /// The section a key belongs to, to point at a key written at the wrong level.
    static func home(of key: String) -> String? {
        [top, filesystem, process, env, limits, syscalls, mediate, provenance].first { $0.keys.contains(key) }?.name
    }
}

/// How a plain scalar reads, for strict typing: only `true`/`false` are booleans, only `~`,
/// `null` and nothing are null, numbers are decimal. Everything else is a string.
enum ScalarKind: Equatable {
    case null, boolean, integer, float, string

    init(plain text: String) {
        switch text {
        case "", "~", "null", "Null", "NULL": self = .null
        case "true", "false": self = .boolean
        default:
            var digits = Substring(text)
            if digits.hasPrefix("-") || digits.hasPrefix("+") { digits = digits.dropFirst() }
            let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let allDigits = { (part: Substring) in !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber } }
            if parts.count == 1, allDigits(parts[0]) {
                self = .integer
            } else if parts.count == 2, allDigits(parts[0]), allDigits(parts[1]) {
                self = .float
            } else {
                self = .string
            }
        }
    }

    /// "a list", "a mapping", "a string ('abc')", for "expected X, found Y".
    static func describe(_ node: YAMLNode) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let text, true, _): return "a string ('\(text)')"
        case .scalar(let text, false, _):
            switch ScalarKind(plain: text) {
            case .null: return "an empty value"
            case .boolean: return "a boolean (\(text))"
            case .integer, .float: return "a number (\(text))"
            case .string: return "a string ('\(text)')"
            }
        }
    }
}

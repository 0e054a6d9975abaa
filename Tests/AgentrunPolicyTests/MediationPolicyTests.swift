import Testing
@testable import AgentrunPolicy

/// `syscalls.mediate`: decoding of every key, every diagnostic, `extends`, rendering, explanation.
@Suite struct MediationPolicyTests {
    typealias Rule = MediationPolicy.PathRule

    // MARK: - Decoding

    @Test func decodesEveryKey() throws {
        let profile = try builtinStore.load(yaml: """
            syscalls:
              deny: [ptrace]
              mediate:
                record: [exec, network, file-write, denied, signals, openat, "memfd_create"]
                record_all: true
                exact_files: true
                errno: EACCES
                deny_exec:
                  - id: no-network-tools
                    paths: [curl, wget, "/usr/bin/nc*", "python3*", "/opt/**/bin/ssh", "[a-z]sh"]
                  - {id: No_2.x, paths: [/usr/bin/ssh]}
                deny_write:
                  - id: no-env-files
                    paths: ["**/.env", "/workspace/secrets/**", "**/.git/hooks/*", "/srv/[!a]?"]
            """, file: "/tmp/m.yaml")
        #expect(profile.syscalls.deny == ["ptrace"])
        #expect(profile.syscalls.mediate == MediationPolicy(
            record: ["exec", "network", "file-write", "denied", "signals", "openat", "memfd_create"],
            recordAll: true, exactFiles: true, errno: .eacces,
            denyExec: [
                Rule(id: "no-network-tools", paths: ["curl", "wget", "/usr/bin/nc*", "python3*", "/opt/**/bin/ssh", "[a-z]sh"]),
                Rule(id: "No_2.x", paths: ["/usr/bin/ssh"]),
            ],
            denyWrite: [Rule(id: "no-env-files", paths: ["**/.env", "/workspace/secrets/**", "**/.git/hooks/*", "/srv/[!a]?"])]))
        #expect(profile.syscalls.mediate.errno.value == 13)
    }

    @Test func defaultsWithoutTheSection() throws {
        let bare = try builtinStore.load(yaml: "description: bare\n", file: "/tmp/bare.yaml")
        #expect(bare.syscalls.mediate == MediationPolicy())
        #expect(bare.syscalls.mediate.errno == .eperm)
        #expect(!bare.syscalls.mediate.isActive)
        let empty = try builtinStore.load(yaml: "syscalls:\n  mediate: {}\n", file: "/tmp/empty.yaml")
        #expect(empty.syscalls.mediate == MediationPolicy())
        let lists = try builtinStore.load(yaml: "syscalls:\n  mediate: {record: [], deny_exec: [], deny_write: []}\n", file: "/tmp/l.yaml")
        #expect(lists.syscalls.mediate == MediationPolicy())
        let eperm = try builtinStore.load(yaml: "syscalls: {mediate: {errno: EPERM, record_all: false, exact_files: false}}\n", file: "/tmp/e.yaml")
        #expect(eperm.syscalls.mediate == MediationPolicy())
    }

    @Test func builtinProfiles() throws {
        let groups = ["exec", "network", "file-write", "denied", "signals"]
        let base = try builtinStore.load("default")
        #expect(base.syscalls.mediate == MediationPolicy(record: groups))
        #expect(base.syscalls.mediate.recordedGroups == MediationGroup.allCases)
        #expect(base.syscalls.mediate.isActive)
        for name in ["offline", "python-agent"] {
            #expect(try builtinStore.load(name).syscalls.mediate == base.syscalls.mediate)
        }
        let ci = try builtinStore.load("ci-untrusted")
        #expect(ci.syscalls.mediate == MediationPolicy(record: groups, exactFiles: true))
        #expect(ci.syscalls.deny == base.syscalls.deny)
    }

    @Test func modelHelpers() {
        let policy = MediationPolicy(record: ["exec", "openat", "file-write", "denied", "execve", "kill"])
        #expect(policy.recordedGroups == [.exec, .fileWrite, .denied])
        let expanded = policy.recordedSyscalls
        #expect(expanded.prefix(3) == ["execve", "execveat", "openat"])
        #expect(expanded.contains("renameat2") && expanded.contains("kill"))
        #expect(Set(expanded).count == expanded.count)
        #expect(expanded.filter { $0 == "openat" }.count == 1)
        for id in ["seccomp.denied", "syscalls.deny", "seccomp.arguments", "mediation.unreadable", "seccomp.x", "mediation."] {
            #expect(MediationPolicy.isReservedRuleID(id), "\(id)")
        }
        for id in ["seccomp", "syscalls.deny2", "my.seccomp.rule", "no-curl"] {
            #expect(!MediationPolicy.isReservedRuleID(id), "\(id)")
        }
        #expect(Rule.isProgramName("curl") && Rule.isProgramName("python3*") && !Rule.isProgramName("/usr/bin/curl"))
        #expect(MediationPolicy(exactFiles: true).isActive && MediationPolicy(recordAll: true).isActive)
        #expect(MediationPolicy(denyWrite: [Rule(id: "a", paths: ["/x"])]).isActive)
    }

    // MARK: - Diagnostics

    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var yaml: String
        var line: Int?
        var column: Int?
        var keyPath: String
        var message: String
        var testDescription: String { label }
    }

    static let groups = "exec, network, file-write, denied, signals"
    static let topKeys = "name, description, extends, filesystem, network, process, limits, syscalls, landlock, provenance, credentials, tools, mcp_servers"
    static let mediateKeys = "record, record_all, exact_files, errno, deny_exec, deny_write"
    static let reserved = "is reserved for decisions agentrun makes itself (reserved: seccomp.denied, syscalls.deny, seccomp.arguments, mediation.unreadable and every id starting with 'seccomp.' or 'mediation.')"

    /// `syscalls:\n  mediate:\n` followed by `body` (indented by the caller).
    static func m(_ body: String) -> String { "syscalls:\n  mediate:\n" + body }
    /// A one-rule `key` list with `paths` written as given (line 5; column 17 is the first pattern).
    static func rule(_ key: String, _ paths: String) -> String {
        m("    \(key):\n      - id: r\n        paths: \(paths)\n")
    }

    static let cases: [Case] = [
        // Keys
        Case(label: "unknown key in syscalls", yaml: "syscalls:\n  mediat: {}\n", line: 2, column: 3, keyPath: "syscalls.mediat",
             message: "unknown key 'mediat'; did you mean 'mediate'? allowed: deny, mediate"),
        Case(label: "unknown key in mediate", yaml: m("    recrod: [exec]\n"), line: 3, column: 5, keyPath: "syscalls.mediate.recrod",
             message: "unknown key 'recrod'; did you mean 'record'? allowed: \(mediateKeys)"),
        Case(label: "unknown appended key in mediate", yaml: m("    deny_exce+: []\n"), line: 3, column: 5, keyPath: "syscalls.mediate.deny_exce+",
             message: "unknown key 'deny_exce+'; did you mean 'deny_exec+'? allowed: \(mediateKeys)"),
        Case(label: "unknown key without suggestion", yaml: m("    allow: [read]\n"), line: 3, column: 5, keyPath: "syscalls.mediate.allow",
             message: "unknown key 'allow'; allowed: \(mediateKeys)"),
        Case(label: "mediate key at the top level", yaml: "record: [exec]\n", line: 1, column: 1, keyPath: "record",
             message: "unknown key 'record'; 'record' belongs in 'syscalls.mediate'; allowed: \(topKeys)"),
        Case(label: "mediate key in syscalls", yaml: "syscalls:\n  deny_exec: []\n", line: 2, column: 3, keyPath: "syscalls.deny_exec",
             message: "unknown key 'deny_exec'; 'deny_exec' belongs in 'syscalls.mediate'; allowed: deny, mediate"),
        Case(label: "unknown key in a rule", yaml: m("    deny_exec:\n      - id: a\n        path: [curl]\n"), line: 5, column: 9,
             keyPath: "syscalls.mediate.deny_exec[0].path", message: "unknown key 'path'; did you mean 'paths'? allowed: id, paths"),
        Case(label: "unknown key in a flow rule", yaml: m("    deny_write: [{id: a, paths: [/x], effect: deny}]\n"), line: 3, column: 39,
             keyPath: "syscalls.mediate.deny_write[0].effect", message: "unknown key 'effect'; allowed: id, paths"),
        Case(label: "mediate is not a list", yaml: "syscalls:\n  mediate+: {}\n", line: 2, column: 3, keyPath: "syscalls.mediate+",
             message: "'+' appends to a list, but 'mediate' is not a list; write 'mediate:' to replace the value"),
        Case(label: "errno is not a list", yaml: m("    errno+: EPERM\n"), line: 3, column: 5, keyPath: "syscalls.mediate.errno+",
             message: "'+' appends to a list, but 'errno' is not a list; write 'errno:' to replace the value"),
        Case(label: "both record and record+", yaml: m("    record: [exec]\n    record+: [kill]\n"), line: 4, column: 5,
             keyPath: "syscalls.mediate.record+",
             message: "both 'record' and 'record+' are set; use 'record:' to replace the inherited list or 'record+:' to append to it, not both"),
        Case(label: "mediate is a mapping", yaml: "syscalls:\n  mediate: [exec]\n", line: 2, column: 12, keyPath: "syscalls.mediate",
             message: "expected a mapping of mediation settings, found a list"),
        Case(label: "syscalls expects deny and mediate", yaml: "syscalls: [read]\n", line: 1, column: 11, keyPath: "syscalls",
             message: "expected a mapping with the keys deny and mediate, found a list"),

        // record
        Case(label: "record is a list", yaml: m("    record: exec\n"), line: 3, column: 13, keyPath: "syscalls.mediate.record",
             message: "expected a list of groups or syscall names, found a string ('exec')"),
        Case(label: "record item is text", yaml: m("    record: [exec, true]\n"), line: 3, column: 20, keyPath: "syscalls.mediate.record[1]",
             message: "expected a group (\(groups)) or a syscall name, found a boolean (true); quote it (\"true\") if you mean the text"),
        Case(label: "unknown group with suggestion", yaml: m("    record: [exec, file-writes]\n"), line: 3, column: 20,
             keyPath: "syscalls.mediate.record[1]",
             message: "unknown group 'file-writes'; did you mean 'file-write'? groups: \(groups) (syscall names are written with '_', not '-')"),
        Case(label: "unknown group", yaml: m("    record: [process-exit]\n"), line: 3, column: 14, keyPath: "syscalls.mediate.record[0]",
             message: "unknown group 'process-exit'; groups: \(groups) (syscall names are written with '_', not '-')"),
        Case(label: "group written with underscore", yaml: m("    record: [file_write]\n"), line: 3, column: 14, keyPath: "syscalls.mediate.record[0]",
             message: "'file_write' is not a syscall; did you mean the group 'file-write'? groups: \(groups)"),
        Case(label: "upper-case group", yaml: m("    record: [Exec]\n"), line: 3, column: 14, keyPath: "syscalls.mediate.record[0]",
             message: "invalid syscall name 'Exec'; did you mean the group 'exec'? record takes groups (\(groups)) or syscall names: lower-case letters, digits and '_' (e.g. openat)"),
        Case(label: "invalid syscall name", yaml: m("    record: [\"open at\"]\n"), line: 3, column: 14, keyPath: "syscalls.mediate.record[0]",
             message: "invalid syscall name 'open at'; record takes groups (\(groups)) or syscall names: lower-case letters, digits and '_' (e.g. openat)"),
        Case(label: "duplicate group", yaml: m("    record: [exec, openat, exec]\n"), line: 3, column: 28, keyPath: "syscalls.mediate.record[2]",
             message: "duplicate entry 'exec' (already at syscalls.mediate.record[0])"),
        Case(label: "duplicate syscall", yaml: m("    record:\n      - kill\n      - kill\n"), line: 5, column: 9,
             keyPath: "syscalls.mediate.record[1]", message: "duplicate entry 'kill' (already at syscalls.mediate.record[0])"),

        // Scalars
        Case(label: "record_all boolean", yaml: m("    record_all: yes\n"), line: 3, column: 17, keyPath: "syscalls.mediate.record_all",
             message: "expected true or false, found a string ('yes')"),
        Case(label: "exact_files quoted", yaml: m("    exact_files: \"true\"\n"), line: 3, column: 18, keyPath: "syscalls.mediate.exact_files",
             message: "expected true or false, found a string ('true')"),
        Case(label: "exact_files empty", yaml: m("    exact_files:\n"), line: 3, column: 17, keyPath: "syscalls.mediate.exact_files",
             message: "expected true or false, found an empty value"),
        Case(label: "unknown errno", yaml: m("    errno: ENOENT\n"), line: 3, column: 12, keyPath: "syscalls.mediate.errno",
             message: "unknown value 'ENOENT'; allowed: EPERM, EACCES"),
        Case(label: "lower-case errno", yaml: m("    errno: eacces\n"), line: 3, column: 12, keyPath: "syscalls.mediate.errno",
             message: "unknown value 'eacces'; did you mean 'EACCES'? allowed: EPERM, EACCES"),
        Case(label: "errno number", yaml: m("    errno: [1]\n"), line: 3, column: 12, keyPath: "syscalls.mediate.errno",
             message: "expected one of EPERM, EACCES, found a list"),

        // Rules
        Case(label: "rules are a list", yaml: m("    deny_exec: {id: a}\n"), line: 3, column: 16, keyPath: "syscalls.mediate.deny_exec",
             message: "expected a list of rules ({id, paths}), found a mapping"),
        Case(label: "rule is a mapping", yaml: m("    deny_exec: [curl]\n"), line: 3, column: 17, keyPath: "syscalls.mediate.deny_exec[0]",
             message: "expected a rule mapping {id, paths}, found a string ('curl')"),
        Case(label: "missing id", yaml: m("    deny_exec:\n      - paths: [curl]\n"), line: 4, column: 9, keyPath: "syscalls.mediate.deny_exec[0]",
             message: "missing key 'id'; every rule needs an id, cited in the log when the rule denies a call"),
        Case(label: "missing paths", yaml: m("    deny_write:\n      - {id: a}\n"), line: 4, column: 9, keyPath: "syscalls.mediate.deny_write[0]",
             message: "missing key 'paths'; a rule needs at least one path pattern"),
        Case(label: "empty paths", yaml: m("    deny_write:\n      - {id: a, paths: []}\n"), line: 4, column: 24,
             keyPath: "syscalls.mediate.deny_write[0].paths", message: "a rule needs at least one path pattern"),
        Case(label: "paths is a list", yaml: m("    deny_write:\n      - {id: a, paths: /x}\n"), line: 4, column: 24,
             keyPath: "syscalls.mediate.deny_write[0].paths", message: "expected a list of absolute globs or '**/' patterns, found a string ('/x')"),
        Case(label: "paths+", yaml: m("    deny_exec:\n      - id: a\n        paths+: [curl]\n"), line: 5, column: 9,
             keyPath: "syscalls.mediate.deny_exec[0].paths+",
             message: "'+' appends to an inherited list, but a rule's paths are never inherited; write 'paths:'"),
        Case(label: "invalid id", yaml: m("    deny_exec:\n      - id: no curl\n        paths: [curl]\n"), line: 4, column: 13,
             keyPath: "syscalls.mediate.deny_exec[0].id", message: "invalid rule id 'no curl'; use 1-128 letters, digits, '_', '.' and '-'"),
        Case(label: "id is text", yaml: m("    deny_exec:\n      - id: [a]\n        paths: [curl]\n"), line: 4, column: 13,
             keyPath: "syscalls.mediate.deny_exec[0].id", message: "expected a rule id, found a list"),
        Case(label: "reserved id", yaml: m("    deny_exec:\n      - id: seccomp.denied\n        paths: [curl]\n"), line: 4, column: 13,
             keyPath: "syscalls.mediate.deny_exec[0].id", message: "'seccomp.denied' \(reserved)"),
        Case(label: "reserved syscalls.deny", yaml: m("    deny_write: [{id: syscalls.deny, paths: [/x]}]\n"), line: 3, column: 23,
             keyPath: "syscalls.mediate.deny_write[0].id", message: "'syscalls.deny' \(reserved)"),
        Case(label: "reserved prefix", yaml: m("    deny_write: [{id: mediation.mine, paths: [/x]}]\n"), line: 3, column: 23,
             keyPath: "syscalls.mediate.deny_write[0].id", message: "'mediation.mine' \(reserved)"),
        Case(label: "reserved seccomp prefix", yaml: m("    deny_exec: [{id: seccomp.x, paths: [curl]}]\n"), line: 3, column: 22,
             keyPath: "syscalls.mediate.deny_exec[0].id", message: "'seccomp.x' \(reserved)"),
        Case(label: "duplicate id in one list", yaml: m("    deny_exec:\n      - {id: a, paths: [curl]}\n      - {id: a, paths: [wget]}\n"),
             line: 5, column: 14, keyPath: "syscalls.mediate.deny_exec[1].id",
             message: "duplicate rule id 'a' (already used by syscalls.mediate.deny_exec[0]); rule ids are unique across deny_exec and deny_write"),
        Case(label: "duplicate id across lists", yaml: m("    deny_write:\n      - {id: a, paths: [/x]}\n    deny_exec:\n      - {id: a, paths: [curl]}\n"),
             line: 6, column: 14, keyPath: "syscalls.mediate.deny_exec[0].id",
             message: "duplicate rule id 'a' (already used by syscalls.mediate.deny_write[0]); rule ids are unique across deny_exec and deny_write"),

        // deny_exec patterns
        Case(label: "exec: empty", yaml: rule("deny_exec", "[curl, \"\"]"), line: 5, column: 23,
             keyPath: "syscalls.mediate.deny_exec[0].paths[1]", message: "a path pattern cannot be empty"),
        Case(label: "exec: NUL", yaml: rule("deny_exec", "[\"cu\\0rl\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]", message: "a NUL character is not allowed here"),
        Case(label: "exec: relative path", yaml: rule("deny_exec", "[bin/curl]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]",
             message: "expected an absolute glob (starting with '/') or a program name without '/', found 'bin/curl'"),
        Case(label: "exec: dot-slash", yaml: rule("deny_exec", "[./curl]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]",
             message: "expected an absolute glob (starting with '/') or a program name without '/', found './curl'"),
        Case(label: "exec: **/name", yaml: rule("deny_exec", "[\"**/curl\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]", message: "a program name already matches anywhere; write 'curl' without '**/'"),
        Case(label: "exec: dot-dot name", yaml: rule("deny_exec", "[\"..\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]", message: "'..' is not a program name"),
        Case(label: "exec: dot-dot path", yaml: rule("deny_exec", "[/usr/bin/../sbin/nc]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]",
             message: "pattern '/usr/bin/../sbin/nc' must not contain a '..' component (patterns match resolved paths)"),
        Case(label: "exec: double slash", yaml: rule("deny_exec", "[//usr/bin/nc]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]",
             message: "pattern '//usr/bin/nc' is not normalised: no '//' or '.' components and no trailing '/' (patterns match resolved paths)"),
        Case(label: "exec: trailing slash", yaml: rule("deny_exec", "[/usr/bin/]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]",
             message: "pattern '/usr/bin/' is not normalised: no '//' or '.' components and no trailing '/' (patterns match resolved paths)"),
        Case(label: "exec: root", yaml: rule("deny_exec", "[/]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]",
             message: "'/' names no file; write a path such as /usr/bin/curl or a glob such as /srv/**"),
        Case(label: "exec: bad glob", yaml: rule("deny_exec", "[\"/usr/bin/[ab\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]", message: "invalid glob '/usr/bin/[ab': '[' at position 10 has no closing ']'"),
        Case(label: "exec: bad glob in a name", yaml: rule("deny_exec", "[\"nc\\\\\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_exec[0].paths[0]", message: "invalid glob 'nc\\': a trailing '\\' escapes nothing"),
        Case(label: "exec: duplicate path", yaml: rule("deny_exec", "[curl, wget, curl]"), line: 5, column: 29,
             keyPath: "syscalls.mediate.deny_exec[0].paths[2]", message: "duplicate entry 'curl' (already at syscalls.mediate.deny_exec[0].paths[0])"),
        Case(label: "exec: path is text", yaml: rule("deny_exec", "[curl, {a: b}]"), line: 5, column: 23,
             keyPath: "syscalls.mediate.deny_exec[0].paths[1]", message: "expected a program name or an absolute glob, found a mapping"),

        // deny_write patterns
        Case(label: "write: bare name", yaml: rule("deny_write", "[.env]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]",
             message: "expected an absolute glob (starting with '/') or a pattern starting with '**/', found '.env'; write '**/.env' to match every file of that name"),
        Case(label: "write: relative path", yaml: rule("deny_write", "[secrets/key]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]",
             message: "expected an absolute glob (starting with '/') or a pattern starting with '**/', found 'secrets/key'"),
        Case(label: "write: home-relative", yaml: rule("deny_write", "[\"~/.ssh/**\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]",
             message: "expected an absolute glob (starting with '/') or a pattern starting with '**/', found '~/.ssh/**'"),
        Case(label: "write: **/ alone", yaml: rule("deny_write", "[\"**/\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]",
             message: "'**/' alone names no file; write '**/NAME' (such as '**/.env') or an absolute glob"),
        Case(label: "write: dot-dot after **/", yaml: rule("deny_write", "[\"**/../etc\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]",
             message: "pattern '**/../etc' must not contain a '..' component (patterns match resolved paths)"),
        Case(label: "write: dot after **/", yaml: rule("deny_write", "[\"**/./x\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]",
             message: "pattern '**/./x' is not normalised: no '//' or '.' components and no trailing '/' (patterns match resolved paths)"),
        Case(label: "write: dot-dot", yaml: rule("deny_write", "[/workspace/../etc/passwd]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]",
             message: "pattern '/workspace/../etc/passwd' must not contain a '..' component (patterns match resolved paths)"),
        Case(label: "write: empty", yaml: rule("deny_write", "[\"\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]", message: "a path pattern cannot be empty"),
        Case(label: "write: NUL", yaml: rule("deny_write", "[\"/x\\0\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]", message: "a NUL character is not allowed here"),
        Case(label: "write: line break", yaml: rule("deny_write", "[\"/x\\ny\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]", message: "a line break is not allowed here"),
        Case(label: "write: bad glob", yaml: rule("deny_write", "[\"**/[z-a]\"]"), line: 5, column: 17,
             keyPath: "syscalls.mediate.deny_write[0].paths[0]", message: "invalid glob '**/[z-a]': range 'z-a' in '[...]' is reversed"),
    ]

    @Test(arguments: cases)
    func diagnostic(_ c: Case) throws {
        let error = try #require(loadError(c.yaml, file: "profiles/bad.yaml"))
        #expect(error.file == "profiles/bad.yaml")
        #expect(error.message == c.message)
        #expect(error.keyPath == c.keyPath)
        #expect(error.line == c.line)
        #expect(error.column == c.column)
    }

    @Test func descriptionReadsLikeACompilerDiagnostic() throws {
        let error = try #require(loadError(Self.rule("deny_exec", "[curl, bin/wget]"), file: "profiles/x.yaml"))
        #expect(error.description == "profiles/x.yaml:5:23: syscalls.mediate.deny_exec[0].paths[1]: expected an absolute glob (starting with '/') or a program name without '/', found 'bin/wget'")
    }

    // MARK: - extends

    @Test func listsAppendOrReplaceScalarsOverride() throws {
        let appended = try builtinStore.load(yaml: """
            extends: default
            syscalls:
              mediate:
                record+: [ptrace, exec]
                errno: EACCES
            """, file: "/tmp/a.yaml")
        #expect(appended.syscalls.mediate.record == ["exec", "network", "file-write", "denied", "signals", "ptrace"])
        #expect(appended.syscalls.mediate.errno == .eacces)
        #expect(!appended.syscalls.mediate.exactFiles && !appended.syscalls.mediate.recordAll)

        let replaced = try builtinStore.load(yaml: "extends: ci-untrusted\nsyscalls: {mediate: {record: [exec], exact_files: false}}\n", file: "/tmp/r.yaml")
        #expect(replaced.syscalls.mediate == MediationPolicy(record: ["exec"]))

        // A section of its own keeps the parent's other keys, and syscalls.deny.
        let exact = try builtinStore.load(yaml: "extends: default\nsyscalls:\n  mediate:\n    exact_files: true\n", file: "/tmp/x.yaml")
        #expect(exact.syscalls.mediate == MediationPolicy(record: ["exec", "network", "file-write", "denied", "signals"], exactFiles: true))
        let deny = try builtinStore.load(yaml: "extends: ci-untrusted\nsyscalls: {deny+: [bpf]}\n", file: "/tmp/d.yaml")
        #expect(deny.syscalls.mediate.exactFiles)
        #expect(deny.syscalls.deny == ["bpf"])

        let empty = try builtinStore.load(yaml: "extends: default\nsyscalls: {mediate: {record: []}}\n", file: "/tmp/e.yaml")
        #expect(!empty.syscalls.mediate.isActive)

        // Without a parent, KEY+: starts from an empty list.
        let root = try builtinStore.load(yaml: "syscalls: {mediate: {record+: [kill], deny_exec+: [{id: a, paths: [curl]}]}}\n", file: "/tmp/root.yaml")
        #expect(root.syscalls.mediate == MediationPolicy(record: ["kill"], denyExec: [Rule(id: "a", paths: ["curl"])]))
    }

    @Test func rulesAppendOrReplace() throws {
        let dir = TemporaryDirectory()
        dir.write("base.yaml", """
            extends: default
            syscalls:
              mediate:
                deny_exec: [{id: no-curl, paths: [curl]}]
                deny_write: [{id: no-env, paths: ["**/.env"]}]
            """)
        dir.write("append.yaml", """
            extends: ./base.yaml
            syscalls:
              mediate:
                deny_exec+:
                  - {id: no-curl, paths: [curl]}
                  - {id: no-wget, paths: [wget]}
                deny_write+: [{id: no-keys, paths: ["/workspace/keys/**"]}]
            """)
        dir.write("replace.yaml", """
            extends: ./append.yaml
            syscalls:
              mediate:
                deny_exec: [{id: no-curl, paths: [curl, "/usr/bin/curl*"]}]
            """)
        let base = try builtinStore.load(dir.path + "/base.yaml")
        #expect(base.syscalls.mediate.record == ["exec", "network", "file-write", "denied", "signals"])
        #expect(base.syscalls.mediate.denyExec == [Rule(id: "no-curl", paths: ["curl"])])
        let append = try builtinStore.load(dir.path + "/append.yaml")
        // The rule equal to the inherited one is kept once.
        #expect(append.syscalls.mediate.denyExec == [Rule(id: "no-curl", paths: ["curl"]), Rule(id: "no-wget", paths: ["wget"])])
        #expect(append.syscalls.mediate.denyWrite == [Rule(id: "no-env", paths: ["**/.env"]), Rule(id: "no-keys", paths: ["/workspace/keys/**"])])
        let replace = try builtinStore.load(dir.path + "/replace.yaml")
        #expect(replace.syscalls.mediate.denyExec == [Rule(id: "no-curl", paths: ["curl", "/usr/bin/curl*"])])
        #expect(replace.syscalls.mediate.denyWrite == append.syscalls.mediate.denyWrite)
        #expect(replace.lineage == ["default", "base", "append", "replace"])
    }

    @Test func inheritedRuleIDsStayUnique() throws {
        let dir = TemporaryDirectory()
        dir.write("base.yaml", "syscalls:\n  mediate:\n    deny_exec: [{id: shared, paths: [curl]}]\n")
        // Appending a different rule with an inherited id, to the same list...
        let same = dir.write("same.yaml", "extends: ./base.yaml\nsyscalls:\n  mediate:\n    deny_exec+:\n      - {id: shared, paths: [wget]}\n")
        let error = try #require(loadError(named: same, store: builtinStore))
        #expect(error.file == same)
        #expect(error.line == 5)
        #expect(error.column == 14)
        #expect(error.keyPath == "syscalls.mediate.deny_exec+[0].id")  // the key as written, like every list error
        #expect(error.message == "duplicate rule id 'shared': two deny_exec rules have it, one inherited through extends; rule ids are unique across deny_exec and deny_write")
        // ...or to the other list.
        let other = dir.write("other.yaml", "extends: ./base.yaml\nsyscalls:\n  mediate:\n    deny_write: [{id: shared, paths: [/x]}]\n")
        let crossed = try #require(loadError(named: other, store: builtinStore))
        #expect(crossed.file == other)
        #expect(crossed.line == 4)
        #expect(crossed.keyPath == "syscalls.mediate.deny_write[0].id")
        #expect(crossed.message == "duplicate rule id 'shared': a deny_exec and a deny_write rule have it, one inherited through extends; rule ids are unique across deny_exec and deny_write")
        // The child's deny_exec first, the inherited deny_write second.
        dir.write("wbase.yaml", "syscalls:\n  mediate:\n    deny_write: [{id: w, paths: [/x]}]\n")
        let reversed = dir.write("reversed.yaml", "extends: wbase.yaml\nsyscalls: {mediate: {deny_exec: [{id: w, paths: [sh]}]}}\n")
        #expect(try #require(loadError(named: reversed, store: builtinStore)).message.hasPrefix("duplicate rule id 'w': a deny_exec and a deny_write rule have it"))
        // Replacing the inherited list frees its ids.
        let replaced = dir.write("replaced.yaml", "extends: ./base.yaml\nsyscalls:\n  mediate:\n    deny_exec: [{id: shared, paths: [wget]}]\n")
        #expect(try builtinStore.load(replaced).syscalls.mediate.denyExec == [Rule(id: "shared", paths: ["wget"])])
        // A grandchild that only reads them is fine.
        let grandchild = dir.write("grandchild.yaml", "extends: ./replaced.yaml\nsyscalls: {mediate: {errno: EACCES}}\n")
        #expect(try builtinStore.load(grandchild).syscalls.mediate.errno == .eacces)
    }

    // MARK: - profile show, profile explain

    static let full = """
        extends: default
        syscalls:
          mediate:
            record+: [openat, "memfd_create"]
            record_all: true
            exact_files: true
            errno: EACCES
            deny_exec:
              - id: no-network-tools
                paths: [curl, wget, "/usr/bin/nc*", "python3*"]
              - {id: "123", paths: ["[a-z]sh", "/opt/**/bin/ssh"]}
            deny_write:
              - id: no-env-files
                paths: ["**/.env", "/workspace/secrets/**"]
        """

    @Test func renderRoundTrip() throws {
        let profile = try builtinStore.load(yaml: Self.full, file: "/tmp/full.yaml")
        let yaml = profile.renderYAML()
        #expect(yaml.contains("""
            syscalls:
              deny: []
              mediate:
                record: [exec, network, file-write, denied, signals, openat, memfd_create]
                record_all: true
                exact_files: true
                errno: EACCES
                deny_exec:
                  - id: no-network-tools
                    paths: ["curl", "wget", "/usr/bin/nc*", "python3*"]
                  - id: "123"
                    paths: ["[a-z]sh", "/opt/**/bin/ssh"]
                deny_write:
                  - id: no-env-files
                    paths: ["**/.env", "/workspace/secrets/**"]
            landlock: best-effort
            """))
        var reloaded = try builtinStore.load(yaml: yaml, file: "/tmp/full.yaml")
        reloaded.lineage = profile.lineage
        #expect(reloaded == profile)

        let plain = try builtinStore.load(yaml: "description: x\n", file: "/tmp/plain.yaml").renderYAML()
        #expect(plain.contains("  mediate:\n    record: []\n    record_all: false\n    exact_files: false\n    errno: EPERM\n    deny_exec: []\n    deny_write: []\n"))
        #expect(try builtinStore.load(yaml: plain, file: "/tmp/plain.yaml").syscalls.mediate == MediationPolicy())
    }

    @Test func explainDescribesMediation() throws {
        let text = try builtinStore.load(yaml: Self.full, file: "/tmp/full.yaml").explanation()
        #expect(text.contains("\nSyscall mediation (the supervisor receives these calls, records each in the provenance log and decides)\n"))
        #expect(text.contains("  records EVERY syscall (record_all; slow: for writing and debugging profiles)\n"))
        #expect(text.contains("  records:\n    exec: program executions (execve, execveat): path, argv, environment variable names\n"))
        #expect(text.contains("    file-write: opens for writing or creating"))
        #expect(text.contains("    denied: the calls the built-in filter and syscalls.deny refuse"))
        #expect(text.contains("    syscalls: openat, memfd_create\n"))
        #expect(text.contains("  deny exec [no-network-tools]: programs named curl, wget, python3*; programs at /usr/bin/nc* (also through symlinks, /proc/self/fd and #! interpreters): fails with EACCES; Landlock refuses such files on read-only mounts too (needs a kernel with Landlock); in writable places the rule is best-effort\n"))
        #expect(text.contains("  deny exec [123]: programs named [a-z]sh; programs at /opt/**/bin/ssh"))
        #expect(text.contains("  deny write [no-env-files]: **/.env, /workspace/secrets/** (create, write, rename, link, remove, chmod, chown): fails with EACCES\n"))
        #expect(text.contains("  exact_files: the supervisor performs file writes itself"))
        #expect(text.contains("  - syscalls.mediate.record_all is on: every syscall of the agent goes through the supervisor, which is slow;"))
        #expect(!text.contains("  - syscalls.mediate.deny_exec"))
        #expect(!text.contains("  - syscalls.mediate.deny_write"), "with exact_files, deny_write is exact: no warning")

        let base = try builtinStore.load("default").explanation()
        #expect(base.contains("    signals: signals aimed beyond the agent's own process group"))
        #expect(base.contains("  exact_files: off; allowed calls with path arguments continue in the kernel after the supervisor read them (records say exact: false)\n"))
        #expect(!base.contains("record_all") && !base.contains("deny exec") && !base.contains("Warnings"))

        let required = try builtinStore.load(yaml: "extends: ci-untrusted\nsyscalls: {mediate: {deny_exec: [{id: a, paths: [curl]}], deny_write: [{id: b, paths: [/x]}], exact_files: false}}\n", file: "/tmp/c.yaml")
        let warnings = required.mediationWarnings()
        #expect(warnings == ["syscalls.mediate.deny_write is decided on paths read from the agent's memory, which another thread can change after the check (such records say exact: false); exact_files: true makes it exact"])

        let off = try builtinStore.load(yaml: "description: x\n", file: "/tmp/off.yaml").explanation()
        #expect(off.contains("\nSyscall mediation: off (no syscall goes through the supervisor)\n"))
        let rulesOnly = try builtinStore.load(yaml: "syscalls: {mediate: {deny_write: [{id: b, paths: [/x]}]}}\n", file: "/tmp/r.yaml").explanation()
        #expect(rulesOnly.contains("  record: [] (no group or syscall listed)\n"))
    }
}

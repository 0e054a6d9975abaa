import Testing
@testable import AgentrunPolicy

/// Each diagnostic at least once: file, line, column, key path and text.
@Suite struct ErrorMessageTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var yaml: String
        var line: Int?
        var column: Int?
        var keyPath: String
        var message: String
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "unknown top-level key", yaml: "name: x\nfilesytem:\n  workspace: none\n", line: 2, column: 1,
             keyPath: "filesytem",
             message: "unknown key 'filesytem'; did you mean 'filesystem'? allowed: name, description, extends, filesystem, network, process, limits, syscalls, landlock, provenance, credentials, tools, mcp_servers"),
        Case(label: "unknown nested key", yaml: "limits:\n  wal: 5m\n", line: 2, column: 3, keyPath: "limits.wal",
             message: "unknown key 'wal'; did you mean 'wall'? allowed: wall, kill_grace, cpu, memory, address_space, processes, open_files, file_size"),
        Case(label: "unknown appended key", yaml: "filesystem:\n  sytem+: [/usr]\n", line: 2, column: 3, keyPath: "filesystem.sytem+",
             message: "unknown key 'sytem+'; did you mean 'system+'? allowed: workspace, system, read_only, read_write, tmpfs, protected, exec, tmp_size"),
        Case(label: "key at the wrong level", yaml: "wall: 5m\n", line: 1, column: 1, keyPath: "wall",
             message: "unknown key 'wall'; 'wall' belongs in 'limits'; allowed: name, description, extends, filesystem, network, process, limits, syscalls, landlock, provenance, credentials, tools, mcp_servers"),
        Case(label: "unknown key without suggestion", yaml: "syscalls:\n  allow: [read]\n", line: 2, column: 3, keyPath: "syscalls.allow",
             message: "unknown key 'allow'; allowed: deny, mediate"),
        Case(label: "list where mapping found", yaml: "filesystem:\n  system:\n    usr: true\n", line: 3, column: 5,
             keyPath: "filesystem.system", message: "expected a list of absolute paths, found a mapping"),
        Case(label: "mapping where list found", yaml: "limits: [wall]\n", line: 1, column: 9,
             keyPath: "limits", message: "expected a mapping of limits, found a list"),
        Case(label: "empty value", yaml: "filesystem:\n  read_only:\n", line: 2, column: 13,
             keyPath: "filesystem.read_only", message: "expected a list of absolute paths, found an empty value"),
        Case(label: "boolean is not text", yaml: "filesystem:\n  workspace: true\n", line: 2, column: 14,
             keyPath: "filesystem.workspace",
             message: "expected one of read-write, read-only, none, found a boolean (true); quote it (\"true\") if you mean the text"),
        Case(label: "yes is just a string", yaml: "landlock: yes\n", line: 1, column: 11, keyPath: "landlock",
             message: "unknown value 'yes'; allowed: required, best-effort"),
        Case(label: "unknown value with suggestion", yaml: "filesystem:\n  exec: [system, home, read-write]\n", line: 2, column: 18,
             keyPath: "filesystem.exec[1]", message: "unknown value 'home'; allowed: system, workspace, tmp, read_write"),
        Case(label: "value suggestion", yaml: "filesystem:\n  workspace: read_only\n", line: 2, column: 14,
             keyPath: "filesystem.workspace",
             message: "unknown value 'read_only'; did you mean 'read-only'? allowed: read-write, read-only, none"),
        Case(label: "duplicate exec", yaml: "filesystem:\n  exec: [system, tmp, system]\n", line: 2, column: 23,
             keyPath: "filesystem.exec[2]", message: "duplicate entry 'system' (already at filesystem.exec[0])"),
        Case(label: "memory below minimum", yaml: "limits:\n  memory: 1MiB\n", line: 2, column: 11,
             keyPath: "limits.memory", message: "must be at least 16MiB, found 1MiB"),
        Case(label: "address space below minimum", yaml: "limits: {address_space: 32MiB}\n", line: 1, column: 25,
             keyPath: "limits.address_space", message: "must be at least 64MiB, found 32MiB"),
        Case(label: "tmp_size below minimum", yaml: "filesystem: {tmp_size: 4096}\n", line: 1, column: 24,
             keyPath: "filesystem.tmp_size", message: "must be at least 1MiB, found 4096"),
        Case(label: "tmp_size is never unlimited", yaml: "filesystem: {tmp_size: unlimited}\n", line: 1, column: 24,
             keyPath: "filesystem.tmp_size",
             message: "cannot be unlimited; give a size such as 1GiB"),
        Case(label: "kill_grace is never unlimited", yaml: "limits: {kill_grace: unlimited}\n", line: 1, column: 22,
             keyPath: "limits.kill_grace", message: "cannot be unlimited; give a duration such as 2s"),
        Case(label: "processes out of range", yaml: "limits:\n  processes: 0\n", line: 2, column: 14,
             keyPath: "limits.processes", message: "must be between 1 and 4194304, found 0"),
        Case(label: "open_files out of range", yaml: "limits:\n  open_files: 2000000\n", line: 2, column: 15,
             keyPath: "limits.open_files", message: "must be between 16 and 1048576, found 2000000"),
        Case(label: "quoted number is a string", yaml: "limits:\n  processes: \"256\"\n", line: 2, column: 14,
             keyPath: "limits.processes", message: "expected a whole number or unlimited, found a string ('256')"),
        Case(label: "kill_grace out of range", yaml: "limits:\n  kill_grace: 10m\n", line: 2, column: 15,
             keyPath: "limits.kill_grace", message: "must be between 0s and 5m, found 10m"),
        Case(label: "zero wall", yaml: "limits:\n  wall: 0s\n", line: 2, column: 9,
             keyPath: "limits.wall", message: "must be more than 0s, found 0s; write unlimited for no limit"),
        Case(label: "bad size unit", yaml: "limits:\n  memory: 8gb\n", line: 2, column: 11, keyPath: "limits.memory",
             message: "invalid size '8gb': unknown size unit 'gb'; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB (or unlimited)"),
        Case(label: "bad duration unit", yaml: "limits:\n  cpu: 5min\n", line: 2, column: 8, keyPath: "limits.cpu",
             message: "invalid duration '5min': unknown duration unit 'min'; use d, h, m, s or ms (or unlimited)"),
        Case(label: "negative duration", yaml: "limits:\n  wall: -5m\n", line: 2, column: 9, keyPath: "limits.wall",
             message: "invalid duration '-5m': expected a duration such as 90s, 30m, 1h30m or 250ms (or unlimited)"),
        Case(label: "relative path", yaml: "filesystem:\n  read_only:\n    - /srv\n    - usr/lib\n", line: 4, column: 7,
             keyPath: "filesystem.read_only[1]", message: "expected an absolute path (starting with '/'), found 'usr/lib'"),
        Case(label: "non-normalised path", yaml: "filesystem:\n  system: [/usr/lib/]\n", line: 2, column: 12,
             keyPath: "filesystem.system[0]",
             message: "path '/usr/lib/' is not normalised: no '//', '.' or '..' components and no trailing '/'"),
        Case(label: "dot-dot path", yaml: "filesystem:\n  read_write: [/srv/../etc]\n", line: 2, column: 16,
             keyPath: "filesystem.read_write[0]",
             message: "path '/srv/../etc' is not normalised: no '//', '.' or '..' components and no trailing '/'"),
        Case(label: "root path", yaml: "filesystem:\n  read_only: [/]\n", line: 2, column: 15,
             keyPath: "filesystem.read_only[0]", message: "'/' is not allowed: it would expose the whole host file system"),
        Case(label: "newline in path", yaml: "filesystem:\n  system: [\"/usr\\nx\"]\n", line: 2, column: 12,
             keyPath: "filesystem.system[0]", message: "a line break is not allowed here"),
        Case(label: "tmpfs on /proc", yaml: "filesystem:\n  tmpfs: [/cache, /proc]\n", line: 2, column: 19,
             keyPath: "filesystem.tmpfs[1]", message: "'/proc' cannot be a tmpfs: agentrun mounts it itself"),
        Case(label: "dot-dot in protected", yaml: "filesystem:\n  protected:\n    - .git/hooks/\n    - ../outside\n", line: 4, column: 7,
             keyPath: "filesystem.protected[1]", message: "protected path '../outside' must not contain a '..' component"),
        Case(label: "absolute protected", yaml: "filesystem:\n  protected: [/etc]\n", line: 2, column: 15,
             keyPath: "filesystem.protected[0]",
             message: "protected paths are relative to the workspace; write 'etc' without the leading '/'"),
        Case(label: "dot protected", yaml: "filesystem:\n  protected: [.]\n", line: 2, column: 15,
             keyPath: "filesystem.protected[0]", message: "'.' would protect the whole workspace; use workspace: read-only"),
        Case(label: "proxy network", yaml: "network: proxy\n", line: 1, column: 10, keyPath: "network",
             message: "network: proxy is not supported yet (there is no egress proxy); allowed: none, host"),
        Case(label: "duplicate key", yaml: "limits:\n  wall: 5m\n  cpu: 1m\n  wall: 10m\n", line: 4, column: 3, keyPath: "",
             message: "duplicate key 'wall' (first set at line 2)"),
        Case(label: "alias", yaml: "limits: &l {wall: 5m}\nfilesystem: *l\n", line: 1, column: 9, keyPath: "",
             message: "YAML anchors (&l) are not supported; write the value out"),
        Case(label: "bare alias", yaml: "name: *x\n", line: 1, column: 7, keyPath: "",
             message: "YAML aliases (*name) are not supported; write the value out"),
        Case(label: "tag", yaml: "network: !!str none\n", line: 1, column: 10, keyPath: "",
             message: "YAML tags (tag:yaml.org,2002:str) are not supported; remove the tag"),
        Case(label: "two documents", yaml: "name: a\n---\nname: b\n", line: 2, column: 1, keyPath: "",
             message: "a profile file holds one YAML document; found a second '---' document"),
        Case(label: "non-scalar key", yaml: "? [a, b]\n: c\n", line: 1, column: 3, keyPath: "",
             message: "a mapping key must be a plain name, not a list or a mapping"),
        Case(label: "syntax error", yaml: "name: x\nlimits:\n  wall: 5m\n memory: 1GiB\n", line: 4, column: 2, keyPath: "",
             message: "invalid YAML: did not find expected key (while parsing a block mapping at line 1, column 1)"),
        Case(label: "both KEY and KEY+", yaml: "filesystem:\n  system: [/usr]\n  system+: [/opt]\n", line: 3, column: 3,
             keyPath: "filesystem.system+",
             message: "both 'system' and 'system+' are set; use 'system:' to replace the inherited list or 'system+:' to append to it, not both"),
        Case(label: "plus on a scalar", yaml: "filesystem:\n  workspace+: none\n", line: 2, column: 3,
             keyPath: "filesystem.workspace+",
             message: "'+' appends to a list, but 'workspace' is not a list; write 'workspace:' to replace the value"),
        Case(label: "plus on set", yaml: "process:\n  env:\n    set+: {A: b}\n", line: 3, column: 5,
             keyPath: "process.env.set+",
             message: "'+' appends to a list, but 'set' is not a list; write 'set:' to replace the value (set already merges key by key with the parent)"),
        Case(label: "plus on a section", yaml: "limits+: {wall: 1m}\n", line: 1, column: 1, keyPath: "limits+",
             message: "'+' appends to a list, but 'limits' is not a list; write 'limits:' to replace the value"),
        Case(label: "bad env pass name", yaml: "process:\n  env:\n    pass: [PATH, MY-VAR]\n", line: 3, column: 18,
             keyPath: "process.env.pass[1]",
             message: "invalid variable name 'MY-VAR'; names match [A-Za-z_][A-Za-z0-9_]*, optionally ending in '*' for a prefix"),
        Case(label: "star alone", yaml: "process:\n  env:\n    pass: [\"*\"]\n", line: 3, column: 12, keyPath: "process.env.pass[0]",
             message: "'*' alone would pass every host variable (and its secrets); list names or prefixes such as LC_*"),
        Case(label: "bad env set name", yaml: "process:\n  env:\n    set:\n      1ABC: x\n", line: 4, column: 7,
             keyPath: "process.env.set.1ABC", message: "invalid variable name '1ABC'; names match [A-Za-z_][A-Za-z0-9_]*"),
        Case(label: "env value must be a scalar", yaml: "process:\n  env:\n    set:\n      FOO: [a]\n", line: 4, column: 12,
             keyPath: "process.env.set.FOO", message: "expected a string value, found a list"),
        Case(label: "env value boolean", yaml: "process:\n  env:\n    set:\n      FOO: false\n", line: 4, column: 12,
             keyPath: "process.env.set.FOO",
             message: "expected a string value, found a boolean (false); quote it (\"false\") if you mean the text"),
        Case(label: "bad syscall name", yaml: "syscalls:\n  deny: [ptrace, Mount]\n", line: 2, column: 18,
             keyPath: "syscalls.deny[1]",
             message: "invalid syscall name 'Mount'; syscall names are lower-case letters, digits and '_' (e.g. ptrace)"),
        Case(label: "bad profile name", yaml: "name: My Agent\n", line: 1, column: 7, keyPath: "name",
             message: "invalid profile name 'My Agent'; use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit"),
        Case(label: "unknown parent", yaml: "\nextends: defualt\n", line: 2, column: 10, keyPath: "extends",
             message: "no profile named 'defualt'; did you mean 'default'? available: default, offline, python-agent, ci-untrusted (no search directories; built-in profiles only)"),
        Case(label: "empty file", yaml: "# nothing\n", line: nil, column: nil, keyPath: "",
             message: "the profile is empty; expected a mapping with keys such as name, extends, filesystem"),
        Case(label: "not a mapping", yaml: "- a\n- b\n", line: 1, column: 1, keyPath: "",
             message: "expected a mapping (the profile), found a list"),
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
        let error = try #require(loadError("filesystem:\n  exec: [home]\n", file: "profiles/x.yaml"))
        #expect(error.description == "profiles/x.yaml:2:10: filesystem.exec[0]: unknown value 'home'; allowed: system, workspace, tmp, read_write")
    }

    @Test func builtinProfilesAreNamedInErrors() throws {
        let dir = TemporaryDirectory()
        // Only files can extend paths; a broken parent is reported in its own file.
        dir.write("parent.yaml", "limits:\n  memory: lots\n")
        let error = try #require(loadError("extends: ./parent.yaml\n", file: dir.path + "/child.yaml"))
        #expect(error.file == dir.path + "/parent.yaml")
        #expect(error.line == 2)
        #expect(error.keyPath == "limits.memory")
        let missing = try #require(loadError(named: "nosuch", store: builtinStore))
        #expect(missing.file == "nosuch")
        #expect(missing.message.hasPrefix("no profile named 'nosuch'; available: default, offline"))
    }

    @Test func unreadableFiles() throws {
        let dir = TemporaryDirectory()
        let missing = try #require(loadError(named: dir.path + "/missing.yaml", store: builtinStore))
        #expect(missing.file == dir.path + "/missing.yaml")
        #expect(missing.line == nil)
        #expect(missing.message == "cannot read the profile: No such file or directory")
        let directory = dir.makeDirectory("dir.yaml")
        let isDirectory = try #require(loadError(named: directory, store: builtinStore))
        #expect(isDirectory.message == "cannot read the profile: Is a directory")
        let parentMissing = try #require(loadError("\n\nextends: ./gone.yaml\n", file: dir.path + "/c.yaml"))
        #expect(parentMissing.file == dir.path + "/c.yaml")
        #expect(parentMissing.line == 3)
        #expect(parentMissing.keyPath == "extends")
        #expect(parentMissing.message == "cannot read '\(dir.path)/gone.yaml': No such file or directory")
        // An unreadable profile in a search directory is an error, not a fall-back to the built-in.
        dir.makeDirectory("search")
        dir.makeDirectory("search/default.yaml")
        let shadow = try #require(loadError(named: "default", store: ProfileStore(searchPaths: [dir.path + "/search"])))
        #expect(shadow.message == "cannot read '\(dir.path)/search/default.yaml': Is a directory")
    }

    @Test func invalidNamesOnTheCommandLine() throws {
        let error = try #require(loadError(named: "Default", store: builtinStore))
        #expect(error.file == "Default")
        #expect(error.message.hasPrefix("invalid profile name"))
        let derived = try #require(loadError("description: x\n", file: "/tmp/My Profile.yaml"))
        #expect(derived.message == "the file name does not make a valid profile name ('My Profile'); add a name: key")
    }
}

import Testing
@testable import AgentrunPolicy

@Suite struct ExtendsTests {
    @Test func defaultsWithoutParent() throws {
        let profile = try builtinStore.load(yaml: "description: bare\n", file: "/tmp/bare.yaml")
        #expect(profile.name == "bare")
        #expect(profile.lineage == ["bare"])
        #expect(profile.source == .file("/tmp/bare.yaml"))
        #expect(profile.filesystem == FilesystemPolicy())
        #expect(profile.filesystem.exec == [.system, .workspace, .tmp])
        #expect(profile.limits == Limits())
        #expect(profile.limits.killGrace == 2)
        #expect(profile.network == .none)
        #expect(profile.landlock == .bestEffort)
    }

    @Test func appendWithoutParentStartsEmpty() throws {
        let profile = try builtinStore.load(yaml: """
            filesystem:
              system+: [/usr]
              exec+: [read_write]
            process:
              env:
                pass+: [PATH]
            syscalls:
              deny+: [ptrace]
            """, file: "root.yaml")
        #expect(profile.filesystem.system == ["/usr"])
        #expect(profile.filesystem.exec == [.readWrite])
        #expect(profile.process.envPass == ["PATH"])
        #expect(profile.syscalls.deny == ["ptrace"])
    }

    @Test func sectionsMergeKeyByKey() throws {
        let base = try builtinStore.load("default")
        let profile = try builtinStore.load(yaml: """
            extends: default
            limits: {wall: 5m, processes: unlimited}
            filesystem:
              read_only: [/srv/data]
            """, file: "/tmp/child.yaml")
        #expect(profile.name == "child")
        #expect(profile.description == "")  // never inherited
        #expect(profile.lineage == ["default", "child"])
        #expect(profile.limits.wall == 300)
        #expect(profile.limits.processes == nil)
        #expect(profile.limits.memory == base.limits.memory)
        #expect(profile.limits.killGrace == base.limits.killGrace)
        #expect(profile.filesystem.readOnly == ["/srv/data"])
        #expect(profile.filesystem.system == base.filesystem.system)
        #expect(profile.filesystem.protected == base.filesystem.protected)
    }

    @Test func listsReplaceOrAppend() throws {
        let profile = try builtinStore.load(yaml: """
            extends: default
            filesystem:
              system: [/usr, /lib]
              protected+: [.env, .git/config]
            process:
              env:
                pass: [HOME]
            syscalls:
              deny+: [ptrace, bpf]
            """, file: "/tmp/lists.yaml")
        #expect(profile.filesystem.system == ["/usr", "/lib"])
        // Appending what the parent already has keeps one copy.
        #expect(profile.filesystem.protected == [".git/hooks/", ".git/config", ".git/commondir", ".env"])
        #expect(profile.process.envPass == ["HOME"])
        #expect(profile.syscalls.deny == ["ptrace", "bpf"])
    }

    @Test func envSetMergesChildWins() throws {
        let profile = try builtinStore.load(yaml: """
            extends: python-agent
            process:
              env:
                set:
                  PIP_NO_INPUT: "0"
                  EXTRA: 42
                  RATIO: 1.50
            """, file: "/tmp/env.yaml")
        #expect(profile.process.envSet["PIP_NO_INPUT"] == "0")
        #expect(profile.process.envSet["EXTRA"] == "42")
        #expect(profile.process.envSet["RATIO"] == "1.50")
        #expect(profile.process.envSet["MPLCONFIGDIR"] == "/tmp/matplotlib")
        #expect(profile.lineage == ["default", "python-agent", "env"])
    }

    @Test func scalarsReplaceAndUnlimitedOverrides() throws {
        let profile = try builtinStore.load(yaml: """
            extends: ci-untrusted
            landlock: best-effort
            network: host
            limits:
              memory: unlimited
              wall: "unlimited"
            filesystem:
              workspace: read-only
              exec: [system, tmp]
            """, file: "/tmp/s.yaml")
        #expect(profile.landlock == .bestEffort)
        #expect(profile.network == .host)
        #expect(profile.limits.memory == nil)
        #expect(profile.limits.wall == nil)
        #expect(profile.limits.cpu == 1800)
        #expect(profile.filesystem.workspace == .readOnly)
        #expect(profile.filesystem.exec == [.system, .tmp])
        #expect(profile.filesystem.tmpSize == 512 << 20)
    }

    @Test func extendsRelativePathAndChain() throws {
        let dir = TemporaryDirectory()
        dir.write("base/root.yaml", "extends: default\nlimits: {wall: 10m}\nsyscalls: {deny: [ptrace]}\n")
        dir.write("base/middle.yaml", "extends: ./root.yaml\nsyscalls: {deny+: [bpf]}\n")
        let top = dir.write("top.yaml", "extends: base/middle.yaml\nlimits: {cpu: 1m}\n")
        let profile = try builtinStore.load(top)
        #expect(profile.lineage == ["default", "root", "middle", "top"])
        #expect(profile.source == .file(top))
        #expect(profile.limits.wall == 600)
        #expect(profile.limits.cpu == 60)
        #expect(profile.syscalls.deny == ["ptrace", "bpf"])
        // load(yaml:file:) resolves relative paths against the given file's directory.
        let inline = try builtinStore.load(yaml: "extends: base/middle.yaml\n", file: dir.path + "/inline.yaml")
        #expect(inline.lineage == ["default", "root", "middle", "inline"])
    }

    @Test func cycleIsNamed() throws {
        let dir = TemporaryDirectory()
        dir.write("a.yaml", "extends: b.yaml\n")
        dir.write("b.yaml", "name: bee\nextends: ./c.yaml\n")
        dir.write("c.yaml", "\nextends: ./a.yaml\n")
        let error = try #require(loadError(named: dir.path + "/a.yaml", store: builtinStore))
        #expect(error.file == dir.path + "/c.yaml")
        #expect(error.line == 2)
        #expect(error.column == 10)
        #expect(error.keyPath == "extends")
        #expect(error.message == "extends makes a cycle: a -> bee -> c -> a")
    }

    @Test func selfCycle() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("self.yaml", "extends: self.yaml\n")
        let error = try #require(loadError(named: path, store: builtinStore))
        #expect(error.message == "extends makes a cycle: self -> self")
    }

    @Test func chainDepthIsLimited() throws {
        let dir = TemporaryDirectory()
        for level in 1...8 { dir.write("p\(level).yaml", "extends: p\(level + 1).yaml\n") }
        dir.write("p9.yaml", "description: bottom\n")
        let error = try #require(loadError(named: dir.path + "/p1.yaml", store: builtinStore))
        #expect(error.keyPath == "extends")
        #expect(error.message.hasPrefix("extends chain holds more than 8 profiles: p1 -> p2"))
        // Eight profiles are fine.
        let profile = try builtinStore.load(dir.path + "/p2.yaml")
        #expect(profile.lineage == ["p9", "p8", "p7", "p6", "p5", "p4", "p3", "p2"])
    }

    @Test func searchDirectoriesAndShadowing() throws {
        let first = TemporaryDirectory()
        let second = TemporaryDirectory()
        // A user `default` that extends the built-in one it shadows.
        first.write("default.yaml", "extends: default\ndescription: site default\nlimits: {wall: 2h}\n")
        first.write("team.yaml", "extends: default\nnetwork: host\n")
        second.write("team.yaml", "description: hidden\n")
        second.write("extra.yaml", "description: from second\n")
        second.write("Not-A-Name.yaml", "description: skipped\n")
        second.write("notes.txt", "not a profile")
        let store = ProfileStore(searchPaths: [first.path, "relative/dir", "", second.path])

        let siteDefault = try store.load("default")
        #expect(siteDefault.description == "site default")
        #expect(siteDefault.lineage == ["default", "default"])
        #expect(siteDefault.limits.wall == 7200)
        #expect(siteDefault.limits.memory == 8 << 30)
        #expect(siteDefault.source == .file(first.path + "/default.yaml"))

        // `team` extends the *site* default, which extends the built-in one.
        let team = try store.load("team")
        #expect(team.lineage == ["default", "default", "team"])
        #expect(team.limits.wall == 7200)
        #expect(team.network == .host)

        let rows = store.list()
        #expect(rows.map(\.name) == ["default", "offline", "python-agent", "ci-untrusted", "extra", "team"])
        let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0) })
        #expect(byName["default"]?.shadows == true)
        #expect(byName["default"]?.source == .file(first.path + "/default.yaml"))
        #expect(byName["default"]?.description == "site default")
        #expect(byName["team"]?.shadows == true)
        #expect(byName["extra"]?.shadows == false)
        #expect(byName["extra"]?.description == "from second")
        #expect(byName["offline"]?.shadows == false)
        #expect(byName["offline"]?.source == .builtin)
    }

    @Test func nameMustMatchFileWhenFoundByName() throws {
        let dir = TemporaryDirectory()
        dir.write("mine.yaml", "name: other\n")
        let error = try #require(loadError(named: "mine", store: ProfileStore(searchPaths: [dir.path])))
        #expect(error.file == dir.path + "/mine.yaml")
        #expect(error.line == 1)
        #expect(error.keyPath == "name")
        #expect(error.message.contains("differs from the file name 'mine.yaml'"))
        // By path, the explicit name wins.
        #expect(try ProfileStore(searchPaths: []).load(dir.path + "/mine.yaml").name == "other")
    }

    @Test func listReportsBrokenProfiles() throws {
        let dir = TemporaryDirectory()
        dir.write("broken.yaml", "filesytem: {}\n")
        let rows = ProfileStore(searchPaths: [dir.path]).list()
        let broken = try #require(rows.first { $0.name == "broken" })
        #expect(broken.description.hasPrefix("(invalid: "))
        #expect(broken.description.contains("did you mean 'filesystem'?"))
    }

    @Test func defaultSearchPaths() {
        #expect(ProfileStore.defaultSearchPaths(environment: ["HOME": "/home/u"])
            == ["/home/u/.config/agentrun/profiles", "/etc/agentrun/profiles"])
        #expect(ProfileStore.defaultSearchPaths(environment: ["HOME": "/home/u", "XDG_CONFIG_HOME": "/cfg/"])
            == ["/cfg/agentrun/profiles", "/etc/agentrun/profiles"])
        #expect(ProfileStore.defaultSearchPaths(environment: ["HOME": "/home/u", "XDG_CONFIG_HOME": "cfg"])
            == ["/home/u/.config/agentrun/profiles", "/etc/agentrun/profiles"])
        #expect(ProfileStore.defaultSearchPaths(environment: [:]) == ["/etc/agentrun/profiles"])
        #expect(ProfileStore.defaultSearchPaths(environment: ["HOME": ".", "AGENTRUN_PROFILE_PATH": "/a::rel:/b"])
            == ["/a", "/b"])
        #expect(ProfileStore.defaultSearchPaths(environment: ["HOME": "/home/u", "AGENTRUN_PROFILE_PATH": ""]) == [])
    }
}

@Suite struct SchemaTests {
    /// The example at the top of docs/profiles.md.
    @Test func documentationExampleLoads() throws {
        let profile = try builtinStore.load(yaml: """
            # ~/.config/agentrun/profiles/my-agent.yaml
            name: my-agent
            description: My agent, with a toolchain and a bigger memory limit
            extends: default
            filesystem:
              read_only+: [/opt/toolchain]   # `KEY+:` appends to the inherited list
              protected+: [.env]
            process:
              env:
                pass+: [GOPATH]
                set:
                  GOFLAGS: -mod=readonly
            limits:
              wall: 30m                      # the other limits stay those of `default`
              memory: 4GiB
            """, file: "/tmp/my-agent.yaml")
        #expect(profile.filesystem.readOnly == ["/opt/toolchain"])
        #expect(profile.filesystem.protected.last == ".env")
        #expect(profile.process.envPass.last == "GOPATH")
        #expect(profile.process.envSet == ["GOFLAGS": "-mod=readonly"])
        #expect(profile.limits.wall == 1800)
        #expect(profile.limits.memory == 4 << 30)
        #expect(profile.limits.processes == 1024)
    }

    @Test func everyKeyOnce() throws {
        let profile = try builtinStore.load(yaml: """
            name: full
            description: "all keys"
            filesystem:
              workspace: none
              system: [/usr]
              read_only: [/opt/models]
              read_write: [/srv/cache]
              tmpfs: [/run/agent]
              protected: [.git/hooks/, a/b]
              exec: []
              tmp_size: 1.5GiB
            network: host
            process:
              env:
                pass: [PATH, "LC_*"]
                set: {A: b}
            limits:
              wall: 1h30m
              kill_grace: 0
              cpu: 250ms
              memory: 16MiB
              address_space: 64MiB
              processes: 4194304
              open_files: 16
              file_size: 1
            syscalls:
              deny: [ptrace, process_vm_readv]
            landlock: required
            """, file: "full.yaml")
        #expect(profile.sourceFiles == [FileSystem.absolute("full.yaml")])
        var expected = Profile(
            name: "full", description: "all keys", source: profile.source, lineage: ["full"],
            filesystem: FilesystemPolicy(
                workspace: .none, system: ["/usr"], readOnly: ["/opt/models"], readWrite: ["/srv/cache"],
                tmpfs: ["/run/agent"], protected: [".git/hooks/", "a/b"], exec: [], tmpSize: 1_610_612_736),
            network: .host,
            process: ProcessPolicy(envPass: ["PATH", "LC_*"], envSet: ["A": "b"]),
            limits: Limits(
                wall: 5400, killGrace: 0, cpu: 0.25, memory: 16 << 20, addressSpace: 64 << 20,
                processes: 4_194_304, openFiles: 16, fileSize: 1),
            syscalls: SyscallPolicy(deny: ["ptrace", "process_vm_readv"]),
            landlock: .required)
        expected.sourceFiles = profile.sourceFiles
        #expect(profile == expected)
        // And it survives rendering, including odd strings.
        var odd = profile
        odd.description = "quote \" backslash \\ tab \t newline-free é"
        odd.process.envSet = ["X": "true", "Y": "1", "Z": "a: b # c", "W": "", "V": "line1\nline2"]
        var reloaded = try builtinStore.load(yaml: odd.renderYAML(), file: "full.yaml")
        reloaded.lineage = odd.lineage
        reloaded.sourceFiles = odd.sourceFiles
        #expect(reloaded == odd)
    }
}

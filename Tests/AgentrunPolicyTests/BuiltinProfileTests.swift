import Testing
@testable import AgentrunPolicy
import AgentrunProfiles

@Suite struct BuiltinProfileTests {
    @Test(arguments: ["default", "offline", "python-agent", "ci-untrusted"])
    func loads(name: String) throws {
        let profile = try builtinStore.load(name)
        #expect(profile.name == name)
        #expect(profile.source == .builtin)
        #expect(!profile.description.isEmpty)
        #expect(profile.lineage.last == name)
    }

    @Test func defaultProfile() throws {
        let profile = try builtinStore.load("default")
        #expect(profile.lineage == ["default"])
        #expect(profile.filesystem.workspace == .readWrite)
        #expect(profile.filesystem.system.first == "/usr")
        #expect(profile.filesystem.system.contains("/etc/ssl/certs"))
        #expect(!profile.filesystem.system.contains("/etc/shadow"))
        #expect(profile.filesystem.protected == [".git/hooks/", ".git/config", ".git/commondir"])
        #expect(profile.sourceFiles.isEmpty)
        #expect(profile.filesystem.exec == [.system, .workspace, .tmp])
        #expect(profile.filesystem.tmpSize == 1 << 30)
        #expect(profile.network == .none)
        #expect(profile.process.envPass == ["PATH", "LANG", "LANGUAGE", "LC_*", "TERM", "COLORTERM", "NO_COLOR", "TZ"])
        #expect(profile.process.envSet.isEmpty)
        #expect(profile.limits == Limits(
            wall: 3600, killGrace: 2, cpu: 3600, memory: 8 << 30, addressSpace: 64 << 30,
            processes: 1024, openFiles: 4096, fileSize: 8 << 30))
        #expect(profile.syscalls.deny.isEmpty)
        #expect(profile.landlock == .bestEffort)
    }

    @Test func offlineIsDefaultWithoutNetwork() throws {
        let offline = try builtinStore.load("offline")
        var expected = try builtinStore.load("default")
        expected.name = "offline"
        expected.description = offline.description
        expected.lineage = ["default", "offline"]
        #expect(offline == expected)
        #expect(offline.network == .none)
    }

    @Test func pythonAgent() throws {
        let python = try builtinStore.load("python-agent")
        let base = try builtinStore.load("default")
        #expect(python.lineage == ["default", "python-agent"])
        #expect(python.filesystem.system == base.filesystem.system + ["/etc/pip.conf", "/etc/matplotlibrc"])
        #expect(python.process.envPass.contains("VIRTUAL_ENV"))
        #expect(python.process.envPass.starts(with: base.process.envPass))
        #expect(python.process.envSet == [
            "PYTHONDONTWRITEBYTECODE": "1", "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "MPLCONFIGDIR": "/tmp/matplotlib",
        ])
        #expect(python.limits == base.limits)
        #expect(python.filesystem.exec == base.filesystem.exec)
    }

    @Test func ciUntrusted() throws {
        let ci = try builtinStore.load("ci-untrusted")
        let base = try builtinStore.load("default")
        #expect(ci.lineage == ["default", "ci-untrusted"])
        #expect(ci.filesystem.exec == [.system])
        #expect(ci.landlock == .required)
        #expect(ci.filesystem.tmpSize == 512 << 20)
        #expect(ci.filesystem.system == base.filesystem.system)
        #expect(ci.filesystem.protected == base.filesystem.protected + [
            ".git/modules/", ".git/worktrees/", ".github/", ".gitlab-ci.yml", ".envrc",
        ])
        #expect(ci.limits == Limits(
            wall: 1800, killGrace: 1, cpu: 1800, memory: 2 << 30, addressSpace: 16 << 30,
            processes: 256, openFiles: 1024, fileSize: 1 << 30))
    }

    @Test(arguments: ["default", "offline", "python-agent", "ci-untrusted"])
    func renderRoundTrip(name: String) throws {
        let profile = try builtinStore.load(name)
        let yaml = profile.renderYAML()
        #expect(!yaml.contains("extends"))
        #expect(!yaml.contains("+:"))
        var reloaded = try builtinStore.load(yaml: yaml, file: "/tmp/\(name)-rendered.yaml")
        reloaded.source = profile.source
        reloaded.lineage = profile.lineage
        #expect(reloaded.sourceFiles == ["/tmp/\(name)-rendered.yaml"])
        reloaded.sourceFiles = profile.sourceFiles
        #expect(reloaded == profile)
    }

    @Test func listShowsBuiltins() {
        let rows = builtinStore.list()
        #expect(rows.map(\.name) == BuiltinProfiles.all.map(\.name))
        #expect(rows.allSatisfy { $0.source == .builtin && !$0.shadows && !$0.description.hasPrefix("(invalid") })
    }
}

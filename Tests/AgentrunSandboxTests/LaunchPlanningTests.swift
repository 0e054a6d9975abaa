import AgentrunOS
import AgentrunPolicy
import Testing

@testable import AgentrunSandbox

@Suite("identity, environment, limits, workspace")
struct LaunchPlanningTests {
    @Test("an ordinary user keeps their uid; the only map an unprivileged writer may use")
    func rootlessIdentity() {
        let id = Identity.make(invokingUID: 1000, invokingGID: 1001, seed: 7)
        #expect(id.insideUID == 1000)
        #expect(id.hostUID == 1000)
        #expect(id.uidMap == "1000 1000 1\n")
        #expect(id.gidMap == "1001 1001 1\n")
        #expect(id.denySetgroups)
        #expect(id.workspaceIdmap == nil)
    }

    @Test("root maps the agent to an unprivileged host id, never 0, and idmaps the workspace")
    func rootIdentity() {
        for seed in [0, 1, 12345, UInt32.max] {
            let id = Identity.make(invokingUID: 0, invokingGID: 0, seed: seed)
            #expect(id.insideUID == 1000)
            #expect(id.hostUID >= Identity.rootModeHostBase)
            #expect(id.hostUID < Identity.rootModeHostBase + Identity.rootModeHostSpan)
            #expect(id.uidMap == "1000 \(id.hostUID) 1\n")
            #expect(!id.uidMap.hasSuffix(" 0 1\n"))
            #expect(id.clearGroups)
            #expect(id.workspaceIdmap?.uidMap == "0 \(id.hostUID) 1\n")
        }
    }

    @Test("the environment is scrubbed to the allow-list, profile values and --env")
    func environment() throws {
        let host = ["PATH": "/usr/bin", "LC_ALL": "C", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "GITHUB_TOKEN": "ghp", "FOO": "host-foo", "TERM": "xterm"]
        let env = try SandboxEnvironment.build(
            process: ProcessPolicy(envPass: ["PATH", "LC_*", "TERM"], envSet: ["TERM": "dumb", "X": "1"]),
            overrides: ["FOO", "BAR=baz", "AGENTRUN_RUN_ID=forged"], host: host, runID: "run-1", profileName: "default", home: "/home/agent")
        #expect(env["AWS_SECRET_ACCESS_KEY"] == nil)
        #expect(env["GITHUB_TOKEN"] == nil)
        #expect(env["LC_ALL"] == "C")
        #expect(env["TERM"] == "dumb")
        #expect(env["X"] == "1")
        #expect(env["FOO"] == "host-foo")
        #expect(env["BAR"] == "baz")
        #expect(env["AGENTRUN_RUN_ID"] == "run-1")
        #expect(env["HOME"] == "/home/agent")
        #expect(throws: SandboxEnvironment.Problem.self) {
            try SandboxEnvironment.build(process: ProcessPolicy(), overrides: ["1BAD=x"], host: [:], runID: "r", profileName: "p", home: "/h")
        }
    }

    @Test("rlimits: core is always 0, CPU rounds up, unset limits are left alone")
    func rlimits() {
        let (limits, _) = ResourceLimit.plan(Limits(cpu: 1.5, processes: 64, openFiles: nil, fileSize: 1 << 20))
        let byName = Dictionary(uniqueKeysWithValues: limits.map { ($0.name, $0) })
        #expect(byName["core"]?.soft == 0)
        #expect(byName["core"]?.hard == 0)
        #expect(byName["cpu"]?.soft == 2)
        #expect(byName["processes"]?.soft == 64)
        #expect(byName["file_size"]?.soft == 1 << 20)
        #expect(byName["open_files"] == nil)
    }

    @Test("PATH search happens against the sandbox's PATH; paths with a slash are used as given")
    func execCandidates() {
        #expect(LaunchPlanner.execCandidates("python3", path: "/usr/bin:relative:/bin", cwd: "/w") == ["/usr/bin/python3", "/bin/python3"])
        #expect(LaunchPlanner.execCandidates("./run.sh", path: "/usr/bin", cwd: "/w") == ["/w/./run.sh"])
        #expect(LaunchPlanner.execCandidates("/opt/x", path: "/usr/bin", cwd: "/w") == ["/opt/x"])
    }

    func request(workspace: String?, cwd: String = "/tmp") -> LaunchRequest {
        LaunchRequest(command: ["true"], profile: Profile(name: "t", filesystem: FilesystemPolicy(system: ["/usr", "/etc/hostname"])),
                      workspace: workspace, runID: "r", hostEnvironment: [:], currentDirectory: cwd)
    }

    @Test("the workspace cannot be /, a kernel filesystem, a parent of system paths, or missing", arguments: ["/", "/proc", "/dev/shm", "/etc", "/no/such/dir"])
    func badWorkspaces(path: String) {
        #expect(throws: LaunchError.self) { try LaunchPlanner.resolveWorkspace(request(workspace: path)) }
    }

    @Test("a project directory is a fine workspace, and relative paths resolve against the cwd")
    func goodWorkspace() throws {
        let ws = TempDir()
        #expect(try LaunchPlanner.resolveWorkspace(request(workspace: ws.path)) == ws.path)
        let name = String(ws.path.dropFirst("/tmp/".count))
        #expect(try LaunchPlanner.resolveWorkspace(request(workspace: name, cwd: "/tmp")) == ws.path)
    }
}

import AgentrunOS
import AgentrunPolicy
import Testing

@testable import AgentrunSandbox

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp, removed at the end of the test.
final class TempDir {
    let path: String

    init() {
        var template = Array("/tmp/agentrun-unit-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    func mkdir(_ relative: String) { _ = Glibc.mkdir(path + "/" + relative, 0o755) }
    func write(_ relative: String, _ text: String = "") {
        let fd = open(path + "/" + relative, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var bytes = Array(text.utf8)
        _ = Glibc.write(fd, &bytes, bytes.count)
        close(fd)
    }
    func symlink(_ target: String, _ relative: String) { _ = Glibc.symlink(target, path + "/" + relative) }

    deinit {
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("rm"), strdup("-rf"), strdup(path), nil]
        var pid: pid_t = 0
        posix_spawnp(&pid, "rm", nil, nil, &argv, environ)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        for p in argv { free(p) }
    }
}

@Suite("mount view planning")
struct MountPlannerTests {
    let identity = Identity.make(invokingUID: 1234, invokingGID: 1234, seed: 0)

    func planner(_ fs: FilesystemPolicy, workspace: String?, network: NetworkMode = .none) -> MountPlanner {
        MountPlanner(filesystem: fs, network: network, workspace: workspace, identity: identity, hostname: "agentrun")
    }

    @Test("parents are mounted before children, and the root becomes read-only last")
    func ordering() throws {
        let ws = TempDir()
        let view = try planner(FilesystemPolicy(system: ["/usr", "/etc/ssl/certs", "/etc/hostname"]), workspace: ws.path).plan()
        let targets = view.mounts.map(\.target)
        #expect(view.mounts.last?.kind == .setAttributes)
        #expect(view.mounts.last?.target == "/")
        #expect(view.mounts.last?.flags.contains(.readOnly) == true)
        // Every mount's target comes after a mount of any parent directory of it.
        for (i, op) in view.mounts.enumerated() where op.kind != .setAttributes {
            for (j, other) in view.mounts.enumerated() where j > i && other.kind != .setAttributes && other.kind != .symlink && other.kind != .file {
                #expect(!(other.target != op.target && Paths.isWithin(op.target, other.target) && other.depth < op.depth),
                        "\(op.target) planned before its parent \(other.target)")
            }
        }
        #expect(targets.contains("/tmp"))
        #expect(targets.contains(MountPlanner.home))
        #expect(targets.contains("/proc"))
        #expect(targets.contains("/dev/pts"))
        #expect(targets.contains(ws.path))
    }

    @Test("system symlinks are recreated, missing paths skipped with a note")
    func systemPaths() throws {
        let view = try planner(FilesystemPolicy(system: ["/usr", "/bin", "/does/not/exist"]), workspace: nil).plan()
        let bin = try #require(view.mounts.first { $0.target == "/bin" })
        if Files.kind("/bin") == .symlink {
            #expect(bin.kind == .symlink)
            #expect(bin.source == Files.readLink("/bin"))
        }
        #expect(!view.mounts.contains { $0.target == "/does/not/exist" })
        #expect(view.notes.contains { $0.contains("/does/not/exist") })
        let usr = try #require(view.mounts.first { $0.target == "/usr" })
        #expect(usr.kind == .bind)
        #expect(usr.flags.contains(.readOnly))
        #expect(usr.flags.contains(.noSuid))
    }

    @Test("read_only and read_write paths must exist")
    func extraPathsMustExist() {
        #expect(throws: LaunchError.self) {
            try planner(FilesystemPolicy(readOnly: ["/no/such/toolchain"]), workspace: nil).plan()
        }
        #expect(throws: LaunchError.self) {
            try planner(FilesystemPolicy(readWrite: ["/no/such/cache"]), workspace: nil).plan()
        }
    }

    @Test("exec locations become noexec mounts and Landlock execute rights")
    func execLocations() throws {
        let ws = TempDir()
        let view = try planner(FilesystemPolicy(system: ["/usr"], exec: [.system]), workspace: ws.path).plan()
        let workspace = try #require(view.mounts.first { $0.target == ws.path && $0.purpose == "workspace" })
        #expect(workspace.flags.contains(.noExec))
        let tmp = try #require(view.mounts.first { $0.target == "/tmp" })
        #expect(tmp.flags.contains(.noExec))
        let usr = try #require(view.mounts.first { $0.target == "/usr" })
        #expect(!usr.flags.contains(.noExec))
        let wsRule = try #require(view.landlockRules.first { $0.path == ws.path })
        #expect(wsRule.access & LandlockPolicy.execute == 0)
        #expect(wsRule.access & LandlockPolicy.writeFile != 0)
        let usrRule = try #require(view.landlockRules.first { $0.path == "/usr" })
        #expect(usrRule.access & LandlockPolicy.execute != 0)
        #expect(usrRule.access & LandlockPolicy.writeFile == 0)
        // Nothing grants creating device nodes.
        #expect(view.landlockRules.allSatisfy { $0.access & (LandlockPolicy.makeChar | LandlockPolicy.makeBlock) == 0 })
    }

    @Test("a read-only workspace is mounted read-only and gets no write rights")
    func readOnlyWorkspace() throws {
        let ws = TempDir()
        let view = try planner(FilesystemPolicy(workspace: .readOnly, protected: [".git/hooks/"]), workspace: ws.path).plan()
        let workspace = try #require(view.mounts.first { $0.purpose == "workspace" })
        #expect(workspace.flags.contains(.readOnly))
        #expect(view.landlockRules.first { $0.path == ws.path }.map { $0.access & LandlockPolicy.writeFile } ?? 0 == 0)
        #expect(view.created.isEmpty)  // nothing to protect in a read-only workspace
    }

    @Test("the synthetic passwd names the agent with its inside uid")
    func passwd() throws {
        let view = try planner(FilesystemPolicy(), workspace: nil).plan()
        let passwd = try #require(view.mounts.first { $0.target == "/etc/passwd" })
        let text = String(decoding: passwd.data, as: UTF8.self)
        #expect(text.contains("agent:x:1234:1234:"))
        #expect(!text.contains("x:0:0:root:/root:/bin/"))  // root cannot log in
    }
}

@Suite("protected paths")
struct ProtectedPathTests {
    func plan(_ ws: TempDir, _ entries: [String]) -> ProtectedPathPlanner.Plan {
        ProtectedPathPlanner(workspace: ws.path, entries: entries, workspaceFlags: [.noSuid, .noDev]).plan()
    }

    @Test("existing paths: ancestors pinned, the path read-only")
    func existing() {
        let ws = TempDir()
        ws.mkdir(".git")
        ws.mkdir(".git/hooks")
        ws.write(".git/config", "[core]\n")
        let p = plan(ws, [".git/hooks/", ".git/config"])
        let pins = p.ops.filter { !$0.flags.contains(.readOnly) }.map(\.target)
        let ro = p.ops.filter { $0.flags.contains(.readOnly) }.map(\.target)
        #expect(pins == [ws.path + "/.git"])
        #expect(Set(ro) == [ws.path + "/.git/hooks", ws.path + "/.git/config"])
        #expect(p.created.isEmpty)
    }

    @Test("missing paths are created as placeholders and recorded for removal")
    func missing() {
        let ws = TempDir()
        let p = plan(ws, [".git/hooks/", ".git/config"])
        #expect(p.created.map(\.path) == [ws.path + "/.git", ws.path + "/.git/hooks", ws.path + "/.git/config"])
        #expect(p.created.map(\.isDirectory) == [true, true, false])
        let hooks = p.ops.first { $0.target == ws.path + "/.git/hooks" }
        #expect(hooks?.flags.isSuperset(of: [.readOnly, .create, .directory]) == true)
        let config = p.ops.first { $0.target == ws.path + "/.git/config" }
        #expect(config?.flags.contains(.create) == true)
        #expect(config?.flags.contains(.directory) == false)
    }

    @Test("a symlinked protected path is covered itself, and its target inside the workspace too")
    func symlink() {
        let ws = TempDir()
        ws.mkdir(".git")
        ws.mkdir("myhooks")
        ws.symlink("../myhooks", ".git/hooks")
        let p = plan(ws, [".git/hooks/"])
        let link = p.ops.first { $0.target == ws.path + "/.git/hooks" }
        #expect(link?.flags.isSuperset(of: [.readOnly, .onSymlink]) == true)
        let target = p.ops.first { $0.target == ws.path + "/myhooks" }
        #expect(target?.flags.contains(.readOnly) == true)
    }

    @Test("a symlinked ancestor is covered and followed inside the workspace")
    func symlinkedAncestor() {
        let ws = TempDir()
        ws.mkdir("realgit")
        ws.mkdir("realgit/hooks")
        ws.symlink("realgit", ".git")
        let p = plan(ws, [".git/hooks/"])
        #expect(p.ops.contains { $0.target == ws.path + "/.git" && $0.flags.contains(.onSymlink) && $0.flags.contains(.readOnly) })
        #expect(p.ops.contains { $0.target == ws.path + "/realgit/hooks" && $0.flags.contains(.readOnly) })
    }

    @Test("a symlink pointing outside the workspace is covered but not followed")
    func symlinkOutside() {
        let ws = TempDir()
        ws.mkdir(".git")
        ws.symlink("/etc", ".git/hooks")
        let p = plan(ws, [".git/hooks/"])
        #expect(p.ops.contains { $0.target == ws.path + "/.git/hooks" && $0.flags.contains(.onSymlink) })
        #expect(!p.ops.contains { $0.target.hasPrefix("/etc") })
    }

    @Test("a .git file (worktree or submodule) protects the gitdir it names inside the workspace")
    func gitdirFile() {
        let ws = TempDir()
        ws.mkdir("store")
        ws.mkdir("store/wt")
        ws.write(".git", "gitdir: store/wt\n")
        let p = plan(ws, [".git/hooks/", ".git/config"])
        #expect(p.ops.contains { $0.target == ws.path + "/.git" && $0.flags.contains(.readOnly) })  // the file itself
        #expect(p.ops.contains { $0.target == ws.path + "/store/wt/hooks" && $0.flags.contains(.readOnly) })
        #expect(p.ops.contains { $0.target == ws.path + "/store/wt/config" && $0.flags.contains(.readOnly) })
    }
}

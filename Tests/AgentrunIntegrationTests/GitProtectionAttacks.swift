// Persistence through files the host runs later: `.git/hooks/` and `.git/config` stay read-only
// inside the writable workspace, whether or not they exist or are symlinks (checklist: "Symlink/
// TOCTOU on ... protected paths" and "Persistence via files run later on the host").
//
// Each attack runs `agentrun-probe git-plant MODE`. The control is the same attack in the same
// sandbox with the protection switched off (`protected: []`), which must plant the payload. The
// verdict is taken on the host: what git would read at .git/hooks/ and .git/config (following
// symlinks) must be unchanged.

import Foundation
import Glibc
import Testing

/// The state of the workspace before the attack.
enum GitSetup: String, CustomStringConvertible {
    /// `git init`: .git/hooks/*.sample and .git/config exist.
    case repository
    /// No .git at all.
    case noGit
    /// .git exists but has neither hooks/ nor config.
    case bareDotGit
    /// .git/hooks -> ../shared-hooks and .git/config -> ../gitconfig-real, made by the host.
    case symlinkedPaths
    /// .git -> repo-store (a real repository directory elsewhere in the workspace), made by the host.
    case symlinkedDotGit
    /// .git/config -> /etc/shadow and .git/hooks -> /root: a workspace from an untrusted source.
    case symlinksToHostSecrets
    /// .git -> a directory outside the workspace (TestDir.host/gitdir, empty).
    case dotGitOutsideWorkspace
    /// The workspace is a linked worktree: .git is a file pointing into a repository outside it.
    case worktree

    var description: String { rawValue }

    func apply(_ t: TestDir) throws {
        switch self {
        case .repository:
            try gitInit(t.workspace)
        case .noGit:
            break
        case .bareDotGit:
            try FileManager.default.createDirectory(atPath: t.path(".git/objects"), withIntermediateDirectories: true)
        case .symlinkedPaths:
            try gitInit(t.workspace)
            let fm = FileManager.default
            try fm.moveItem(atPath: t.path(".git/hooks"), toPath: t.path("shared-hooks"))
            try fm.moveItem(atPath: t.path(".git/config"), toPath: t.path("gitconfig-real"))
            try fm.createSymbolicLink(atPath: t.path(".git/hooks"), withDestinationPath: "../shared-hooks")
            try fm.createSymbolicLink(atPath: t.path(".git/config"), withDestinationPath: "../gitconfig-real")
        case .symlinkedDotGit:
            try gitInit(t.workspace)
            try FileManager.default.moveItem(atPath: t.path(".git"), toPath: t.path("repo-store"))
            try FileManager.default.createSymbolicLink(atPath: t.path(".git"), withDestinationPath: "repo-store")
        case .symlinksToHostSecrets:
            try FileManager.default.createDirectory(atPath: t.path(".git"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: t.path(".git/config"), withDestinationPath: "/etc/shadow")
            try FileManager.default.createSymbolicLink(atPath: t.path(".git/hooks"), withDestinationPath: "/root")
        case .worktree:
            let main = t.hostPath("main")
            try gitInit(main)
            let env = ["GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"]
            try t.write(main + "/f", "x")
            for cmd in [["add", "f"], ["commit", "-q", "-m", "1"], ["worktree", "add", "-q", t.hostPath("wt")]] {
                let r = Harness.run(["git", "-C", main] + cmd, env: env)
                guard r.status == 0 else { throw HarnessError.message("git \(cmd) failed\n\(r)") }
            }
            try FileManager.default.copyItem(atPath: t.hostPath("wt/.git"), toPath: t.path(".git"))
        case .dotGitOutsideWorkspace:
            try FileManager.default.createDirectory(atPath: t.hostPath("gitdir"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: t.path(".git"), withDestinationPath: t.hostPath("gitdir"))
        }
    }

    private func gitInit(_ dir: String) throws {
        let r = Harness.run(["git", "init", "-q", dir])
        guard r.status == 0 else { throw HarnessError.message("git init failed\n\(r)") }
    }
}

/// What git would read at .git/hooks/ and .git/config, following symlinks. A missing file and an
/// empty one read the same; so do a missing hooks directory and an empty one.
func protectedGitState(_ t: TestDir) -> String {
    var out: [String] = []
    let hooks = t.path(".git/hooks")
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: hooks, isDirectory: &isDir), isDir.boolValue {
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: hooks)) ?? []).sorted()
        for e in entries {
            let p = hooks + "/" + e
            let content = (try? String(contentsOfFile: p, encoding: .utf8)) ?? "<unreadable>"
            let mode = Host.stat(p).map { String($0.st_mode & 0o7777, radix: 8) } ?? "?"
            out.append("hooks/\(e) mode \(mode): \(content.count) bytes \(content.contains("agentrun-probe-pwned") ? "PAYLOAD" : "")")
        }
    } else if t.exists(".git/hooks") {
        out.append("hooks is not a directory")
    }
    let config = (try? String(contentsOfFile: t.path(".git/config"), encoding: .utf8)) ?? ""
    out.append("config: \(config)")
    // What git itself resolves as the hooks directory and the config (commondir, gitdir files...).
    let env = ["GIT_CEILING_DIRECTORIES": (t.workspace as NSString).deletingLastPathComponent]
    for what in ["hooks", "config"] {
        let r = Harness.run(["git", "-C", t.workspace, "rev-parse", "--git-path", what], env: env, timeout: 10)
        guard r.status == 0 else { continue }
        var resolved = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if !resolved.hasPrefix("/") { resolved = t.workspace + "/" + resolved }
        resolved = (resolved as NSString).standardizingPath
        let expected = (t.path(".git/" + what) as NSString).standardizingPath
        if resolved != expected && (resolved as NSString).resolvingSymlinksInPath != (expected as NSString).resolvingSymlinksInPath {
            let file = what == "hooks" ? resolved + "/pre-commit" : resolved
            let content = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            out.append("git resolves \(what) to \(resolved) \(content.contains("agentrun-probe-pwned") ? "PAYLOAD" : "")")
        }
    }
    // .git as a file ("gitdir: DIR") makes git use DIR's hooks and config.
    var isDotGitDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: t.path(".git"), isDirectory: &isDotGitDir), !isDotGitDir.boolValue,
       let pointer = try? String(contentsOfFile: t.path(".git"), encoding: .utf8), pointer.hasPrefix("gitdir: ") {
        let dir = pointer.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines)
        let base = dir.hasPrefix("/") ? dir : t.path(dir)
        out.append(".git is a gitdir file -> \(dir)")
        for f in ["hooks/pre-commit", "config"] {
            let content = (try? String(contentsOfFile: base + "/" + f, encoding: .utf8)) ?? ""
            out.append("gitdir \(f): \(content.contains("agentrun-probe-pwned") ? "PAYLOAD" : "\(content.count) bytes")")
        }
    }
    return out.joined(separator: "\n")
}

@Suite("Protected .git paths", .needsSandbox, .timeLimit(.minutes(1)))
struct GitProtectionAttacks {
    private let protectionOff = "extends: default\nfilesystem:\n  protected: []\n"

    private func attack(_ mode: [String], _ setup: GitSetup, sourceLocation: SourceLocation = #_sourceLocation) throws {
        // Control: the same attack with the protection switched off plants the payload.
        let c = try TestDir("git")
        try setup.apply(c)
        let off = try c.profile(protectionOff)
        let control = c.probeIn(["git-plant"] + mode, profile: off)
        expectControlSucceeds(control, "git-plant \(mode.joined(separator: " ")) on \(setup) with protected: []", sourceLocation: sourceLocation)

        let t = try TestDir("git")
        try setup.apply(t)
        let before = protectedGitState(t)
        let r = t.probeIn(["git-plant"] + mode)
        expectBlocked(r, "git-plant \(mode.joined(separator: " ")) on \(setup)", sourceLocation: sourceLocation)
        let after = protectedGitState(t)
        #expect(after == before, "what the host's git reads changed\nbefore:\n\(before)\nafter:\n\(after)\n\(r)", sourceLocation: sourceLocation)
        #expect(!after.contains("PAYLOAD") && !after.contains("agentrun-probe-pwned"), "a planted payload reached the host\n\(after)", sourceLocation: sourceLocation)
    }

    @Test("writing .git/hooks/pre-commit is refused")
    func hooksDirect() throws { try attack(["hooks"], .repository) }

    @Test("appending to .git/config is refused")
    func configDirect() throws { try attack(["config"], .repository) }

    @Test("planting .git/hooks/pre-commit when .git does not exist is refused")
    func hooksWithoutDotGit() throws { try attack(["hooks-mkdir"], .noGit) }

    @Test("creating .git/config when .git does not exist is refused")
    func configWithoutDotGit() throws { try attack(["config-mkdir"], .noGit) }

    @Test("creating .git/hooks and .git/config when .git exists without them is refused")
    func hooksMissingInDotGit() throws {
        try attack(["hooks-mkdir"], .bareDotGit)
        try attack(["config-mkdir"], .bareDotGit)
    }

    @Test("planting a hook through a symlink the agent makes in the workspace is refused")
    func hooksThroughAgentSymlink() throws { try attack(["hooks-symlink"], .repository) }

    @Test("writing .git/config through a symlink the agent makes in the workspace is refused")
    func configThroughAgentSymlink() throws { try attack(["config-symlink"], .repository) }

    @Test("renaming .git away and recreating it with hooks is refused")
    func renameDotGit() throws { try attack(["dotgit-rename"], .repository) }

    @Test("swapping .git for an agent-made directory with RENAME_EXCHANGE is refused")
    func exchangeDotGit() throws { try attack(["dotgit-exchange"], .repository) }

    @Test("renaming .git/hooks and .git/config away and recreating them is refused")
    func renameHooks() throws { try attack(["hooks-rename"], .repository) }

    @Test("swapping .git/hooks and .git/config with RENAME_EXCHANGE is refused")
    func exchangeHooks() throws { try attack(["hooks-exchange"], .repository) }

    @Test("creating .git as a symlink to an agent-made repository is refused")
    func dotGitSymlinkWhenMissing() throws { try attack(["dotgit-symlink"], .noGit) }

    @Test("making .git/hooks and .git/config symlinks to agent-made files is refused")
    func hooksSymlinkWhenMissing() throws { try attack(["hooks-symlink-swap"], .bareDotGit) }

    @Test("hard links to .git/config and to a hook do not make them writable")
    func hardLinks() throws { try attack(["config-hardlink"], .repository) }

    @Test("replacing .git/config and .git/hooks/pre-commit by rename is refused")
    func replaceByRename() throws { try attack(["config-replace"], .repository) }

    @Test("deleting and recreating .git/config and .git/hooks is refused")
    func unlinkAndRecreate() throws { try attack(["config-unlink"], .repository) }

    @Test("a host-made .git/hooks symlink into the workspace does not expose its target")
    func hostSymlinkedHooks() throws { try attack(["path", "shared-hooks/pre-commit"], .symlinkedPaths) }

    @Test("a host-made .git/config symlink into the workspace does not expose its target")
    func hostSymlinkedConfig() throws { try attack(["path", "gitconfig-real"], .symlinkedPaths) }

    @Test("redirecting git's hooks and config through .git/commondir is refused")
    func commondir() throws { try attack(["commondir"], .repository) }

    @Test("in a linked worktree, rewriting the .git file to an agent-made gitdir is refused")
    func worktreeGitFile() throws { try attack(["gitfile-rewrite"], .worktree) }

    @Test("creating .git as a gitdir file pointing at an agent-made repository is refused")
    func dotGitFile() throws { try attack(["dotgit-file"], .noGit) }

    @Test("a protected path symlinked to a host secret does not expose it")
    func protectedSymlinkToHostSecret() throws {
        let t = try TestDir("git")
        try GitSetup.symlinksToHostSecrets.apply(t)
        // Control: on the host, root reads /etc/shadow and lists /root through the links.
        if controlNeedsRoot() {
            expectControlSucceeds(t.probeOnHost(["read", t.path(".git/config")]), "reading .git/config -> /etc/shadow on the host")
            expectControlSucceeds(t.probeOnHost(["read", t.path(".git/hooks")]), "listing .git/hooks -> /root on the host")
        }
        expectBlocked(t.probeIn(["read", t.path(".git/config")]), "reading /etc/shadow through the protected .git/config symlink")
        expectBlocked(t.probeIn(["read", t.path(".git/hooks")]), "listing /root through the protected .git/hooks symlink")
    }

    @Test("a .git symlink pointing outside the workspace: nothing is created or written there")
    func dotGitSymlinkOutside() throws {
        // Control: on the host the attack writes through the link into the outside directory.
        let c = try TestDir("git")
        try GitSetup.dotGitOutsideWorkspace.apply(c)
        expectControlSucceeds(c.probeOnHost(["git-plant", "hooks-mkdir"]), "planting hooks through .git -> outside on the host")

        let t = try TestDir("git")
        try GitSetup.dotGitOutsideWorkspace.apply(t)
        expectSuccess(t.sandbox(["true"]), "a run in a workspace whose .git points outside it")
        expectBlocked(t.probeIn(["git-plant", "hooks-mkdir"]), "planting hooks through .git -> outside")
        expectBlocked(t.probeIn(["git-plant", "config-mkdir"]), "writing config through .git -> outside")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: t.hostPath("gitdir"))) ?? ["<unreadable>"]
        #expect(left.isEmpty, "something was created outside the workspace through the .git symlink: \(left)")
    }

    @Test("a host-made .git symlink to a repository in the workspace stays protected")
    func hostSymlinkedDotGit() throws {
        try attack(["path", "repo-store/hooks/pre-commit"], .symlinkedDotGit)
        try attack(["path", "repo-store/config"], .symlinkedDotGit)
    }
}

// A rootless run: agentrun started by an ordinary user (AGENTRUN_TEST_USER, created by CI),
// through `setpriv --reuid=U --regid=G --clear-groups`. The agent keeps that uid, files it makes
// belong to that user, and the sandbox still holds. Skipped when the variable is unset, except
// under AGENTRUN_REQUIRE_PRIVILEGED=1 where that is a failure.

import Foundation
import Glibc
import Testing

private struct TestUser {
    let name: String
    let uid: uid_t
    let gid: gid_t

    static func lookup(sourceLocation: SourceLocation = #_sourceLocation) -> TestUser? {
        guard let name = Harness.testUser else {
            if Harness.requirePrivileged {
                Issue.record("AGENTRUN_TEST_USER is unset and AGENTRUN_REQUIRE_PRIVILEGED=1", sourceLocation: sourceLocation)
            }
            return nil
        }
        guard let pw = getpwnam(name) else {
            Issue.record("AGENTRUN_TEST_USER=\(name) does not exist", sourceLocation: sourceLocation)
            return nil
        }
        return TestUser(name: name, uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid)
    }

    var wrapper: [String] { ["setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups"] }

    /// A test directory owned by the user.
    func dir() throws -> TestDir {
        let t = try TestDir("rootless")
        let r = Harness.run(["chown", "-R", "\(uid):\(gid)", t.workspace, t.host])
        guard r.status == 0 else { throw HarnessError.message("chown failed\n\(r)") }
        return t
    }
}

@Suite("Rootless", .serialized, .timeLimit(.minutes(1)),
       .enabled("needs root (to switch to AGENTRUN_TEST_USER) and AGENTRUN_TEST_USER, or AGENTRUN_REQUIRE_PRIVILEGED=1") {
           (Harness.isRoot && Harness.testUser != nil) || Harness.requirePrivileged
       })
struct Rootless {
    @Test("a rootless run keeps the caller's uid and the files it creates belong to the caller")
    func identityAndOwnership() throws {
        guard let user = TestUser.lookup(), controlNeedsRoot() else { return }
        let t = try user.dir()
        let r = t.sandbox([t.probe, "id"], env: ["HOME": "/tmp"], wrapper: user.wrapper)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("uid=\(user.uid) gid=\(user.gid) euid=\(user.uid) egid=\(user.gid) "), "\(r)")
        #expect(r.stdout.contains(" pid=2 "), "\(r)")
        let w = t.sandbox(["sh", "-c", "echo hi > made-by-agent.txt"], env: ["HOME": "/tmp"], wrapper: user.wrapper)
        #expect(w.status == 0, "\(w)")
        let st = try #require(Host.stat(t.path("made-by-agent.txt")), "the agent's file is missing\n\(w)")
        #expect(st.st_uid == user.uid && st.st_gid == user.gid, "owned by \(st.st_uid):\(st.st_gid), want \(user.uid):\(user.gid)")
    }

    @Test("a rootless run is mediated: the agent's first exec (read from the supervisor's own copy), a file write and a refused ptrace are recorded")
    func mediation() throws {
        guard let user = TestUser.lookup(), controlNeedsRoot() else { return }
        let t = try user.dir()
        let log = t.host + "/mediation-log"
        let script = "echo hi > rootless-note.txt; python3 -c 'import ctypes; print(ctypes.CDLL(None).ptrace(16, 1, 0, 0))'"
        let r = t.sandbox(["sh", "-c", script], options: ["--log", log], env: ["HOME": "/tmp"], wrapper: user.wrapper)
        #expect(r.status == 0 && r.stdout.contains("-1"), "\(r)")
        let text = (try? String(contentsOfFile: log + "/log.jsonl", encoding: .utf8)) ?? ""
        let records = text.split(separator: "\n").map { JV.parse(String($0)) }
        let execs = records.filter { $0["kind"].string == "syscall.execve" }
        let first = try #require(execs.first, "no execve record\n\(r)\n\(text.prefix(2000))")
        #expect(first["argv"].strings == ["sh", "-c", script] && first["decision"].string == "allow", "\(first)")
        #expect(first["unreadable"].exists == false, "the first exec's arguments were read: \(first)")
        let write = records.first { $0["kind"].string == "syscall.openat" && $0["path"].string == t.path("rootless-note.txt") }
        #expect(write?["decision"].string == "allow", "\(text.prefix(3000))")
        let ptrace = records.first { $0["kind"].string == "syscall.ptrace" }
        #expect(ptrace?["decision"].string == "deny" && ptrace?["rule"].string == "seccomp.denied" && ptrace?["errno"].string == "EPERM", "\(ptrace ?? JV(nil))")
    }

    @Test("a rootless sandbox still refuses the core attacks")
    func attacks() throws {
        guard let user = TestUser.lookup(), controlNeedsRoot() else { return }
        let t = try user.dir()
        let env = ["HOME": "/tmp"]
        func inside(_ args: [String]) -> RunResult { t.sandbox([t.probe] + args, env: env, wrapper: user.wrapper) }
        func outside(_ args: [String]) -> RunResult { Harness.run(user.wrapper + [t.probe] + args, env: env, cwd: t.workspace) }

        // Controls as the same user on the host.
        expectControlSucceeds(outside(["ptrace-child"]), "ptrace of a child as \(user.name)")
        expectControlSucceeds(outside(["count-pids", "2"]), "seeing host processes as \(user.name)")
        expectControlSucceeds(outside(["nnp-off"]), "no_new_privs unset for \(user.name) on the host")
        expectControlSucceeds(outside(["write", t.hostPath("pwned")]), "writing the user's host directory")
        unlink(t.hostPath("pwned"))

        expectBlocked(inside(["unshare", "user"]), "unshare(CLONE_NEWUSER) rootless")
        expectBlocked(inside(["mount-tmpfs", t.workspace]), "mount(tmpfs) rootless")
        expectBlocked(inside(["ptrace-child"]), "ptrace rootless")
        expectBlocked(inside(["ptrace-attach", "1"]), "ptrace of pid 1 rootless")
        expectBlocked(inside(["count-pids", "2"]), "seeing host processes rootless")
        expectBlocked(inside(["nnp-off"]), "no_new_privs rootless")
        expectBlocked(inside(["caps"]), "capabilities rootless")
        expectBlocked(inside(["write", t.hostPath("pwned")]), "writing outside the workspace rootless")
        #expect(!t.exists(t.hostPath("pwned")))
        expectBlocked(inside(["io-uring"]), "io_uring rootless")
        expectBlocked(inside(["tiocsti-pty"]), "TIOCSTI rootless")
    }

    @Test("a rootless sandbox keeps .git/hooks and .git/config read-only")
    func gitProtection() throws {
        guard let user = TestUser.lookup(), controlNeedsRoot() else { return }
        let t = try user.dir()
        _ = Harness.run(user.wrapper + ["git", "init", "-q", t.workspace], env: ["HOME": "/tmp"])
        let before = protectedGitState(t)
        expectBlocked(t.sandbox([t.probe, "git-plant", "hooks"], env: ["HOME": "/tmp"], wrapper: user.wrapper), "planting a hook rootless")
        expectBlocked(t.sandbox([t.probe, "git-plant", "config"], env: ["HOME": "/tmp"], wrapper: user.wrapper), "appending to .git/config rootless")
        #expect(protectedGitState(t) == before)
    }
}

// deny_exec beyond the path: copies, other names (inode), and the dynamic loader run as a
// program (which maps the denied program without an execve, so Landlock never sees it).

import Foundation
import Testing

@Suite("Mediation attacks: copies and the loader route")
struct MediationCopyAttacks {
    @Test("a copy of a denied program (workspace, /tmp), a renamed hard link and `ld.so PROGRAM` are refused and recorded; a copy of an allowed program runs")
    func copiesOtherNamesAndLoader() throws {
        let t = try TestDir("medc")
        let profile = try Mediation.profile(t, """
            record: [exec]
            deny_exec:
              - id: no-id
                paths: [/usr/bin/id]
            """)
        let script = """
            cp /usr/bin/id ./copy-ws; ./copy-ws; echo "ws=$?"
            cp /usr/bin/id /tmp/copy-tmp; /tmp/copy-tmp; echo "tmp=$?"
            cp /usr/bin/id ./orig && ln ./orig ./other-name && rm ./orig; ./other-name; echo "link=$?"
            for l in /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1; do [ -e "$l" ] && LD=$l; done
            "$LD" /usr/bin/id; echo "loader=$?"
            "$LD" --inhibit-cache /usr/bin/id; echo "loader-option=$?"
            cp /usr/bin/true ./copy-true; ./copy-true; echo "control=$?"
            "$LD" /usr/bin/true; echo "loader-control=$?"
            """
        let run = Mediation.run(t, ["/bin/sh", "-c", script], profile: profile)
        let out = run.result.stdout
        #expect(!out.contains("uid="), "a copy or the loader ran id: \(run)")
        for key in ["ws", "tmp", "link", "loader", "loader-option"] {
            #expect(out.contains("\(key)=126"), "\(key): want the shell's 126 (EPERM from exec)\n\(run)")
        }
        #expect(out.contains("control=0") && out.contains("loader-control=0"), "CONTROL FAILED: \(run)")

        let denials = run.syscalls("execve").filter { $0["decision"].string == "deny" }
        #expect(denials.count == 5, "\(run)")
        #expect(denials.allSatisfy { $0["rule"].string == "no-id" && $0["errno"].string == "EPERM" && $0["exact"].bool == true }, "\(run)")
        let copies = denials.filter { $0["args"]["same_file_as"].string == "/usr/bin/id" }
        #expect(copies.count == 3, "copies and the other name cite the denied file: \(denials)")
        let loader = denials.filter { $0["args"]["loader_program"].string == "/usr/bin/id" }
        #expect(loader.count == 2, "the loader route names the program it would load: \(denials)")
        #expect(loader.allSatisfy { $0["argv"].strings.contains("/usr/bin/id") }, "\(loader)")
    }
}

extension MediationCopyAttacks {
    @Test("a program run from a memfd (fexecve) runs under mediation; a memfd holding a copy of a denied program is refused")
    func memfdPrograms() throws {
        let t = try TestDir("medf")
        let profile = try Mediation.profile(t, """
            record: [exec]
            deny_exec:
              - id: no-id
                paths: [/usr/bin/id]
            """)
        let script = """
            import os, sys
            def run(source):
                fd = os.memfd_create("prog", 0)
                os.write(fd, open(source, "rb").read())
                pid = os.fork()
                if pid == 0:
                    try:
                        os.execve(fd, [source], {})
                    except OSError as e:
                        os._exit(100 + e.errno)
                _, status = os.waitpid(pid, 0)
                print(source, os.waitstatus_to_exitcode(status), flush=True)
            run("/usr/bin/true")
            run("/usr/bin/id")
            """
        let run = Mediation.run(t, [Mediation.python, "-c", script], profile: profile)
        #expect(run.result.stdout.contains("/usr/bin/true 0"), "fexecve of an allowed program must work: \(run)")
        #expect(run.result.stdout.contains("/usr/bin/id 101"), "the copy of id in a memfd must fail with EPERM: \(run)")
        #expect(!run.result.stdout.contains("uid="), "\(run)")
        let denied = run.syscalls("execve", "execveat").filter { $0["decision"].string == "deny" }
        #expect(denied.count == 1 && denied.first?["rule"].string == "no-id" && denied.first?["args"]["same_file_as"].string == "/usr/bin/id", "\(denied)")
    }
}

@Suite("Mediation attacks: exact path calls")
struct MediationExactPathAttacks {
    func profile(_ t: TestDir, exactFiles: Bool) throws -> String {
        try Mediation.profile(t, """
            record: [file-write]
            exact_files: \(exactFiles)
            deny_write:
              - id: race-deny
                paths: ["\(t.path("race/dirB"))"]
            """)
    }

    @Test("with exact_files, a thread flipping mkdir's path between an allowed and a denied name never creates the denied directory; every record is exact")
    func raceMkdirExact() throws {
        let t = try TestDir("medm")
        try FileManager.default.createDirectory(atPath: t.path("race"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: t.path("ctl"), withIntermediateDirectories: true)
        // Control: on the host the flip reaches the denied name.
        let control = t.probeOnHost(["med-race-mkdir", "ctl/dirA", "ctl/dirB", "3000"], control: false)
        #expect(control.status == 0, "CONTROL FAILED: the race never created dirB on the host\n\(control)")

        let run = Mediation.run(t, [t.probe, "med-race-mkdir", "race/dirA", "race/dirB", "3000"], profile: try profile(t, exactFiles: true), timeout: 120)
        #expect(run.result.status == 1, "ESCAPE or failure: \(run)")
        #expect(!t.exists("race/dirB"), "ESCAPE: the denied directory exists\n\(run)")
        let counts = probeCounts(run.result, line: "mkdirs=")
        #expect(counts["denied_made"] == 0 && (counts["made"] ?? 0) > 0 && (counts["refused"] ?? 0) > 0, "\(run)")
        let mkdirs = run.syscalls("mkdir")
        #expect(mkdirs.allSatisfy { $0["exact"].bool == true }, "\(mkdirs.first { $0["exact"].bool != true } ?? JV(nil))")
        // What was allowed was performed by the supervisor (a denial needs no performing).
        #expect(mkdirs.filter { $0["decision"].string == "allow" }.allSatisfy { $0["via"].string == "supervisor" && $0["path"].string == t.path("race/dirA") }, "\(run)")
        let denied = mkdirs.filter { $0["decision"].string == "deny" }
        #expect(denied.count == counts["refused"], "one denial per refusal: \(counts)")
        #expect(denied.allSatisfy { $0["path"].string == t.path("race/dirB") && $0["rule"].string == "race-deny" }, "\(denied.first ?? JV(nil))")
        // rmdir is performed by the supervisor too.
        #expect(run.syscalls("rmdir").allSatisfy { $0["via"].string == "supervisor" }, "\(run)")
    }

    @Test("exact_files: rename, link, symlink, chmod, truncate and unlink performed by the supervisor behave as the agent's own and refuse denied paths")
    func pathCallsBehave() throws {
        let t = try TestDir("medp")
        try FileManager.default.createDirectory(atPath: t.path("race"), withIntermediateDirectories: true)
        let script = """
            set -u
            r() { "$@" 2>/dev/null && echo "$1 ok" || echo "$1 failed"; }
            echo data > a; r mv a b; r ln b c; r ln -s b s; r chmod 600 b; r truncate -s 2 b
            r mv b race/dirB; r ln c race/dirB; r ln -s c race/dirB; r mkdir race/dirB
            r rm c; r rm s; r unlink nonexistent
            stat -c '%a %s' b; ls
            """
        let run = Mediation.run(t, ["/bin/sh", "-c", script], profile: try profile(t, exactFiles: true))
        let out = run.result.stdout
        for ok in ["mv ok", "ln ok", "chmod ok", "truncate ok", "mkdir failed", "rm ok", "unlink failed"] {
            #expect(out.contains(ok), "\(ok): \(run)")
        }
        #expect(!out.contains("mv failed\nln ok"), "\(run)")
        #expect(out.contains("600 2"), "chmod and truncate reached the file: \(run)")
        #expect(!t.exists("race/dirB"), "\(run)")
        let denials = run.syscallRecords.filter { $0["decision"].string == "deny" }
        #expect(denials.count == 4, "mv, ln, ln -s and mkdir onto the denied path: \(denials)")
        #expect(denials.allSatisfy { $0["rule"].string == "race-deny" && $0["exact"].bool == true }, "\(denials)")
        let missing = run.syscallRecords.first { $0["kind"].string?.hasPrefix("syscall.unlink") == true && $0["errno"].string == "ENOENT" }
        #expect(missing?["decision"].string == "allow" && missing?["via"].string == "supervisor", "rm of a missing file: the supervisor's ENOENT: \(run)")
    }
}

// deny_exec beyond the path: copies, other names (inode), and the dynamic loader run as a
// program (which maps the denied program without an execve, so Landlock never sees it).

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

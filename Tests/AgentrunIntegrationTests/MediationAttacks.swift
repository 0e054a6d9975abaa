// Attacks on syscall mediation (issue 5): a denied program reached directly, through
// /proc/self/root, a symlink, a hard link, /proc/self/fd, execveat and a script's #! line; writes
// to denied paths by every file-write call and around the path check (symlinks, /proc magic
// links, dirfds, renaming the directory away); pointer arguments the supervisor cannot read;
// threads rewriting the path argument while another thread calls openat or execve; exact_files
// as a confused deputy (the supervisor must open no more than the agent could, and behave like
// the kernel would); a flood of mediated calls, and one killed mid-flood. Each attack has a
// control that shows the primitive works.

import Foundation
import Glibc
import Testing

@Suite("Mediation attacks", .serialized, .needsSandbox, .timeLimit(.minutes(3)))
struct MediationAttacks {
    // MARK: deny_exec

    /// The deny_exec profile: /usr/bin/id by path, curl by name, a workspace script by path.
    func denyExecProfile(_ t: TestDir) throws -> String {
        try Mediation.profile(t, """
            record: [exec, denied]
            errno: EPERM
            deny_exec:
              - id: no-id
                paths: [/usr/bin/id]
              - id: no-curl
                paths: [curl]
              - id: no-forbidden
                paths: ["\(t.path("bin/forbidden"))"]
            """)
    }

    /// The one exec denial of a run.
    func execDenial(_ run: MediatedRun, sourceLocation: SourceLocation = #_sourceLocation) -> JV? {
        let denials = run.syscalls("execve", "execveat").filter { $0["decision"].string == "deny" }
        #expect(denials.count == 1, "want exactly one exec denial\n\(run)", sourceLocation: sourceLocation)
        return denials.first
    }

    static let execModes = ["direct", "procroot", "symlink", "procfd", "execveat", "shebang"]

    @Test("deny_exec refuses /usr/bin/id directly, through /proc/self/root, a symlink, /proc/self/fd, execveat and a #! line; /usr/bin/true runs", arguments: MediationAttacks.execModes)
    func denyExecSystemProgram(mode: String) throws {
        let t = try TestDir("medx")
        let profile = try denyExecProfile(t)
        // Control: the same route to an allowed program works in the same sandbox.
        let control = Mediation.run(t, [t.probe, "med-exec", mode, "/usr/bin/true"], profile: profile, name: "control")
        expectControlSucceeds(control.result, "exec of /usr/bin/true by \(mode)")
        #expect(control.syscalls("execve", "execveat").allSatisfy { $0["decision"].string == "allow" }, "\(control)")

        let run = Mediation.run(t, [t.probe, "med-exec", mode, "/usr/bin/id"], profile: profile)
        expectBlocked(run.result, "exec of /usr/bin/id by \(mode)")
        #expect(!run.result.stdout.contains("uid="), "id ran: \(run)")
        #expect(probeErrno(run.result) == "EPERM", "the profile's errno: \(run)")
        let r = try #require(execDenial(run))
        expectWellFormed(r, exe: t.probe)
        expectDenied(r, rule: "no-id", errno: "EPERM")
        switch mode {
        case "direct":
            #expect(r["kind"].string == "syscall.execve" && r["path"].string == "/usr/bin/id", "\(r)")
            #expect(r["argv"].strings == ["/usr/bin/id"], "\(r)")
            #expect(r["args"]["pathname"].string == "/usr/bin/id", "\(r)")
        case "procroot":
            #expect(r["kind"].string == "syscall.execve" && r["args"]["pathname"].string == "/proc/self/root/usr/bin/id", "\(r)")
        case "symlink":
            // `path` keeps the symlink; the rule matched its target.
            #expect(r["kind"].string == "syscall.execve" && r["path"].string == t.path("med-symlink"), "\(r)")
            #expect(r["argv"].strings == ["med-symlink"], "\(r)")
        case "procfd":
            #expect(r["kind"].string == "syscall.execve", "\(r)")
            #expect(r["args"]["pathname"].string?.hasPrefix("/proc/self/fd/") == true, "\(r)")
        case "execveat":
            let fd = run.result.stdout.split(separator: "\n").first { $0.hasPrefix("fd=") }.flatMap { Int($0.dropFirst(3)) }
            #expect(r["kind"].string == "syscall.execveat", "\(r)")
            #expect(r["args"]["flags"].strings == ["AT_EMPTY_PATH"], "\(r)")
            #expect(r["args"]["dirfd"].int == fd, "\(r)")
            #expect(r["args"]["pathname"].string == "", "\(r)")
        case "shebang":
            #expect(r["kind"].string == "syscall.execve" && r["path"].string == t.path("med-shebang.sh"), "\(r)")
            #expect(r["interpreter"].string == "/usr/bin/id", "\(r)")
        default:
            break
        }
    }

    @Test("deny_exec refuses a workspace program (it would leave a marker) by every route", arguments: MediationAttacks.execModes)
    func denyExecWorkspaceProgram(mode: String) throws {
        let t = try TestDir("medx")
        let marker = t.path("RAN-forbidden")
        try Mediation.writeMarkerScript(t, "bin/forbidden", marker: marker)
        try Mediation.writeMarkerScript(t, "bin/permitted", marker: t.path("RAN-permitted"))
        let profile = try denyExecProfile(t)
        // Control: the same script under another name runs by the same route and leaves its marker.
        let control = Mediation.run(t, [t.probe, "med-exec", mode, t.path("bin/permitted")], profile: profile, name: "control")
        expectControlSucceeds(control.result, "exec of a workspace script by \(mode)")
        #expect(t.exists("RAN-permitted"), "the control's marker is missing: \(control)")

        let run = Mediation.run(t, [t.probe, "med-exec", mode, t.path("bin/forbidden")], profile: profile)
        expectBlocked(run.result, "exec of a denied workspace script by \(mode)")
        #expect(!t.exists("RAN-forbidden"), "ESCAPE: the denied program ran (by \(mode))\n\(run)")
        #expect(probeErrno(run.result) == "EPERM", "\(run)")
        let r = try #require(execDenial(run))
        expectDenied(r, rule: "no-forbidden", errno: "EPERM")
        if mode == "shebang" {
            #expect(r["interpreter"].string == t.path("bin/forbidden"), "\(r)")
        }
        if mode == "direct" {
            #expect(r["path"].string == t.path("bin/forbidden") && r["interpreter"].string == "/bin/sh", "the script's own #! line: \(r)")
        }
    }

    @Test("deny_exec by bare name refuses curl, and a copy named curl in the workspace")
    func denyExecByName() throws {
        let t = try TestDir("medx")
        let profile = try denyExecProfile(t)
        try FileManager.default.createDirectory(atPath: t.path("tools"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/usr/bin/true", toPath: t.path("tools/curl"))
        try FileManager.default.copyItem(atPath: "/usr/bin/true", toPath: t.path("tools/notcurl"))
        let control = Mediation.run(t, [t.probe, "med-exec", "direct", t.path("tools/notcurl")], profile: profile, name: "control")
        expectControlSucceeds(control.result, "exec of a copy of true not named curl")

        for (i, program) in ["/usr/bin/curl", t.path("tools/curl")].enumerated() where FileManager.default.isExecutableFile(atPath: program) {
            let run = Mediation.run(t, [t.probe, "med-exec", "direct", program, "--version"], profile: profile, name: "run\(i)")
            expectBlocked(run.result, "exec of \(program)")
            #expect(probeErrno(run.result) == "EPERM", "\(run)")
            let r = try #require(execDenial(run))
            expectDenied(r, rule: "no-curl", errno: "EPERM")
            #expect(r["path"].string == program && r["argv"].strings == [program, "--version"], "\(r)")
        }
    }

    @Test("a hard link to a denied program cannot be made across mounts, or cannot run")
    func denyExecHardLink() throws {
        let t = try TestDir("medx")
        try Mediation.writeMarkerScript(t, "bin/permitted", marker: t.path("RAN-permitted"))
        let profile = try denyExecProfile(t)
        // Control: a hard link within the workspace can be made and run.
        let control = Mediation.run(t, [t.probe, "med-exec", "hardlink", t.path("bin/permitted")], profile: profile, name: "control")
        expectControlSucceeds(control.result, "hard link to a workspace script, then exec")
        #expect(t.exists("RAN-permitted"), "\(control)")

        let run = Mediation.run(t, [t.probe, "med-exec", "hardlink", "/usr/bin/id"], profile: profile)
        expectBlocked(run.result, "hard link to /usr/bin/id, then exec")
        #expect(!run.result.stdout.contains("uid="), "id ran: \(run)")
        if run.result.stdout.contains("link made") {
            let r = try #require(execDenial(run))
            expectDenied(r, rule: "no-id", errno: "EPERM")
        } else {
            #expect(run.result.stdout.contains("link-failed errno=EXDEV") || run.result.stdout.contains("link-failed errno=EPERM"),
                    "\(run)")
        }
    }

    @Test("another name of a denied system program (a hard link such as /usr/bin/perl5.x) cannot run")
    func denyExecOtherName() throws {
        let t = try TestDir("medx")
        let perl = try #require(Host.stat("/usr/bin/perl"), "no /usr/bin/perl on this host")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/bin")) ?? []
        let other = names.sorted().map { "/usr/bin/" + $0 }.first {
            guard $0 != "/usr/bin/perl", let st = Host.stat($0) else { return false }
            return st.st_ino == perl.st_ino && st.st_dev == perl.st_dev
        }
        let alias = try #require(other, "no hard link of /usr/bin/perl in /usr/bin (Debian ships perl5.N.M)")
        let profile = try Mediation.profile(t, """
            record: [exec, denied]
            deny_exec:
              - id: no-perl
                paths: [/usr/bin/perl]
            """)
        // Control: the alias runs on the host.
        let control = Harness.run([alias, "-e", "print qq(perl ran\\n)"])
        #expect(control.status == 0 && control.stdout.contains("perl ran"), "CONTROL FAILED\n\(control)")

        let run = Mediation.run(t, [t.probe, "med-exec", "direct", alias, "-e", "print qq(perl ran\\n)"], profile: profile)
        expectBlocked(run.result, "exec of \(alias), another name of the denied /usr/bin/perl")
        #expect(!run.result.stdout.contains("perl ran"), "ESCAPE: perl ran under another name\n\(run)")
        // Whoever refused it, the record says so: a supervisor denial (by inode), or an allow that is not exact.
        let recs = run.syscalls("execve", path: alias)
        #expect(recs.count == 1, "\(run)")
        if let r = recs.first, r["decision"].string == "allow" {
            #expect(r["exact"].bool == false, "\(r)")
            #expect(probeErrno(run.result) == "EACCES", "Landlock's refusal: \(run)")
        } else if let r = recs.first {
            expectDenied(r, rule: "no-perl", errno: "EPERM")
        }
    }

    // MARK: deny_write

    static let writeScript = """
        import errno as E
        base = sys.argv[1]
        def attempt(name, fn):
            try:
                fn()
                out(**{name: "ok"})
            except OSError as e:
                out(**{name: E.errorcode.get(e.errno, str(e.errno))})
        def write():
            with open(base + "/existing.txt", "a") as f:
                f.write("appended")
        attempt("create", lambda: open(base + "/new.txt", "w").close())
        attempt("write", write)
        attempt("chmod", lambda: os.chmod(base + "/existing.txt", 0o600))
        attempt("truncate", lambda: os.truncate(base + "/existing.txt", 0))
        attempt("rename_onto", lambda: os.rename("scratch-" + base + ".txt", base + "/existing.txt"))
        attempt("rename_from", lambda: os.rename(base + "/other.txt", "moved-" + base + ".txt"))
        attempt("mkdir", lambda: os.mkdir(base + "/newdir"))
        attempt("symlink", lambda: os.symlink("target", base + "/link"))
        attempt("unlink", lambda: os.unlink(base + "/existing.txt"))
        attempt("dotenv", lambda: open(base + "-sub/.env", "w").close())
        """

    static let writeOps = ["create", "write", "chmod", "truncate", "rename_onto", "rename_from", "mkdir", "symlink", "unlink"]

    @Test("deny_write refuses creating, writing, chmod, truncate, renaming onto and from, mkdir, symlink and unlink of denied paths with the profile's errno")
    func denyWrite() throws {
        let t = try TestDir("medw")
        for base in ["secrets", "public"] {
            try t.write("\(base)/existing.txt", "orig", mode: 0o644)
            try t.write("\(base)/other.txt", "other", mode: 0o644)
            try t.write("scratch-\(base).txt", "scratch")
            try FileManager.default.createDirectory(atPath: t.path("\(base)-sub"), withIntermediateDirectories: true)
        }
        let profile = try Mediation.profile(t, """
            record: [file-write, denied]
            errno: EACCES
            deny_write:
              - id: no-secrets
                paths: ["\(t.path("secrets"))/**"]
              - id: no-env
                paths: ["**/.env"]
            """)

        // Control: the neighbouring directory; every operation works (except .env, denied anywhere).
        let control = try Mediation.runPython(t, Self.writeScript, profile: profile, name: "public", args: ["public"])
        #expect(control.result.status == 0, "\(control)")
        for op in Self.writeOps {
            #expect(control.values[op]?.string == "ok", "CONTROL FAILED: \(op) in public/\n\(control)")
        }
        #expect(control.values["dotenv"]?.string == "EACCES", "**/.env is denied anywhere\n\(control)")
        #expect(control.syscallRecords.filter { $0["decision"].string == "deny" }.count == 1, "\(control)")

        let run = try Mediation.runPython(t, Self.writeScript, profile: profile, name: "secrets", args: ["secrets"])
        #expect(run.result.status == 0, "\(run)")
        for op in Self.writeOps {
            #expect(run.values[op]?.string == "EACCES", "\(op) of a denied path should fail with EACCES\n\(run)")
        }
        #expect(run.values["dotenv"]?.string == "EACCES", "\(run)")
        // Nothing changed under secrets/.
        #expect(t.read("secrets/existing.txt") == "orig")
        #expect(Host.stat(t.path("secrets/existing.txt")).map { $0.st_mode & 0o7777 } == 0o644)
        #expect(t.read("secrets/other.txt") == "other")
        for gone in ["secrets/new.txt", "secrets/newdir", "secrets/link", "moved-secrets.txt", "secrets-sub/.env"] {
            #expect(!t.exists(gone), "\(gone) was created")
        }
        #expect(t.exists("scratch-secrets.txt"))

        // One denial per operation, with the rule id and the profile's errno.
        let denials = run.syscallRecords.filter { $0["decision"].string == "deny" }
        #expect(denials.count == Self.writeOps.count + 1, "\(run)")
        for d in denials { expectWellFormed(d, exe: Mediation.pythonExe) }
        let s = t.path("secrets")
        func denial(_ kinds: [String], _ what: String, where match: (JV) -> Bool) {
            let found = denials.filter { kinds.contains(String($0["kind"].string?.dropFirst(8) ?? "")) && match($0) }
            #expect(found.count == 1, "one denial for \(what)\n\(run)")
            if let d = found.first { expectDenied(d, rule: "no-secrets", errno: "EACCES") }
        }
        denial(["openat", "open"], "create") { $0["path"].string == s + "/new.txt" }
        denial(["openat", "open"], "write") {
            $0["path"].string == s + "/existing.txt" && flagSet($0) == ["O_WRONLY", "O_CREAT", "O_APPEND", "O_CLOEXEC"]
        }
        denial(["chmod", "fchmodat", "fchmodat2"], "chmod") { $0["path"].string == s + "/existing.txt" && $0["args"]["mode"].string == "0600" }
        denial(["truncate"], "truncate") { $0["path"].string == s + "/existing.txt" }
        denial(["rename", "renameat", "renameat2"], "rename onto") {
            $0["args"]["newpath"].string == s + "/existing.txt" && $0["path"].string == t.path("scratch-secrets.txt")
                && $0["args"]["oldpath"].string == "scratch-secrets.txt"
        }
        denial(["rename", "renameat", "renameat2"], "rename from") {
            $0["path"].string == s + "/other.txt" && $0["args"]["oldpath"].string == "secrets/other.txt"
                && $0["args"]["newpath"].string == t.path("moved-secrets.txt")
        }
        denial(["mkdir", "mkdirat"], "mkdir") { $0["path"].string == s + "/newdir" }
        denial(["symlink", "symlinkat"], "symlink") {
            $0["path"].string == s + "/link" && $0["args"]["target"].string == "target" && $0["args"]["linkpath"].string == "secrets/link"
        }
        denial(["unlink", "unlinkat"], "unlink") { $0["path"].string == s + "/existing.txt" }
        let env = denials.filter { $0["path"].string == t.path("secrets-sub/.env") }
        #expect(env.count == 1, "\(run)")
        if let e = env.first { expectDenied(e, rule: "no-env", errno: "EACCES") }
    }

    /// Ways around a path check: symlinks the agent makes, /proc magic links, dirfds, `..`, `//`,
    /// a hard link, O_RDWR, openat2, creat, mknod, and renaming the protected directory away.
    static let bypassScript = """
        import ctypes, errno as E, stat
        base = sys.argv[1]
        ws = os.getcwd()
        libc = ctypes.CDLL(None, use_errno=True)
        def attempt(name, fn):
            try:
                fn()
                out(**{name: "ok"})
            except OSError as e:
                out(**{name: E.errorcode.get(e.errno, str(e.errno))})
        def write(path, mode="w"):
            with open(path, mode) as f:
                f.write("bypass")
        def raw(nr, *args):
            r = libc.syscall(nr, *args)
            if r < 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
            os.close(r) if nr in (85, 437) else None
        class OpenHow(ctypes.Structure):
            _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]
        def file_symlink():
            os.symlink(base + "/existing.txt", "fsym-" + base)
            write("fsym-" + base, "a")
        def dir_symlink():
            os.symlink(base, "dsym-" + base)
            write("dsym-" + base + "/n1.txt")
        def dirfd():
            d = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
            os.close(os.open("n2.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=d))
        def procfd():
            fd = os.open(base + "/existing.txt", os.O_RDONLY)
            write("/proc/self/fd/%d" % fd, "a")
        def rdwr():
            fd = os.open(base + "/existing.txt", os.O_RDWR)
            os.write(fd, b"X")
            os.close(fd)
        def openat2():
            how = OpenHow(os.O_WRONLY | os.O_CREAT, 0o644, 0)
            raw(437, -100, (base + "/n6.txt").encode(), ctypes.byref(how), ctypes.c_size_t(24))
        attempt("file_symlink", file_symlink)
        attempt("dir_symlink", dir_symlink)
        attempt("proc_cwd", lambda: write("/proc/self/cwd/" + base + "/n3.txt"))
        attempt("proc_root", lambda: write("/proc/self/root" + ws + "/" + base + "/n8.txt"))
        attempt("proc_pid_cwd", lambda: write("/proc/%d/cwd/%s/n9.txt" % (os.getpid(), base)))
        attempt("dirfd", dirfd)
        attempt("dotdot", lambda: write("other/../" + base + "/n4.txt"))
        attempt("double_slash", lambda: write(ws + "//" + base + "//n5.txt"))
        attempt("procfd", procfd)
        attempt("rdwr", rdwr)
        attempt("openat2", openat2)
        attempt("creat", lambda: raw(85, (base + "/n7.txt").encode(), 0o644))
        attempt("mknod", lambda: os.mknod(base + "/fifo", stat.S_IFIFO | 0o644))
        attempt("hardlink", lambda: os.link(base + "/existing.txt", "hl-" + base))
        attempt("proc_mkdir", lambda: os.mkdir("/proc/self/cwd/" + base + "/newdir"))
        attempt("proc_chmod", lambda: os.chmod("/proc/self/cwd/" + base + "/existing.txt", 0o600))
        attempt("proc_unlink", lambda: os.unlink("/proc/self/cwd/" + base + "/existing.txt"))
        attempt("rename_dir", lambda: os.rename(base, "moved-" + base))
        attempt("after_rename", lambda: write("moved-" + base + "/existing.txt", "a"))
        """

    @Test("deny_write cannot be bypassed by symlinks, /proc links, dirfds, .., //, hard links, O_RDWR, openat2, creat, mknod or renaming the directory",
          arguments: [false, true])
    func denyWriteBypass(exactFiles: Bool) throws {
        let t = try TestDir("medw")
        for base in ["secrets", "public"] {
            try t.write("\(base)/existing.txt", "orig", mode: 0o644)
        }
        try FileManager.default.createDirectory(atPath: t.path("other"), withIntermediateDirectories: true)
        let profile = try Mediation.profile(t, """
            record: [file-write, denied]
            exact_files: \(exactFiles)
            deny_write:
              - id: no-secrets
                paths: ["\(t.path("secrets"))", "\(t.path("secrets"))/**"]
            """)
        let control = try Mediation.runPython(t, Self.bypassScript, profile: profile, name: "public", args: ["public"])
        #expect(control.result.status == 0, "\(control)")
        // openat2 is refused with ENOSYS by the built-in filter (programs fall back to openat); with
        // exact_files the supervisor never opens through /proc magic links, so /proc/self/cwd fails too.
        let mayFail: Set<String> = exactFiles ? ["openat2", "proc_cwd", "proc_root", "proc_pid_cwd"] : ["openat2"]
        for (key, value) in control.values.sorted(by: { $0.key < $1.key }) where !mayFail.contains(key) {
            #expect(value.string == "ok", "CONTROL FAILED: \(key) on public/: \(value)\n\(control)")
        }
        #expect(control.values["openat2"]?.string == "ok" || control.values["openat2"]?.string == "ENOSYS", "\(control)")
        #expect(control.values.count == 19, "\(control)")

        let run = try Mediation.runPython(t, Self.bypassScript, profile: profile, name: "secrets", args: ["secrets"])
        #expect(run.result.status == 0, "\(run)")
        for (key, value) in run.values.sorted(by: { $0.key < $1.key }) where key != "after_rename" {
            #expect(value.string != "ok", "BYPASS (exact_files: \(exactFiles)): \(key) wrote under secrets/\n\(run)")
        }
        #expect(run.values.count == 19, "\(run)")
        #expect(t.read("secrets/existing.txt") == "orig", "secrets/existing.txt was changed: \(t.read("secrets/existing.txt") ?? "gone")")
        #expect(Host.stat(t.path("secrets/existing.txt")).map { $0.st_mode & 0o7777 } == 0o644, "secrets/existing.txt changed mode")
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: t.path("secrets"))) ?? []).sorted()
        #expect(left == ["existing.txt"], "files appeared under secrets/: \(left)")
        #expect(!t.exists("moved-secrets") && !t.exists("hl-secrets"), "\(run)")
        for d in run.syscallRecords.filter({ $0["decision"].string == "deny" }) {
            expectDenied(d, rule: "no-secrets", errno: "EPERM")
        }
    }

    // MARK: unreadable memory

    @Test("mediated calls with unreadable pointer arguments are refused and recorded; the supervisor carries on")
    func unreadableArguments() throws {
        let t = try TestDir("medp")
        let profile = try Mediation.profile(t, "record: \(Mediation.allGroups)")
        let control = t.probeOnHost(["med-badptr"], control: false)
        #expect(control.status == 1 && control.stdout.components(separatedBy: "errno=EFAULT").count == 5, "CONTROL: the kernel says EFAULT\n\(control)")

        let run = Mediation.run(t, [t.probe, "med-badptr"], profile: profile)
        expectBlocked(run.result, "calls with unreadable arguments")
        for call in ["openat-bad", "openat-unterminated", "execve-badargv", "connect-bad"] {
            #expect(run.result.stdout.contains("\(call) errno="), "\(run)")
        }
        let mine = run.syscallRecords.filter { $0["actor"]["exe"].string == t.probe }
        for kind in ["syscall.openat", "syscall.execve", "syscall.connect"] {
            let recs = mine.filter { $0["kind"].string == kind }
            #expect(!recs.isEmpty, "no \(kind) record\n\(run)")
            for r in recs {
                #expect(r["decision"].string == "deny" && r["rule"].string == "mediation.unreadable", "\(r)")
            }
        }
        #expect(mine.filter { $0["kind"].string == "syscall.openat" }.count == 2, "\(run)")
        #expect(Mediation.verify(run).status == 0)
        // The next run is fine.
        let after = Mediation.run(t, ["sh", "-c", "echo ok > after.txt"], profile: profile, name: "after")
        #expect(after.result.status == 0 && t.read("after.txt") == "ok\n", "\(after)")
    }

    // MARK: races

    func raceProfile(_ t: TestDir, exactFiles: Bool) throws -> String {
        try Mediation.profile(t, """
            record: [file-write, denied]
            exact_files: \(exactFiles)
            deny_write:
              - id: race-deny
                paths: ["\(t.path("race/fileB"))"]
            """)
    }

    @Test("with exact_files, a thread flipping openat's path between an allowed and a denied name never opens the denied file")
    func raceOpenExact() throws {
        let t = try TestDir("medr")
        try FileManager.default.createDirectory(atPath: t.path("race"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: t.path("ctl"), withIntermediateDirectories: true)
        // Control: on the host the flip reaches the denied name.
        let control = t.probeOnHost(["med-race-open", "ctl/fileA", "ctl/fileB", "3000"], control: false)
        expectControlSucceeds(control, "racing openat on the host opens fileB")

        let run = Mediation.run(t, [t.probe, "med-race-open", "race/fileA", "race/fileB", "3000"],
                                profile: try raceProfile(t, exactFiles: true), timeout: 120)
        expectBlocked(run.result, "racing openat onto a deny_write path with exact_files")
        #expect(!t.exists("race/fileB"), "ESCAPE: the denied file was created\n\(run)")
        let counts = probeCounts(run.result, line: "opens=")
        #expect(counts["denied_opened"] == 0, "\(run)")
        #expect(counts["foreign"] == 0, "every injected fd is fileA as the agent sees it: \(run)")
        #expect((counts["allowed"] ?? 0) > 0 && (counts["refused"] ?? 0) > 0, "both names were tried: \(run)")

        let allowA = run.syscalls("openat", path: t.path("race/fileA"))
        let recB = run.syscalls("openat", path: t.path("race/fileB"))
        #expect(allowA.count == counts["allowed"], "one allow record per open of fileA\n\(run)")
        #expect(recB.count == counts["refused"], "one denial per refused open\n\(run)")
        #expect(allowA.allSatisfy { $0["decision"].string == "allow" && $0["exact"].bool == true && $0["via"].string == "supervisor" },
                "every open of fileA was performed by the supervisor: \(allowA.first { $0["via"].string != "supervisor" || $0["exact"].bool != true } ?? JV(nil))")
        #expect(recB.allSatisfy { $0["decision"].string == "deny" && $0["rule"].string == "race-deny" && $0["errno"].string == "EPERM" },
                "\(recB.first { $0["decision"].string != "deny" } ?? JV(nil))")
        #expect(run.syscalls("openat").count == allowA.count + recB.count, "no record names another path: \(run)")
    }

    @Test("without exact_files, an open allowed from the racy path buffer is never claimed exact")
    func raceOpenInexact() throws {
        let t = try TestDir("medr")
        try FileManager.default.createDirectory(atPath: t.path("race"), withIntermediateDirectories: true)
        let run = Mediation.run(t, [t.probe, "med-race-open", "race/fileA", "race/fileB", "3000"],
                                profile: try raceProfile(t, exactFiles: false), timeout: 120)
        // The probe may or may not win the race here; the records must not lie either way.
        #expect([0, 1].contains(run.result.status), "\(run)")
        let opens = run.syscalls("openat").filter { $0["path"].string?.hasPrefix(t.path("race/")) == true }
        let allowed = opens.filter { $0["decision"].string == "allow" }
        #expect(!allowed.isEmpty, "\(run)")
        #expect(allowed.allSatisfy { $0["exact"].bool == false && !$0["via"].exists },
                "an allow made from racy memory claims exactness: \(allowed.first { $0["exact"].bool != false } ?? JV(nil))")
        #expect(opens.filter { $0["decision"].string == "deny" }.allSatisfy { $0["rule"].string == "race-deny" && $0["exact"].bool == true })
        let counts = probeCounts(run.result, line: "opens=")
        #expect(opens.count == (counts["opens"] ?? -1) + (counts["refused"] ?? -1), "one record per call\n\(run)")
        print("raceOpenInexact: \(counts) (denied_opened > 0 means the unexact allow was exploited, as documented)")
    }

    @Test("a thread flipping execve's path between /usr/bin/od and a denied /usr/bin/id never runs id (Landlock backs the decision)")
    func raceExecSystemProgram() throws {
        let t = try TestDir("medr")
        // Control: on the host the flip runs id some of the time.
        let control = t.probeOnHost(["med-race-exec", "/usr/bin/od", "/usr/bin/id", "100"], control: false)
        #expect(control.status == 1 && control.stdout.contains("uid="), "CONTROL FAILED: the race never ran id on the host\n\(control)")

        let profile = try Mediation.profile(t, """
            record: [exec, denied]
            deny_exec:
              - id: no-id
                paths: [/usr/bin/id]
            """)
        let run = Mediation.run(t, [t.probe, "med-race-exec", "/usr/bin/od", "/usr/bin/id", "300"], profile: profile, timeout: 120)
        #expect(run.result.status == 1, "\(run)")
        #expect(!run.result.stdout.contains("uid="), "ESCAPE: the denied program ran\n\(run)")
        let counts = probeCounts(run.result, line: "execs=")
        #expect((counts["ran"] ?? 0) > 0, "od never ran: \(run)")
        #expect((counts["eperm"] ?? 0) + (counts["eacces"] ?? 0) > 0, "id was never tried: \(run)")
        #expect(counts["other"] == 0, "\(run)")
        let execs = run.syscalls("execve").filter { ["/usr/bin/od", "/usr/bin/id"].contains($0["path"].string ?? "") }
        let allowed = execs.filter { $0["decision"].string == "allow" }
        let denied = execs.filter { $0["decision"].string == "deny" }
        #expect(allowed.allSatisfy { $0["path"].string == "/usr/bin/od" && $0["exact"].bool == false }, "\(allowed.first ?? JV(nil))")
        #expect(denied.allSatisfy { $0["path"].string == "/usr/bin/id" && $0["rule"].string == "no-id" && $0["errno"].string == "EPERM" },
                "\(denied.first ?? JV(nil))")
        #expect(denied.count == counts["eperm"], "one denial per EPERM: \(counts), \(denied.count) denials")
        #expect(allowed.count == (counts["ran"] ?? 0) + (counts["eacces"] ?? 0),
                "allowed execs either ran od or were stopped by Landlock: \(counts), \(allowed.count) allows")
        print("raceExecSystemProgram: \(counts)")
    }

    @Test("a thread flipping execve's path between a sh script and a script whose #! names a denied perl never runs perl")
    func raceExecDeniedInterpreter() throws {
        let t = try TestDir("medr")
        try Mediation.writeMarkerScript(t, "bin/scrA", marker: t.path("RAN-A"))
        try t.write("bin/scrB", "#!/usr/bin/perl\nopen(my $f, '>>', '\(t.path("RAN-B"))'); print $f \"ran\\n\";\n", mode: 0o755)
        let control = t.probeOnHost(["med-race-exec", t.path("bin/scrA"), t.path("bin/scrB"), "100"], control: false)
        #expect(control.status == 1 && t.exists("RAN-B") && t.exists("RAN-A"), "CONTROL FAILED: the race never ran perl on the host\n\(control)")
        unlink(t.path("RAN-A"))
        unlink(t.path("RAN-B"))

        let profile = try Mediation.profile(t, """
            record: [exec, denied]
            deny_exec:
              - id: no-perl
                paths: [/usr/bin/perl]
            """)
        let run = Mediation.run(t, [t.probe, "med-race-exec", t.path("bin/scrA"), t.path("bin/scrB"), "300"], profile: profile,
                                timeout: 120)
        #expect(run.result.status == 1, "\(run)")
        #expect(!t.exists("RAN-B"), "ESCAPE: perl ran as the interpreter of a racing exec\n\(run)")
        let counts = probeCounts(run.result, line: "execs=")
        #expect((counts["ran"] ?? 0) > 0 && (counts["eperm"] ?? 0) + (counts["eacces"] ?? 0) > 0, "\(run)")
        let denied = run.syscalls("execve").filter { $0["decision"].string == "deny" }
        #expect(denied.allSatisfy { $0["path"].string == t.path("bin/scrB") && $0["rule"].string == "no-perl" }, "\(denied.first ?? JV(nil))")
        #expect(denied.allSatisfy { $0["interpreter"].string == "/usr/bin/perl" }, "the #! interpreter is named: \(denied.first ?? JV(nil))")
        print("raceExecDeniedInterpreter: \(counts)")
    }

    @Test("a thread flipping execve's path between two workspace scripts, one denied (best-effort there): nothing claimed exact, every run of the denied one is in the log")
    func raceExecWorkspaceProgram() throws {
        let t = try TestDir("medr")
        try Mediation.writeMarkerScript(t, "bin/progA", marker: t.path("RAN-A"))
        try Mediation.writeMarkerScript(t, "bin/progB", marker: t.path("RAN-B"))
        // Control: on the host both programs run.
        let control = t.probeOnHost(["med-race-exec", t.path("bin/progA"), t.path("bin/progB"), "100"], control: false)
        #expect(control.status == 1 && t.exists("RAN-B") && t.exists("RAN-A"), "CONTROL FAILED: the race never ran progB on the host\n\(control)")
        unlink(t.path("RAN-A"))
        unlink(t.path("RAN-B"))

        let profile = try Mediation.profile(t, """
            record: [exec, denied]
            deny_exec:
              - id: no-progB
                paths: ["\(t.path("bin/progB"))"]
            """)
        let run = Mediation.run(t, [t.probe, "med-race-exec", t.path("bin/progA"), t.path("bin/progB"), "300"], profile: profile,
                                timeout: 120)
        #expect(run.result.status == 1, "\(run)")
        let counts = probeCounts(run.result, line: "execs=")
        #expect((counts["ran"] ?? 0) > 0, "progA never ran: \(run)")
        #expect((counts["eperm"] ?? 0) + (counts["eacces"] ?? 0) > 0, "progB was never tried: \(run)")
        #expect(counts["other"] == 0, "\(run)")
        let execs = run.syscalls("execve").filter { $0["path"].string?.hasPrefix(t.path("bin/prog")) == true }
        let allowA = execs.filter { $0["decision"].string == "allow" }
        let denyB = execs.filter { $0["decision"].string == "deny" }
        // The records never lie: an allow was read from racy memory.
        #expect(allowA.allSatisfy { $0["path"].string == t.path("bin/progA") && $0["exact"].bool == false }, "\(allowA.first ?? JV(nil))")
        #expect(denyB.allSatisfy { $0["path"].string == t.path("bin/progB") && $0["rule"].string == "no-progB" && $0["errno"].string == "EPERM" },
                "\(denyB.first ?? JV(nil))")
        #expect(denyB.count == counts["eperm"], "one denial per EPERM: \(counts), \(denyB.count) denials")
        #expect(allowA.count == (counts["ran"] ?? 0) + (counts["eacces"] ?? 0), "\(counts), \(allowA.count) allows")
        // Landlock backs deny_exec only on read-only mounts (ExecDenial.swift): a program in the
        // writable workspace can be copied and run without any race, so its rule is best-effort,
        // and what the race lets through is recorded as an allow that says exact: false (above).
        // Every run of the denied program must show up as such an allow: none is unrecorded.
        let ranB = (t.read("RAN-B") ?? "").split(separator: "\n").count
        let inexactAllows = execs.filter { $0["decision"].string == "allow" && $0["exact"].bool == false }.count
        #expect(ranB <= inexactAllows, "a run of the denied program is missing from the log: ran \(ranB), inexact allows \(inexactAllows)")
    }

    // MARK: exact_files as a confused deputy

    static let deputyScript = """
        import errno as E
        tag = sys.argv[1]
        def attempt(name, fn):
            try:
                fn()
                out(**{name: "ok"})
            except OSError as e:
                out(**{name: E.errorcode.get(e.errno, str(e.errno))})
        def write(path, mode="w"):
            with open(path, mode) as f:
                f.write("deputy")
        def tmp_roundtrip():
            write("/tmp/medtest-" + tag)
            assert open("/tmp/medtest-" + tag).read() == "deputy"
        def procfd():
            fd = os.open("owned.txt", os.O_RDONLY)
            write("/proc/self/fd/%d" % fd, "a")
        attempt("tmp", tmp_roundtrip)
        attempt("symlink_tmp", lambda: write("esc-" + tag))
        attempt("dotdot", lambda: write("../escape-" + tag + ".txt"))
        attempt("foreign_owner", lambda: write("owned.txt", "a"))
        attempt("procfd", procfd)
        attempt("usr", lambda: write("/usr/bin/medtest-" + tag))
        attempt("git_hooks", lambda: write(".git/hooks/pre-commit"))
        attempt("dev_null", lambda: write("/dev/null"))
        """

    @Test("exact_files: the supervisor's opens land where the agent's would (private /tmp, tmpfs parents), never on the host, never with more rights")
    func exactFilesDeputy() throws {
        let t = try TestDir("medd")
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        // A file of another host user, writable only by its owner; a symlink to /tmp; a .git.
        try t.write("owned.txt", "orig", mode: 0o644)
        chown(t.path("owned.txt"), 12345, 12345)
        for mode in ["exact", "plain"] {
            try FileManager.default.createSymbolicLink(atPath: t.path("esc-\(mode)\(tag)"), withDestinationPath: "/tmp/medtest-esc-\(mode)\(tag)")
        }
        try FileManager.default.createDirectory(atPath: t.path(".git/hooks"), withIntermediateDirectories: true)

        var outcomes: [String: [String: String]] = [:]
        for (mode, exact) in [("plain", false), ("exact", true)] {
            let profile = try Mediation.profile(t, "record: [file-write]\nexact_files: \(exact)")
            let run = try Mediation.runPython(t, Self.deputyScript, profile: profile, name: mode, args: [mode + tag])
            #expect(run.result.status == 0, "\(run)")
            outcomes[mode] = run.values.compactMapValues(\.string)
            // Nothing reached the host.
            for host in ["/tmp/medtest-\(mode)\(tag)", "/tmp/medtest-esc-\(mode)\(tag)", t.root + "/escape-\(mode)\(tag).txt",
                         "/usr/bin/medtest-\(mode)\(tag)", t.path(".git/hooks/pre-commit")] {
                #expect(!FileManager.default.fileExists(atPath: host), "ESCAPE (\(mode)): \(host) was created on the host\n\(run)")
                unlink(host)
            }
            #expect(t.read("owned.txt") == "orig", "ESCAPE (\(mode)): a file of another user was written\n\(run)")
            if exact {
                let opens = run.syscalls("openat").filter { $0["decision"].string == "allow" && flagSet($0).contains("O_WRONLY") }
                #expect(!opens.isEmpty, "\(run)")
                let tmp = opens.filter { $0["path"].string == "/tmp/medtest-\(mode)\(tag)" }
                #expect(tmp.count == 1 && tmp.first?["via"].string == "supervisor" && tmp.first?["exact"].bool == true, "\(run)")
            }
        }
        let plain = outcomes["plain"] ?? [:], exact = outcomes["exact"] ?? [:]
        // Controls: the agent itself can write its /tmp, a symlink into it, its tmpfs parents and /dev/null.
        for key in ["tmp", "symlink_tmp", "dotdot", "dev_null"] {
            #expect(plain[key] == "ok", "CONTROL FAILED: \(key) without exact_files: \(plain)")
        }
        for key in ["foreign_owner", "procfd", "usr", "git_hooks"] {
            #expect(plain[key] != nil && plain[key] != "ok", "the agent itself could do \(key): \(plain)")
        }
        // The supervisor does exactly what the agent could, no more, no less.
        for key in plain.keys.sorted() {
            #expect((exact[key] == "ok") == (plain[key] == "ok"), "\(key): \(exact[key] ?? "-") with exact_files, \(plain[key] ?? "-") without")
        }
        print("exactFilesDeputy: plain \(plain.sorted { $0.key < $1.key }) exact \(exact.sorted { $0.key < $1.key })")
    }

    static let fidelityScript = """
        import ctypes, errno as E, fcntl, stat
        def attempt(name, fn):
            try:
                out(**{name: fn()})
            except OSError as e:
                out(**{name: E.errorcode.get(e.errno, str(e.errno))})
        def umask_mode():
            old = os.umask(0o027)
            os.close(os.open("m.txt", os.O_WRONLY | os.O_CREAT, 0o666))
            os.umask(old)
            st = os.stat("m.txt")
            return "%o uid=%d gid=%d" % (stat.S_IMODE(st.st_mode), st.st_uid - os.getuid(), st.st_gid - os.getgid())
        def excl():
            os.close(os.open("m.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            return "created"
        def nofollow():
            os.symlink("m.txt", "m.link")
            os.close(os.open("m.link", os.O_WRONLY | os.O_NOFOLLOW))
            return "opened"
        def append():
            for part in ("a", "b"):
                fd = os.open("app.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                fl = fcntl.fcntl(fd, fcntl.F_GETFL)
                os.write(fd, part.encode())
                os.close(fd)
            return "%s append=%d" % (open("app.txt").read(), 1 if fl & os.O_APPEND else 0)
        def cloexec():
            a = os.open("c1.txt", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            b = ctypes.CDLL(None).open(b"c2.txt", os.O_WRONLY | os.O_CREAT, 0o644)  # os.open always adds O_CLOEXEC
            r = "%d %d" % (fcntl.fcntl(a, fcntl.F_GETFD) & 1, fcntl.fcntl(b, fcntl.F_GETFD) & 1)
            os.close(a); os.close(b)
            return r
        def lowest_fd():
            a = os.open("/dev/null", os.O_RDONLY)
            b = os.open("/dev/null", os.O_RDONLY)
            os.close(a)
            c = os.open("fd.txt", os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(b); os.close(c)
            return "reused" if c == a else "%d vs %d" % (c, a)
        def trunc():
            with open("t.txt", "w") as f: f.write("long content")
            os.close(os.open("t.txt", os.O_WRONLY | os.O_TRUNC))
            return "size=%d" % os.path.getsize("t.txt")
        def rdwr_read():
            with open("t.txt", "w") as f: f.write("readable")
            fd = os.open("t.txt", os.O_RDWR)
            data = os.read(fd, 100).decode()
            os.close(fd)
            return data
        def directory():
            os.mkdir("dd")
            os.close(os.open("dd", os.O_WRONLY))
            return "opened"
        def missing_parent():
            os.close(os.open("nodir/x", os.O_WRONLY | os.O_CREAT, 0o644))
            return "opened"
        def tmpfile():
            fd = os.open(".", os.O_WRONLY | os.O_TMPFILE, 0o600)
            os.write(fd, b"x")
            os.close(fd)
            return "ok"
        def dev_full():
            fd = os.open("/dev/full", os.O_WRONLY)
            try:
                os.write(fd, b"x")
                return "wrote"
            finally:
                os.close(fd)
        def dirfd_rel():
            d = os.open("dd", os.O_RDONLY | os.O_DIRECTORY)
            os.close(os.open("in-dd.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=d))
            os.close(d)
            return "exists=%d" % os.path.exists("dd/in-dd.txt")
        for name, fn in [("umask_mode", umask_mode), ("excl", excl), ("nofollow", nofollow), ("append", append),
                         ("cloexec", cloexec), ("lowest_fd", lowest_fd), ("trunc", trunc), ("rdwr_read", rdwr_read),
                         ("directory", directory), ("missing_parent", missing_parent), ("tmpfile", tmpfile),
                         ("dev_full", dev_full), ("dirfd_rel", dirfd_rel)]:
            attempt(name, fn)
        """

    @Test("exact_files: an open the supervisor performs behaves like the agent's own (umask, owner, O_EXCL, O_NOFOLLOW, O_APPEND, O_CLOEXEC, lowest fd, errors)")
    func exactFilesFidelity() throws {
        var outcomes: [String: [String: String]] = [:]
        for (mode, exact) in [("plain", false), ("exact", true)] {
            let t = try TestDir("medq")
            let profile = try Mediation.profile(t, "record: [file-write]\nexact_files: \(exact)")
            let run = try Mediation.runPython(t, Self.fidelityScript, profile: profile, name: mode)
            #expect(run.result.status == 0, "\(run)")
            outcomes[mode] = run.values.compactMapValues(\.string)
            #expect(outcomes[mode]?.count == 13, "\(run)")
            if exact {
                let viaSupervisor = run.syscalls("openat").filter { $0["via"].string == "supervisor" }
                #expect(!viaSupervisor.isEmpty, "no open was performed by the supervisor: \(run)")
            }
        }
        let plain = outcomes["plain"] ?? [:], exact = outcomes["exact"] ?? [:]
        #expect(plain["umask_mode"] == "640 uid=0 gid=0" && plain["append"] == "ab append=1" && plain["cloexec"] == "1 0"
                && plain["lowest_fd"] == "reused", "CONTROL: \(plain)")
        for key in plain.keys.sorted() {
            #expect(exact[key] == plain[key], "\(key): \(exact[key] ?? "-") with exact_files, \(plain[key] ?? "-") without")
        }
        print("exactFilesFidelity: \(plain.sorted { $0.key < $1.key })")
    }

    // MARK: flood

    @Test("200k mediated calls from 4 threads: every call recorded, the log verifies, memory stays bounded, the next run is fine")
    func flood() throws {
        let t = try TestDir("medf")
        let profile = try Mediation.profile(t, "record: [file-write, denied]")
        let missing = t.path("flood-missing")
        let total = 200_000
        let dir = t.hostPath("flood")
        let start = Date()
        let child = try t.startSandbox([t.probe, "med-flood", "4", "\(total)", missing], profile: profile, options: ["--log", dir])
        var peakKiB = 0
        func sample() {
            guard let s = try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8) else { return }
            for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") || line.hasPrefix("VmRSS:") {
                let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
                peakKiB = max(peakKiB, kib)
            }
        }
        child.pump(timeout: 90) { c in
            sample()
            return c.exited
        }
        let r = child.finish(timeout: 5)
        let seconds = Date().timeIntervalSince(start)
        let run = MediatedRun(result: r, logDir: dir)
        #expect(r.status == 0, "\(r)")
        #expect(!r.timedOut, "the run hung\n\(r)")
        let calls = probeCounts(r, line: "calls=")["calls"]
        #expect(calls == total, "\(r)")
        // Count the records without parsing 200k JSON lines in the test.
        let counted = Harness.run(["awk", "index($0, \"\\\"kind\\\":\\\"syscall.unlink\\\"\") && index($0, \"flood-missing\") { n++ } END { print n + 0 }",
                                   run.log], timeout: 60)
        #expect(Int(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == calls, "records vs calls: \(counted.stdout) vs \(calls ?? -1)")
        let verify = Mediation.verify(run)
        #expect(verify.status == 0, "\(verify)")
        // agentrun (the supervisor) did not grow with the number of calls.
        #expect(peakKiB > 0, "could not read agentrun's memory")
        #expect(peakKiB < 256 * 1024, "agentrun peaked at \(peakKiB) KiB")
        print("flood: \(total) calls in \(String(format: "%.1f", seconds)) s, agentrun peak RSS \(peakKiB) KiB")
        #expect(seconds < 90, "the flood took \(seconds) s")

        // A normal command afterwards.
        let after = Mediation.run(t, ["sh", "-c", "echo ok > after.txt"], profile: profile, name: "after")
        #expect(after.result.status == 0 && t.read("after.txt") == "ok\n", "\(after)")
        #expect(after.syscalls("openat", path: t.path("after.txt")).count == 1, "\(after)")
    }

    @Test("a flooding process killed mid-flood (notifications pending) does not hang the run; the log verifies")
    func floodKilled() throws {
        let t = try TestDir("medf")
        let profile = try Mediation.profile(t, "record: [file-write, denied]")
        let script = "\"$0\" med-flood 4 100000000 flood-missing & sleep 1; kill -9 $!; wait; echo done"
        let start = Date()
        let run = Mediation.run(t, ["sh", "-c", script, t.probe], profile: profile, timeout: 60)
        let seconds = Date().timeIntervalSince(start)
        #expect(run.result.status == 0 && run.result.stdout.contains("done"), "\(run.result)")
        #expect(seconds < 20, "the run took \(seconds) s after the kill")
        let verify = Mediation.verify(run)
        #expect(verify.status == 0, "\(verify)")
        let after = Mediation.run(t, ["true"], profile: profile, name: "after")
        #expect(after.result.status == 0, "\(after)")
    }
}

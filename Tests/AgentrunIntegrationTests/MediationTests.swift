// Syscall mediation records (issue 5): real programs (Python, sh, the probe) run in the sandbox
// and the `syscall.*` records of their run are checked exactly — paths, flags, argv, environment
// keys, socket addresses, decisions, rule ids, errnos and the actor of each call.

import Foundation
import Glibc
import Testing

@Suite("Mediation records", .serialized, .needsSandbox, .timeLimit(.minutes(2)))
struct MediationTests {
    /// Records every group.
    func recordingProfile(_ t: TestDir, _ more: String = "") throws -> String {
        try Mediation.profile(t, "record: \(Mediation.allGroups)" + (more.isEmpty ? "" : "\n" + more))
    }

    @Test("a Python file write, mkdir, rename and unlink are recorded with resolved paths, flags and mode; reads are not")
    func fileWrites() throws {
        let t = try TestDir("med")
        try t.write("in.txt", "input")
        let run = try Mediation.runPython(t, """
            open("in.txt").read()
            f = open("out.txt", "w")
            f.write("hello")
            f.close()
            os.mkdir("d")
            os.rename("out.txt", "d/renamed.txt")
            os.unlink("d/renamed.txt")
            out(pid=os.getpid())
            """, profile: try recordingProfile(t))
        #expect(run.result.status == 0, "\(run)")
        let pid = try #require(run.values["pid"]?.int, "\(run)")

        // open("out.txt", "w"): openat(AT_FDCWD, "out.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666).
        let opens = run.syscalls("openat", "open", path: t.path("out.txt"))
        #expect(opens.count == 1, "one open of out.txt: \(run)")
        let open = try #require(opens.first)
        #expect(open["kind"].string == "syscall.openat", "\(open)")
        expectWellFormed(open, exe: Mediation.pythonExe)
        #expect(open["decision"].string == "allow", "\(open)")
        #expect(open["exact"].bool == false, "allowed after reading the path from the agent's memory: \(open)")
        #expect(open["rule"].exists == false, "\(open)")
        #expect(open["actor"]["inner_pid"].int == pid, "\(open)")
        #expect(open["args"]["dirfd"].string == "AT_FDCWD", "\(open)")
        #expect(open["args"]["pathname"].string == "out.txt", "args keep the pathname as called: \(open)")
        #expect(flagSet(open) == ["O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"], "\(open)")
        #expect(open["args"]["flags"].strings.first == "O_WRONLY", "the access mode comes first: \(open)")
        #expect(open["args"]["mode"].string == "0666", "\(open)")

        // Opening for reading is not a file write.
        #expect(run.syscalls("openat", "open", path: t.path("in.txt")).isEmpty, "a read-only open was recorded: \(run)")

        let mkdir = try #require(run.syscalls("mkdir", "mkdirat", path: t.path("d")).first, "no mkdir record: \(run)")
        expectWellFormed(mkdir, exe: Mediation.pythonExe)
        #expect(mkdir["decision"].string == "allow")
        #expect(mkdir["args"]["mode"].string == "0777", "\(mkdir)")

        let rename = try #require(run.syscalls("rename", "renameat", "renameat2").first, "no rename record: \(run)")
        expectWellFormed(rename, exe: Mediation.pythonExe)
        #expect(rename["decision"].string == "allow")
        // `path` is the resolved old path; args keep oldpath as called and newpath resolved.
        #expect(rename["path"].string == t.path("out.txt"), "\(rename)")
        #expect(rename["args"]["oldpath"].string == "out.txt", "\(rename)")
        #expect(rename["args"]["newpath"].string == t.path("d/renamed.txt"), "\(rename)")

        let unlink = try #require(run.syscalls("unlink", "unlinkat", path: t.path("d/renamed.txt")).first, "no unlink record: \(run)")
        expectWellFormed(unlink, exe: Mediation.pythonExe)
        #expect(unlink["decision"].string == "allow")
        #expect(unlink["exact"].bool == false, "\(unlink)")

        // In the order the calls were made.
        let seqs = [open, mkdir, rename, unlink].compactMap { $0["seq"].int }
        #expect(seqs.count == 4 && seqs == seqs.sorted(), "records out of order: \(seqs)")
        #expect(Mediation.verify(run).status == 0, "\(Mediation.verify(run))")
    }

    @Test("exec from sh is recorded with the resolved path, argv and environment keys but never values")
    func execRecord() throws {
        let t = try TestDir("med")
        let value = "abcxyz-never-logged"
        // The value is assembled at run time so it appears in no argv.
        let run = Mediation.run(t, ["sh", "-c", "V=abc; export MEDTEST_VAR=\"${V}xyz-never-logged\"; ls -d . >/dev/null; true"],
                                profile: try recordingProfile(t))
        #expect(run.result.status == 0, "\(run)")
        let execs = run.syscalls("execve", path: "/usr/bin/ls")
        #expect(execs.count == 1, "one exec of /usr/bin/ls: \(run)")
        let exec = try #require(execs.first)
        expectWellFormed(exec, exe: Mediation.shExe)
        #expect(exec["decision"].string == "allow", "\(exec)")
        #expect(exec["argv"].strings == ["ls", "-d", "."], "\(exec)")
        #expect(exec["args"]["pathname"].string == "/usr/bin/ls", "\(exec)")
        let keys = exec["env_keys"].strings
        #expect(keys.contains("MEDTEST_VAR") && keys.contains("PATH"), "\(exec)")
        #expect(keys == keys.sorted(), "env_keys are sorted: \(keys)")
        #expect(!keys.contains { $0.contains("=") }, "env_keys hold names only: \(keys)")
        #expect(!run.logText.contains(value), "an environment value reached the log")
    }

    @Test("an exec with a 5000-byte argument and 300 arguments is recorded truncated, with the full lengths noted")
    func truncation() throws {
        let t = try TestDir("med")
        let run = try Mediation.runPython(t, """
            import subprocess
            subprocess.run(["/usr/bin/true", "L" * 5000] + ["x%d" % i for i in range(300)], check=True)
            """, profile: try recordingProfile(t))
        #expect(run.result.status == 0, "\(run)")
        let exec = try #require(run.syscalls("execve", path: "/usr/bin/true").first, "\(run)")
        let argv = exec["argv"].strings
        #expect(argv.count <= 256 && argv.count >= 2, "at most 256 argv items: \(argv.count)")
        #expect(argv.first == "/usr/bin/true")
        #expect(argv.count > 1 && argv[1].utf8.count <= 4096 && argv[1].hasPrefix("LLLL"), "a long item is cut at 4096 bytes: \(argv.count > 1 ? argv[1].utf8.count : -1)")
        #expect(argv.reduce(0) { $0 + $1.utf8.count } <= 65536)
        let truncated = exec["truncated"]
        #expect(!truncated.keys.isEmpty, "the record notes what was cut: \(exec["truncated"])")
        #expect(truncated.keys.allSatisfy { $0.hasPrefix("argv") }, "\(truncated)")
        #expect(truncated.keys.compactMap { truncated[$0].int }.contains { $0 >= 5000 }, "full lengths are noted: \(truncated)")
    }

    @Test("connect, bind and sendto from Python are recorded with family, address and port; unix sockets with their path")
    func network() throws {
        let t = try TestDir("med")
        let port = Int.random(in: 20000...40000)
        let sockPath = t.path("u.sock")
        let run = try Mediation.runPython(t, """
            import socket
            port = int(sys.argv[1])
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", port))
            s.listen()
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.connect(("127.0.0.1", port))
            d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            d.sendto(b"x", ("127.0.0.1", port + 1))
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            u.bind(sys.argv[2])
            u.listen()
            v = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            v.connect(sys.argv[2])
            a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            a.bind("\\0medtest-abstract")
            out(s=s.fileno(), c=c.fileno(), d=d.fileno(), u=u.fileno(), v=v.fileno(), a=a.fileno())
            try:
                six = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                six.bind(("::1", port))
                out(six=six.fileno())
            except OSError as e:
                out(six_error=str(e))
            """, profile: try recordingProfile(t), args: ["\(port)", sockPath])
        #expect(run.result.status == 0, "\(run)")
        let v = run.values
        func one(_ kind: String, fd: Int?, sourceLocation: SourceLocation = #_sourceLocation) -> JV? {
            let rs = run.syscalls(kind).filter { $0["args"]["fd"].int == fd }
            #expect(rs.count == 1, "one \(kind) on fd \(fd ?? -1): \(run)", sourceLocation: sourceLocation)
            if let r = rs.first { expectWellFormed(r, exe: Mediation.pythonExe, sourceLocation: sourceLocation) }
            return rs.first
        }
        let bind = try #require(one("bind", fd: v["s"]?.int))
        #expect(bind["addr"].dict?.count == 3, "\(bind)")
        #expect(bind["addr"]["family"].string == "inet" && bind["addr"]["address"].string == "127.0.0.1"
                && bind["addr"]["port"].int == port, "\(bind)")
        #expect(bind["decision"].string == "allow")
        let connect = try #require(one("connect", fd: v["c"]?.int))
        #expect(connect["addr"]["family"].string == "inet" && connect["addr"]["address"].string == "127.0.0.1"
                && connect["addr"]["port"].int == port, "\(connect)")
        let sendto = try #require(one("sendto", fd: v["d"]?.int))
        #expect(sendto["addr"]["family"].string == "inet" && sendto["addr"]["address"].string == "127.0.0.1"
                && sendto["addr"]["port"].int == port + 1, "\(sendto)")
        let ubind = try #require(one("bind", fd: v["u"]?.int))
        #expect(ubind["addr"]["family"].string == "unix" && ubind["addr"]["address"].string == sockPath, "\(ubind)")
        #expect(ubind["addr"]["port"].exists == false, "\(ubind)")
        let uconnect = try #require(one("connect", fd: v["v"]?.int))
        #expect(uconnect["addr"]["family"].string == "unix" && uconnect["addr"]["address"].string == sockPath, "\(uconnect)")
        if let six = v["six"]?.int {
            let b6 = try #require(one("bind", fd: six))
            #expect(b6["addr"]["family"].string == "inet6" && b6["addr"]["address"].string == "::1" && b6["addr"]["port"].int == port, "\(b6)")
        } else {
            print("network: no IPv6 loopback in the sandbox (\(v["six_error"]?.string ?? "?")); inet6 not checked")
        }
        let abstract = try #require(one("bind", fd: v["a"]?.int))
        #expect(abstract["addr"]["family"].string == "unix" && abstract["addr"]["address"].string == "@medtest-abstract", "\(abstract)")
    }

    @Test("kill(1, SIGTERM) from the agent is recorded with its scalar arguments, exactly")
    func signals() throws {
        let t = try TestDir("med")
        let run = Mediation.run(t, [t.probe, "med-kill", "1", "\(SIGTERM)"], profile: try recordingProfile(t))
        let kills = run.syscalls("kill").filter { $0["args"]["pid"].int == 1 }
        #expect(kills.count == 1, "one kill(1, SIGTERM) record: \(run)")
        let kill = try #require(kills.first)
        expectWellFormed(kill, exe: t.probe)
        #expect(kill["args"]["sig"].string == "SIGTERM", "\(kill)")
        #expect(kill["exact"].bool == true, "only scalar arguments: \(kill)")
        if kill["decision"].string == "allow" {
            #expect(run.result.stdout.contains("kill=0") || run.result.stdout.contains("errno="), "\(run)")
        }
    }

    /// (probe command argument, kind, rule, args check)
    static let deniedCallTable: [(String, String, String)] = [
        ("ptrace", "syscall.ptrace", "seccomp.denied"),
        ("mount", "syscall.mount", "seccomp.denied"),
        ("unshare", "syscall.unshare", "seccomp.arguments"),
        ("bpf", "syscall.bpf", "seccomp.denied"),
        ("io_uring_setup", "syscall.io_uring_setup", "seccomp.denied"),
    ]

    @Test("ptrace, mount, unshare(CLONE_NEWUSER), bpf and io_uring_setup still fail with EPERM and are recorded as denials with the rule id")
    func deniedCalls() throws {
        let t = try TestDir("med")
        // Controls: on the host the harmless bpf and io_uring_setup calls reach the kernel.
        expectControlSucceeds(t.probeOnHost(["med-denied", "bpf"], control: false), "bpf(0, NULL, 0) on the host")
        expectControlSucceeds(t.probeOnHost(["med-denied", "io_uring_setup"], control: false), "io_uring_setup(1, NULL) on the host")
        let profile = try recordingProfile(t)
        for (call, kind, rule) in Self.deniedCallTable {
            let run = Mediation.run(t, [t.probe, "med-denied", call], profile: profile, name: "denied-\(call)")
            expectBlocked(run.result, call)
            #expect(probeErrno(run.result) == "EPERM", "\(call) should fail with EPERM\n\(run)")
            let recs = run.records.filter { $0["kind"].string == kind }
            #expect(recs.count == 1, "one \(kind) record\n\(run)")
            guard let r = recs.first else { continue }
            expectWellFormed(r, exe: t.probe)
            expectDenied(r, rule: rule, errno: "EPERM")
            let args = r["args"]
            switch call {
            case "ptrace":
                #expect(args["pid"].int == 1, "\(r)")
                #expect(args["request"].int == 16 || args["request"].string == "PTRACE_ATTACH", "\(r)")
            case "unshare":
                #expect(args["flags"].strings == ["CLONE_NEWUSER"], "\(r)")
            case "bpf":
                #expect(args["cmd"].int == 0, "BPF_MAP_CREATE: \(r)")
            case "io_uring_setup":
                #expect(args["entries"].int == 1, "\(r)")
            default:
                #expect(args.exists, "\(r)")
            }
        }
    }

    @Test("a grandchild (sh -c 'sh -c touch') is mediated with its own pid and executable; python and sh calls name their own exe")
    func grandchildren() throws {
        let t = try TestDir("med")
        let script = "echo outer=$$; sh -c 'echo inner=$$; touch x; true'; python3 -c 'open(\"y\", \"w\")'; true"
        let run = Mediation.run(t, ["sh", "-c", script], profile: try recordingProfile(t))
        #expect(run.result.status == 0, "\(run)")
        let lines = run.result.stdout.split(separator: "\n")
        let outer = try #require(lines.first { $0.hasPrefix("outer=") }.flatMap { Int($0.dropFirst(6)) }, "\(run)")
        let inner = try #require(lines.first { $0.hasPrefix("inner=") }.flatMap { Int($0.dropFirst(6)) }, "\(run)")

        // The inner sh was started by the outer one.
        let innerExec = try #require(run.syscalls("execve").first { $0["argv"].strings.first == "sh" && $0["actor"]["inner_pid"].int == inner },
                                     "no exec record of the inner sh: \(run)")
        expectWellFormed(innerExec, exe: Mediation.shExe)
        // touch, forked by the inner sh: its exec (by dash) and its open (by touch) share its own pid.
        let touchExec = try #require(run.syscalls("execve", path: "/usr/bin/touch").first, "no exec record of touch: \(run)")
        expectWellFormed(touchExec, exe: Mediation.shExe)
        #expect(touchExec["argv"].strings == ["touch", "x"], "\(touchExec)")
        let touchPID = try #require(touchExec["actor"]["inner_pid"].int)
        #expect(touchPID != inner && touchPID != outer, "touch runs in its own process: \(touchExec)")
        let open = try #require(run.syscalls("openat", "open", path: t.path("x")).first, "no open record of x: \(run)")
        expectWellFormed(open, exe: "/usr/bin/touch")
        #expect(open["actor"]["inner_pid"].int == touchPID, "\(open)")
        #expect(open["actor"]["pid"].int == touchExec["actor"]["pid"].int, "same host pid before and after exec: \(open) \(touchExec)")
        #expect(flagSet(open).isSuperset(of: ["O_WRONLY", "O_CREAT"]), "\(open)")

        // python, a child of the outer sh.
        let pyOpen = try #require(run.syscalls("openat", "open", path: t.path("y")).first, "no open record of y: \(run)")
        expectWellFormed(pyOpen, exe: Mediation.pythonExe)
        #expect(pyOpen["actor"]["inner_pid"].int != outer, "\(pyOpen)")
    }

    @Test("threads are mediated one by one: each record names its own thread")
    func threads() throws {
        let t = try TestDir("med")
        let run = Mediation.run(t, [t.probe, "med-flood", "4", "400", "thread-missing"], profile: try recordingProfile(t))
        #expect(run.result.status == 0 && run.result.stdout.contains("calls=400"), "\(run)")
        let recs = run.syscalls("unlink", path: t.path("thread-missing"))
        #expect(recs.count == 400, "\(run)")
        let tids = Set(recs.compactMap { $0["actor"]["pid"].int })
        #expect(tids.count == 4, "four threads, four host tids: \(tids.sorted())")
        for r in recs.prefix(3) {
            expectWellFormed(r, exe: t.probe)
            #expect(r["decision"].string == "allow" && r["exact"].bool == false && r["args"]["pathname"].string == "thread-missing", "\(r)")
        }
    }

    @Test("record_all records a tiny program's getpid and write calls")
    func recordAll() throws {
        let t = try TestDir("med")
        let profile = try Mediation.profile(t, "record: []\nrecord_all: true")
        let run = Mediation.run(t, [t.probe, "med-tiny"], profile: profile)
        #expect(run.result.status == 0, "\(run)")
        #expect(run.result.stdout.contains("tiny"), "\(run)")
        let pid = try #require(run.result.stdout.split(separator: "\n").first { $0.hasPrefix("pid=") }.flatMap { Int($0.dropFirst(4)) })
        let mine = run.syscallRecords.filter { $0["actor"]["inner_pid"].int == pid && $0["actor"]["exe"].string == t.probe }
        let getpid = mine.filter { $0["kind"].string == "syscall.getpid" }
        #expect(getpid.count >= 1, "no getpid record: \(run)")
        if let g = getpid.last {
            expectWellFormed(g, exe: t.probe)
            #expect(g["decision"].string == "allow" && g["exact"].bool == true, "\(g)")
        }
        let writes = mine.filter { $0["kind"].string == "syscall.write" }
        #expect(writes.count >= 2, "the two writes to stdout: \(run)")
        // Other calls too: record_all is every syscall (execve of the probe at least, and exit_group).
        #expect(Set(mine.compactMap { $0["kind"].string }).count >= 3, "\(run)")
        #expect(Mediation.verify(run).status == 0)
    }

    @Test("an empty mediate section records no syscalls; the built-in default does")
    func noMediation() throws {
        let t = try TestDir("med")
        let profile = try Mediation.profile(t, "record: []\nrecord_all: false\nexact_files: false\ndeny_exec: []\ndeny_write: []")
        let command = ["sh", "-c", "echo hi > f.txt; mkdir d; ls >/dev/null; true"]
        let quiet = Mediation.run(t, command, profile: profile, name: "quiet")
        #expect(quiet.result.status == 0, "\(quiet)")
        #expect(quiet.syscallRecords.isEmpty, "records without mediation: \(quiet)")
        #expect(quiet.records.contains { $0["kind"].string == "process.exec" }, "the log itself is written: \(quiet)")

        // Control: the built-in default records exec, file-write, network, denied, signals.
        try? FileManager.default.removeItem(atPath: t.path("f.txt"))
        try? FileManager.default.removeItem(atPath: t.path("d"))
        let loud = Mediation.run(t, command, profile: nil, name: "loud")
        #expect(loud.result.status == 0, "\(loud)")
        #expect(!loud.syscalls("openat", "open", path: t.path("f.txt")).isEmpty, "default records file writes: \(loud)")
        #expect(!loud.syscalls("mkdir", "mkdirat", path: t.path("d")).isEmpty, "default records mkdir: \(loud)")
        #expect(!loud.syscalls("execve", path: "/usr/bin/ls").isEmpty, "default records exec: \(loud)")
    }
}

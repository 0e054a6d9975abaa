// Filesystem attacks: writes outside the workspace, host secrets and host directories, /proc
// magic links, /proc/<pid>/exe (runc CVE-2019-5736), and the exec policy of `ci-untrusted`.
// The protected .git paths are in GitProtectionAttacks.swift.

import Foundation
import Glibc
import Testing

@Suite("Filesystem attacks", .needsSandbox, .timeLimit(.minutes(1)))
struct FilesystemAttacks {
    @Test("writing a host directory outside the workspace is refused")
    func writeOutsideWorkspace() throws {
        let t = try TestDir("fs")
        let target = t.hostPath("pwned")
        // Control: the probe writes the same host path when not sandboxed (our own directory).
        expectControlSucceeds(t.probeOnHost(["write", target]), "writing \(target)")
        try FileManager.default.removeItem(atPath: target)

        expectBlocked(t.probeIn(["write", target]), "writing \(target)")
        #expect(!t.exists(target), "the sandbox created \(target) on the host")
    }

    @Test("creating files in read-only system directories is refused")
    func writeSystemDirectories() throws {
        let t = try TestDir("fs")
        let name = "agentrun-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        for dir in ["/usr/local", "/usr/lib", "/opt"] where t.exists(dir) {
            let target = "\(dir)/\(name)"
            // Control: root on the host may create (and we delete) the file.
            if controlNeedsRoot() {
                expectControlSucceeds(t.probeOnHost(["write", target]), "creating \(target)")
                unlink(target)
            }
            expectBlocked(t.probeIn(["write", target]), "creating \(target)")
            #expect(!t.exists(target), "the sandbox created \(target) on the host")
            unlink(target)
        }
    }

    @Test("existing system files cannot be opened for writing")
    func openSystemFilesForWriting() throws {
        let t = try TestDir("fs")
        // Opening is the escape: the probe opens O_WRONLY without O_TRUNC and writes nothing.
        let targets = ["/etc/ld.so.cache", "/usr/bin/env", "/etc/os-release", "/etc/passwd"]
        if controlNeedsRoot() {
            expectControlSucceeds(t.probeOnHost(["open-write", "/etc/ld.so.cache"]), "opening /etc/ld.so.cache for writing")
        }
        for target in targets {
            expectBlocked(t.probeIn(["open-write", target]), "opening \(target) for writing")
        }
    }

    @Test("the host's /etc/shadow is not readable")
    func readShadow() throws {
        let t = try TestDir("fs")
        if controlNeedsRoot() {
            expectControlSucceeds(t.probeOnHost(["read", "/etc/shadow"]), "reading /etc/shadow")
        }
        expectBlocked(t.probeIn(["read", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh"]), "reading host secrets in /etc")
    }

    @Test("/etc/passwd lists no host accounts")
    func syntheticPasswd() throws {
        let t = try TestDir("fs")
        let hostUsers = (try String(contentsOfFile: "/etc/passwd", encoding: .utf8))
            .split(separator: "\n").compactMap { $0.split(separator: ":").first.map(String.init) }
            .filter { !["root", "agent", "nobody"].contains($0) }
        let user = try #require(hostUsers.first, "the host has no account besides root/agent/nobody")
        // Control: the host's /etc/passwd names the account.
        expectControlSucceeds(t.probeOnHost(["contains", "/etc/passwd", "\n\(user):"], control: false), "finding \(user) in /etc/passwd")
        expectBlocked(t.probeIn(["contains", "/etc/passwd", "\n\(user):"]), "finding the host account \(user) in /etc/passwd")
        let passwd = t.probeIn(["cat", "/etc/passwd"])
        for account in hostUsers {
            #expect(!passwd.stdout.contains("\n\(account):") && !passwd.stdout.hasPrefix("\(account):"),
                    "host account \(account) is listed in the sandbox's /etc/passwd")
        }
    }

    @Test("host directories (/root, /var, /run, /sys, /mnt, /srv, /boot, /home/*) are not visible")
    func hostDirectoriesHidden() throws {
        let t = try TestDir("fs")
        var targets = ["/root", "/var", "/sys", "/mnt", "/srv", "/boot"].filter { t.exists($0) }
        // The sandbox has a /run of its own (only the broker's /run/agentrun): the host's entries must not show.
        for entry in ((try? FileManager.default.contentsOfDirectory(atPath: "/run")) ?? []).sorted().prefix(8) where entry != "agentrun" {
            targets.append("/run/\(entry)")
        }
        for home in (try? FileManager.default.contentsOfDirectory(atPath: "/home")) ?? [] where home != "agent" {
            targets.append("/home/\(home)")
        }
        // Control: they exist on the host.
        expectControlSucceeds(t.probeOnHost(["exists"] + targets, control: false), "seeing host directories")
        expectBlocked(t.probeIn(["exists"] + targets), "seeing host directories")
    }

    @Test("the host's /tmp is not visible (the sandbox's /tmp is private)")
    func hostTmpHidden() throws {
        let t = try TestDir("fs")
        let marker = "/tmp/agentrun-it-marker-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try t.write(marker, "host")
        defer { unlink(marker) }
        expectControlSucceeds(t.probeOnHost(["exists", marker, t.hostPath(".")], control: false), "seeing the host's /tmp")
        expectBlocked(t.probeIn(["exists", marker, t.hostPath(".")]), "seeing the host's /tmp")
        // And what the agent writes to its /tmp stays there.
        let leak = "/tmp/agentrun-it-leak-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        _ = t.probeIn(["write", leak])
        #expect(!t.exists(leak), "a file the agent wrote to its /tmp appeared in the host's /tmp")
        unlink(leak)
    }

    @Test("/proc/<pid>/root and /proc/<pid>/cwd do not lead to host files")
    func procMagicLinks() throws {
        let t = try TestDir("fs")
        let secret = t.hostPath("secret")
        try t.write(secret, "host secret")
        // Control: through a host process's root link, root (same uid) reaches both files.
        let sleeper = try HostProcess([t.probe, "sleep", "30"])
        if controlNeedsRoot() {
            expectControlSucceeds(t.probeOnHost(["proc-root", "--pid", "\(sleeper.pid)", "/etc/shadow", secret]), "reaching host files via /proc/<pid>/root")
        }
        expectBlocked(t.probeIn(["proc-root", "/etc/shadow", secret]), "reaching host files via /proc magic links")
    }

    @Test("a system binary cannot be reopened for writing through /proc/<pid>/exe (runc CVE-2019-5736)")
    func procExeOfChild() throws {
        let t = try TestDir("fs")
        // Control: root on the host holds /proc/<child>/exe of /bin/sleep and may reopen it for
        // writing (nothing is written; ETXTBSY also proves the permission).
        if controlNeedsRoot() {
            expectControlSucceeds(t.probeOnHost(["exe-write-child", "/bin/sleep"]), "reopening /proc/<child>/exe for writing")
        }
        expectBlocked(t.probeIn(["exe-write-child", "/bin/sleep"]), "reopening /bin/sleep via /proc/<child>/exe for writing")
    }

    @Test("the sandbox init's binary cannot be reopened for writing through /proc/1/exe")
    func procExeOfInit() throws {
        let t = try TestDir("fs")
        // Control: a host process we own, as root on the host: write permission is granted
        // (ETXTBSY while it runs).
        let copy = t.hostPath("sleeper")
        try FileManager.default.copyItem(atPath: t.probe, toPath: copy)
        let sleeper = try HostProcess([copy, "sleep", "30"])
        _ = sleeper.waitForLine(prefix: "never", timeout: 0.2)
        expectControlSucceeds(t.probeOnHost(["exe-write-pid", "\(sleeper.pid)"]), "reopening /proc/<pid>/exe for writing")
        expectBlocked(t.probeIn(["exe-write-pid", "1"]), "reopening /proc/1/exe (agentrun's init) for writing")
    }

    @Test("the agent cannot plant a profile that a later run loads (profile search path inside the workspace)")
    func plantProfile() throws {
        // The firejail ~/.config/firejail escape: the profile search path lies inside the workspace
        // (here XDG_CONFIG_HOME=<workspace>/.config), so a `default.yaml` planted there would
        // replace the built-in default on the next run.
        let planted = "name: default\ndescription: planted by the agent\nextends: default\nnetwork: host\n"
        func listener(_ t: TestDir) throws -> (HostProcess, String) {
            let l = try HostProcess([t.probe, "listen-tcp", "127.0.0.1", "0"])
            return (l, try #require(l.waitForLine(prefix: "listening ")))
        }
        // Control: a default.yaml placed there by the host is loaded and opens the network.
        let c = try TestDir("fs")
        let (cl, cport) = try listener(c)
        try c.write(".config/agentrun/profiles/default.yaml", planted)
        expectControlSucceeds(c.probeIn(["connect-tcp", "127.0.0.1", cport], env: ["XDG_CONFIG_HOME": c.workspace + "/.config"]),
                              "a run loading $XDG_CONFIG_HOME/agentrun/profiles/default.yaml with network: host")
        _ = cl

        let t = try TestDir("fs")
        let (l, port) = try listener(t)
        let env = ["XDG_CONFIG_HOME": t.workspace + "/.config"]
        let dir = t.path(".config/agentrun/profiles")
        let plant = t.sandbox(["sh", "-c", "mkdir -p \"$1\" && cat > \"$1/default.yaml\"", "sh", dir], env: env,
                              stdin: .bytes(Array(planted.utf8)))
        #expect(plant.status != 0, "planting the profile should fail\n\(plant)")
        let next = t.probeIn(["connect-tcp", "127.0.0.1", port], env: env)
        #expect(next.status != 125, "the next run should start\n\(next)")
        expectBlocked(next, "a later run under a profile the agent planted (plant: status \(plant.status))")
        _ = l
    }

    @Test("a workspace that contains the caller's home directory is refused")
    func workspaceContainingHome() throws {
        let t = try TestDir("fs")
        // Control: the same workspace with HOME elsewhere starts.
        let ok = t.sandbox(["true"], env: ["HOME": "/nonexistent-home"])
        #expect(ok.status == 0, "\(ok)")
        let beneath = t.sandbox(["true"], env: ["HOME": t.workspace + "/me"])
        #expect(beneath.status == 125, "a home inside the workspace is refused too\n\(beneath)")
        let refused = t.sandbox(["true"], env: ["HOME": t.workspace])
        #expect(refused.status == 125, "\(refused)")
        #expect(refused.stderr.contains("home directory"), "\(refused)")
    }

    // MARK: exec policy of ci-untrusted (exec only from system directories)

    /// A profile extending ci-untrusted with the probe's directory (outside the workspace) read-only.
    private func ciUntrusted(_ t: TestDir) throws -> (probe: String, profile: String) {
        let bin = t.root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let probe = bin + "/agentrun-probe"
        try FileManager.default.copyItem(atPath: t.probe, toPath: probe)
        chmod(probe, 0o755)
        let profile = try t.profile("extends: ci-untrusted\nfilesystem:\n  read_only+: [\(bin)]\n")
        return (probe, profile)
    }

    @Test("ci-untrusted: executing an agent-written binary is refused", arguments: ["workspace", "/tmp", "/dev/shm", "/home/agent"])
    func execAgentWritten(_ location: String) throws {
        let t = try TestDir("exec")
        let (probe, profile) = try ciUntrusted(t)
        let dir = location == "workspace" ? t.workspace : location
        // Control: the default profile allows exec from the workspace and /tmp; elsewhere the host
        // shows the primitive works.
        if location == "workspace" || location == "/tmp" {
            expectControlSucceeds(t.probeIn(["exec-copy", dir]), "running a binary copied into \(location) (default profile)")
        } else {
            expectControlSucceeds(t.probeOnHost(["exec-copy", t.workspace]), "running a copied binary on the host")
        }
        expectBlocked(t.sandbox([probe, "exec-copy", dir], profile: profile), "running a binary the agent wrote into \(location)")
    }

    @Test("ci-untrusted: .github, .gitlab-ci.yml, .envrc, .git/modules and .git/worktrees are read-only")
    func ciUntrustedProtectedPaths() throws {
        let targets = [".github/workflows/pwn.yml", ".gitlab-ci.yml", ".envrc", ".git/modules/sub/hooks/pre-commit",
                       ".git/worktrees/wt/config"]
        for target in targets {
            // Control: the default profile does not protect these paths.
            let c = try TestDir("exec")
            _ = Harness.run(["git", "init", "-q", c.workspace])
            expectControlSucceeds(c.probeIn(["mkdir-write", c.path(target)]), "writing \(target) under the default profile")

            let t = try TestDir("exec")
            _ = Harness.run(["git", "init", "-q", t.workspace])
            let (probe, profile) = try ciUntrusted(t)
            expectBlocked(t.sandbox([probe, "mkdir-write", t.path(target)], profile: profile), "writing \(target) under ci-untrusted")
            #expect(!t.exists(target), "\(target) appeared on the host")
        }
    }

    @Test("hard-linking a system file into the workspace does not make it writable")
    func hardLinkSystemFile() throws {
        let t = try TestDir("fs")
        // Control: root on the host links /etc/ld.so.cache (same filesystem) and may open the
        // link for writing (nothing is written; the link is removed).
        if controlNeedsRoot() {
            expectControlSucceeds(t.probeOnHost(["hardlink-write", "/etc/ld.so.cache", t.path("cache-link")]), "hard-linking /etc/ld.so.cache as root")
            unlink(t.path("cache-link"))
        }
        for src in ["/etc/ld.so.cache", "/usr/bin/env", "/etc/passwd"] {
            expectBlocked(t.probeIn(["hardlink-write", src, t.path("link-\((src as NSString).lastPathComponent)")]), "hard-linking \(src) into the workspace")
        }
    }

    @Test("ci-untrusted: fileless exec from a memfd is refused")
    func execMemfd() throws {
        let t = try TestDir("exec")
        let (probe, profile) = try ciUntrusted(t)
        expectControlSucceeds(t.probeOnHost(["memfd-exec"]), "fexecve of a memfd on the host")
        expectBlocked(t.sandbox([probe, "memfd-exec"], profile: profile), "executing agent-written code from a memfd")
    }

    @Test("ci-untrusted: running an agent-written binary through the dynamic loader is refused")
    func execViaLoader() throws {
        let t = try TestDir("exec")
        let (probe, profile) = try ciUntrusted(t)
        // ld.so FILE needs exec permission on ld.so only; the file is mmapped PROT_EXEC, which
        // only a noexec mount refuses (Landlock does not check mmap).
        expectControlSucceeds(t.probeOnHost(["ldso-exec", t.workspace]), "ld.so FILE on the host")
        for dir in [t.workspace, "/tmp", "/dev/shm", "/home/agent"] {
            expectBlocked(t.sandbox([probe, "ldso-exec", dir], profile: profile), "ld.so running an agent-written binary in \(dir)")
        }
    }
}

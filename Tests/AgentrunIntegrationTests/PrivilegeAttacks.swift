// Privilege attacks: becoming root, raising capabilities, setuid binaries, running as host root,
// host secrets in the environment, missing no_new_privs or seccomp.
//
// The host controls run as root, where most of these "attacks" trivially succeed: they prove the
// probe's success path is reachable, so a block inside the sandbox is real.

import Foundation
import Glibc
import Testing

@Suite("Privilege attacks", .needsSandbox, .timeLimit(.minutes(1)))
struct PrivilegeAttacks {
    @Test("setuid(0) and setresuid(0) are refused")
    func setuidRoot() throws {
        let t = try TestDir("priv")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["setuid0"]), "setuid(0) as root") }
        expectBlocked(t.probeIn(["setuid0"]), "setuid(0)")
    }

    @Test("setgid(0) and setgroups([0]) are refused")
    func setgidRoot() throws {
        let t = try TestDir("priv")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["setgid0"]), "setgid(0) as root") }
        expectBlocked(t.probeIn(["setgid0"]), "setgid(0)/setgroups")
    }

    @Test("capset cannot raise CAP_SYS_ADMIN, nor can the ambient set")
    func capsetRaise() throws {
        let t = try TestDir("priv")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["capset-raise"]), "capset as root") }
        expectBlocked(t.probeIn(["capset-raise"]), "raising CAP_SYS_ADMIN")
    }

    @Test("all five capability sets are empty")
    func capabilitiesEmpty() throws {
        let t = try TestDir("priv")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["caps"]), "root's non-empty capability sets") }
        expectBlocked(t.probeIn(["caps"]), "holding a capability")
    }

    @Test("no_new_privs is set")
    func noNewPrivs() throws {
        let t = try TestDir("priv")
        expectControlSucceeds(t.probeOnHost(["nnp-off"]), "no_new_privs unset on the host")
        expectBlocked(t.probeIn(["nnp-off"]), "running without no_new_privs")
    }

    @Test("a seccomp filter is in force")
    func seccompActive() throws {
        let t = try TestDir("priv")
        expectControlSucceeds(t.probeOnHost(["seccomp-off"]), "no seccomp filter on the host")
        expectBlocked(t.probeIn(["seccomp-off"]), "running without a seccomp filter")
    }

    @Test("a setuid-root binary does not elevate the agent")
    func setuidBinary() throws {
        guard controlNeedsRoot() else { return }  // only root can make a setuid-root file
        let t = try TestDir("priv")
        let suid = t.path("suid-probe")
        try FileManager.default.copyItem(atPath: t.probe, toPath: suid)
        chown(suid, 0, 0)
        chmod(suid, 0o4755)
        // Control: an unprivileged host user running the setuid copy gets euid 0.
        let c = t.probeOnHost(["suid-exec", suid], wrapper: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], control: false)
        expectControlSucceeds(c, "a setuid-root binary elevating nobody on the host")
        expectBlocked(t.probeIn(["suid-exec", suid]), "elevating through a setuid-root binary")
    }

    @Test("the agent cannot plant a setuid or setgid file in the workspace")
    func plantSetuidFile() throws {
        let t = try TestDir("priv")
        // Control: the caller (root here) can leave set-id files in the workspace on the host.
        expectControlSucceeds(t.probeOnHost(["chmod-suid", t.path("setid-control")]), "set-id modes on the host")
        let r = t.probeIn(["chmod-suid", t.path("setid")])
        // On the host these files belong to the caller (root when agentrun runs as root, through
        // the idmapped workspace): a set-id bit there is a setuid-root binary planted for later.
        var planted: [String] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: t.path("setid"))) ?? [] {
            guard let st = Host.stat(t.path("setid/" + name)), st.st_mode & (S_ISUID | S_ISGID) != 0 else { continue }
            planted.append("\(name) \(String(st.st_mode & 0o7777, radix: 8)) owner \(st.st_uid):\(st.st_gid)")
        }
        #expect(planted.isEmpty, "ESCAPE: set-id files the agent made are in the workspace on the host: \(planted)\n\(r)")
        expectBlocked(r, "making workspace files setuid/setgid")
    }

    @Test("the agent cannot give a workspace file capabilities (security.capability)")
    func fileCapabilities() throws {
        let t = try TestDir("priv")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["setcap", t.path("cap-control")]), "setting file capabilities as root") }
        expectBlocked(t.probeIn(["setcap", t.path("cap-probe")]), "setting security.capability on a workspace file")
    }

    @Test("the agent is not root on the host (no mapping to host uid 0)")
    func notHostRoot() throws {
        let t = try TestDir("priv")
        if controlNeedsRoot() { expectControlSucceeds(t.probeOnHost(["uid-map"]), "uid 0 mapped to host root") }
        expectBlocked(t.probeIn(["uid-map"]), "running with host uid 0 mapped")
        let id = t.probeIn(["cat", "/proc/self/uid_map"])
        let fields = id.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        #expect(fields.count >= 3 && fields[1] != 0, "uid_map: \(id.stdout)")
    }

    @Test("host secrets in the caller's environment do not reach the agent")
    func environmentSecrets() throws {
        let t = try TestDir("priv")
        let names = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "ANTHROPIC_API_KEY",
                     "OPENAI_API_KEY", "NPM_TOKEN", "SSH_AUTH_SOCK", "DOCKER_HOST", "KUBECONFIG", "DATABASE_URL"]
        var env: [String: String] = [:]
        for n in names { env[n] = "agentrun-it-secret-\(n)" }
        expectControlSucceeds(t.probeOnHost(["env-secrets"] + names, env: env), "secrets in the host environment")
        expectBlocked(t.probeIn(["env-secrets"] + names, env: env), "reading host secrets from the environment")
    }
}

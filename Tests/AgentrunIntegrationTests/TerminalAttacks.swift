// Terminal attacks: TIOCSTI input injection into the caller's terminal (bwrap CVE-2017-5226),
// with high bits set in the 64-bit request (flatpak CVE-2019-10063), into a pty of the agent's
// own, TIOCLINUX (flatpak CVE-2023-28100), and taking a controlling terminal.
//
// agentrun runs with a pty as stdin that is its controlling terminal (as in a user's shell). The
// control runs the same probe on the host in the same situation: there TIOCSTI works (it is the
// caller's controlling terminal; legacy_tiocsti=1 here, and root may inject anyway).

import Foundation
import Glibc
import Testing

@Suite("Terminal attacks", .needsSandbox, .timeLimit(.minutes(1)))
struct TerminalAttacks {
    private func injected(_ pty: PseudoTerminal) -> Bool { pty.drain().contains("agentrun-probe-injected") }

    @Test("TIOCSTI on the caller's terminal (fd 0) is refused")
    func tiocstiStdin() throws {
        let t = try TestDir("tty")
        let hostPty = try PseudoTerminal()
        expectControlSucceeds(t.probeOnHost(["tiocsti-fd0"], stdin: .tty(hostPty), control: false), "TIOCSTI on the controlling terminal")
        #expect(injected(hostPty), "control: nothing was injected into the host pty")

        let pty = try PseudoTerminal()
        expectBlocked(t.probeIn(["tiocsti-fd0"], stdin: .tty(pty)), "TIOCSTI into the caller's terminal")
        #expect(!injected(pty), "input was injected into the caller's terminal")
    }

    @Test("TIOCSTI with high bits set in the request is refused (CVE-2019-10063)")
    func tiocstiHighBits() throws {
        let t = try TestDir("tty")
        let hostPty = try PseudoTerminal()
        expectControlSucceeds(t.probeOnHost(["tiocsti-fd0", "high"], stdin: .tty(hostPty), control: false), "TIOCSTI|1<<32 on the controlling terminal")

        let pty = try PseudoTerminal()
        expectBlocked(t.probeIn(["tiocsti-fd0", "high"], stdin: .tty(pty)), "TIOCSTI|1<<32 into the caller's terminal")
        #expect(!injected(pty), "input was injected into the caller's terminal")
    }

    @Test("TIOCSTI on a pty the agent opens itself is refused")
    func tiocstiOwnPty() throws {
        let t = try TestDir("tty")
        expectControlSucceeds(t.probeOnHost(["tiocsti-pty"], control: false), "TIOCSTI on an own pty")
        expectBlocked(t.probeIn(["tiocsti-pty"]), "TIOCSTI on the agent's own pty")
    }

    @Test("TIOCSTI with high bits set on a pty the agent opens itself is refused")
    func tiocstiOwnPtyHighBits() throws {
        let t = try TestDir("tty")
        expectControlSucceeds(t.probeOnHost(["tiocsti-pty", "high"], control: false), "TIOCSTI|1<<32 on an own pty")
        expectBlocked(t.probeIn(["tiocsti-pty", "high"]), "TIOCSTI|1<<32 on the agent's own pty")
    }

    @Test("TIOCLINUX is refused, also with high bits set (CVE-2023-28100)", arguments: [false, true])
    func tioclinux(_ high: Bool) throws {
        let t = try TestDir("tty")
        let extra = high ? ["high"] : []
        // Control: on the host the request reaches the tty layer (on a VT as root it succeeds).
        let vt = Host.stat("/dev/tty1") != nil && Harness.isRoot ? ["/dev/tty1"] : []
        expectControlSucceeds(t.probeOnHost(["tioclinux"] + vt + extra, control: false), "TIOCLINUX on the host")
        let pty = try PseudoTerminal()
        expectBlocked(t.probeIn(["tioclinux"] + extra, stdin: .tty(pty)), "TIOCLINUX\(high ? "|1<<32" : "")")
    }

    @Test("the agent has no controlling terminal and cannot take the caller's")
    func noControllingTerminal() throws {
        let t = try TestDir("tty")
        let hostPty = try PseudoTerminal()
        expectControlSucceeds(t.probeOnHost(["ctty"], stdin: .tty(hostPty), control: false), "opening /dev/tty with a controlling terminal")
        let pty = try PseudoTerminal()
        expectBlocked(t.probeIn(["ctty"], stdin: .tty(pty)), "opening /dev/tty (a controlling terminal)")
        let id = t.probeIn(["id"], stdin: .tty(pty))
        #expect(id.stdout.contains("sid=2 "), "the agent must lead its own session (setsid)\n\(id)")
    }
}

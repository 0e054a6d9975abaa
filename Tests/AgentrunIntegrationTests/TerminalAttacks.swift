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

    /// Runs `agentrun ARGS` with a fresh pty as its stdin, stdout and stderr (an interactive
    /// session), types `input` after half a second, and returns what appeared on the terminal.
    private func interactive(_ t: TestDir, _ command: [String], input: String = "") -> RunResult {
        let driver = """
            import os, pty, select, sys, time
            argv, data = sys.argv[2:], sys.argv[1].encode()
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(argv[0], argv)
            out, sent, end = b"", False, time.time() + 20
            while time.time() < end:
                r, _, _ = select.select([fd], [], [], 0.1)
                if not sent and data and time.time() > end - 19.5:
                    os.write(fd, data); sent = True
                if fd in r:
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:
                        break
                    if not chunk:
                        break
                    out += chunk
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(out.decode(errors="replace"))
            sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
            """
        return Harness.run(["python3", "-c", driver, input] + t.agentrunArgv(command), cwd: t.workspace, timeout: 30)
    }

    @Test("an interactive agent gets a terminal of its own, never the caller's")
    func ownTerminal() throws {
        let t = try TestDir("tty")
        let r = interactive(t, ["sh", "-c", "tty; test -t 0 && test -t 1 && echo both-ttys; ls -l /dev/pts/"])
        #expect(r.status == 0, "\(r)")
        // The sandbox's own devpts: its first pty, visible inside (the caller's pty is not).
        #expect(r.stdout.contains("/dev/pts/0"), "\(r)")
        #expect(r.stdout.contains("both-ttys"), "\(r)")
    }

    @Test("typed input and ^C reach the interactive agent through the relay")
    func relay() throws {
        let t = try TestDir("tty")
        let line = interactive(t, ["sh", "-c", "read x; echo got:$x"], input: "hello\r")
        #expect(line.stdout.contains("got:hello"), "\(line)")
        let interrupt = interactive(t, ["sh", "-c", "trap 'echo interrupted; exit 9' INT; sleep 10"], input: "\u{03}")
        #expect(interrupt.stdout.contains("interrupted"), "\(interrupt)")
        #expect(interrupt.status == 9, "\(interrupt)")
    }

    @Test("TIOCSTI from an interactive agent reaches neither its pty nor the caller's terminal")
    func interactiveInjection() throws {
        let t = try TestDir("tty")
        let r = interactive(t, [t.probe, "tiocsti-fd0"])
        expectBlocked(r, "TIOCSTI on the agent's terminal in an interactive session")
        #expect(!r.stdout.contains("agentrun-probe-injected\r\n$"), "\(r)")
    }
}

import AgentrunOS
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// How a run ended.
public enum RunOutcome: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    /// The wall-clock limit passed and the process tree was killed.
    case timedOut
    /// The sandbox's init died without reporting the agent's status (killed from outside, or
    /// the kernel's OOM killer took it).
    case initDied(String)

    /// The exit status of `agentrun run`: the agent's, 128+N for signal N, 124 on timeout.
    public var exitCode: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        case .timedOut: ExitCodes.timeout
        case .initDied: ExitCodes.launchFailed
        }
    }
}

/// Waits for a started sandbox on the calling (main) thread: forwards SIGINT, SIGTERM, SIGHUP,
/// SIGQUIT, SIGUSR1/2 and SIGWINCH to the agent (through init, which signals the agent's process
/// group), enforces the wall-clock limit (SIGTERM, then SIGKILL to the whole tree after the grace
/// period), and returns the agent's status when init reports it.
///
/// The forwarded signals must be blocked in every thread before any thread starts; call
/// `Supervisor.blockForwardedSignals()` first thing in `main`.
public enum Supervisor {
    public static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH]

    /// Blocks the forwarded signals in the calling thread; threads created later inherit the mask.
    public static func blockForwardedSignals() {
        _ = forwardedSignals.withUnsafeBufferPointer { ar_block_signals($0.baseAddress, $0.count) }
    }

    private enum Tag: UInt64 {
        case signal = 1
        case exit = 2
        case deadline = 3
        case grace = 4
        case terminalInput = 5
        case terminalOutput = 6
    }

    public static func wait(for sandbox: SandboxProcess, wallTimeout: Double?, killGrace: Double) -> RunOutcome {
        let epoll = ar_epoll_create()
        precondition(epoll >= 0, "epoll_create1 failed")
        defer { close(epoll) }
        let signals = forwardedSignals.withUnsafeBufferPointer { ar_signalfd($0.baseAddress, $0.count) }
        defer { if signals >= 0 { close(signals) } }
        if signals >= 0 { _ = ar_epoll_add(epoll, signals, Tag.signal.rawValue) }
        _ = ar_epoll_add(epoll, sandbox.pidfd, Tag.exit.rawValue)

        var deadline: Int32 = -1
        if let wallTimeout {
            deadline = ar_timerfd_oneshot(wallTimeout)
            if deadline >= 0 { _ = ar_epoll_add(epoll, deadline, Tag.deadline.rawValue) }
        }
        defer { if deadline >= 0 { close(deadline) } }
        var grace: Int32 = -1
        defer { if grace >= 0 { close(grace) } }
        var timedOut = false

        var relay: TerminalRelay?
        if sandbox.ptyMaster >= 0, let plan = sandbox.terminal {
            let terminal = TerminalRelay(master: sandbox.ptyMaster, plan: plan)
            relay = terminal
            if plan.relaysInput { _ = ar_epoll_add(epoll, 0, Tag.terminalInput.rawValue) }
            _ = ar_epoll_add(epoll, terminal.master, Tag.terminalOutput.rawValue)
        }
        defer { relay?.finish() }

        var tags = [UInt64](repeating: 0, count: 8)
        while true {
            // A backlog of input for the pty is retried every 20 ms; otherwise wait for events.
            let n = ar_epoll_wait(epoll, &tags, Int32(tags.count), relay?.hasPending == true ? 20 : -1)
            if let relay, relay.hasPending, relay.flush(), relay.readingInput {
                _ = ar_epoll_add(epoll, 0, Tag.terminalInput.rawValue)
            }
            if n == -EINTR { continue }
            precondition(n >= 0, "epoll_wait failed")
            for tag in tags.prefix(Int(n)).compactMap(Tag.init(rawValue:)) {
                switch tag {
                case .signal:
                    while true {
                        let sig = ar_signalfd_read(signals)
                        if sig <= 0 { break }
                        if sig == SIGWINCH, let relay {
                            relay.resize()  // the pty's line discipline signals the agent
                        } else {
                            _ = ar_pidfd_send_signal(sandbox.pidfd, sig)
                        }
                    }
                case .terminalInput:
                    if let relay, !relay.input() { _ = ar_epoll_del(epoll, 0) }
                case .terminalOutput:
                    if let relay, !relay.output() { _ = ar_epoll_del(epoll, relay.master) }
                case .deadline:
                    timedOut = true
                    if killGrace <= 0 {
                        _ = ar_pidfd_send_signal(sandbox.pidfd, SIGKILL)
                    } else {
                        _ = ar_pidfd_send_signal(sandbox.pidfd, SIGTERM)
                        grace = ar_timerfd_oneshot(killGrace)
                        if grace >= 0 { _ = ar_epoll_add(epoll, grace, Tag.grace.rawValue) }
                    }
                    drainTimer(deadline)
                case .grace:
                    // Killing init kills every process in the sandbox's pid namespace.
                    _ = ar_pidfd_send_signal(sandbox.pidfd, SIGKILL)
                    drainTimer(grace)
                case .exit:
                    return reap(sandbox, timedOut: timedOut)
                }
            }
        }
    }

    private static func drainTimer(_ fd: Int32) {
        var ticks: UInt64 = 0
        _ = read(fd, &ticks, 8)
    }

    private static func reap(_ sandbox: SandboxProcess, timedOut: Bool) -> RunOutcome {
        var code: Int32 = 0
        var kind: Int32 = 0
        _ = ar_pidfd_wait(sandbox.pidfd, &code, &kind, 0)
        var status: Int32 = 0
        let got = read(sandbox.statusFD, &status, 4)
        close(sandbox.statusFD)
        close(sandbox.pidfd)
        if timedOut { return .timedOut }
        guard got == 4 else {
            let how = kind == 1 ? "exited with \(code)" : "was killed by signal \(code)"
            return .initDied("the sandbox's init \(how) before the agent finished")
        }
        if ar_wifsignaled(status) != 0 { return .signaled(ar_wtermsig(status)) }
        return .exited(ar_wexitstatus(status))
    }
}

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
    /// The provenance log could not be written, so the sandbox was stopped (fail closed).
    case provenanceFailed(String)

    /// The exit status of `agentrun run`: the agent's, 128+N for signal N, 124 on timeout.
    public var exitCode: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        case .timedOut: ExitCodes.timeout
        case .initDied: ExitCodes.launchFailed
        case .provenanceFailed: ExitCodes.provenanceFailed
        }
    }
}

/// How the sandbox ended, with what it used.
public struct Termination: Sendable {
    public var outcome: RunOutcome
    /// CPU time and peak memory of the sandbox's processes (everything init reaped).
    public var usage: ar_rusage
    /// A stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) agentrun received and forwarded, if any.
    public var stopSignal: Int32?
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
        case tick = 7
    }

    /// How often `tick` runs at most (the provenance writer's time-based checkpoints and file
    /// check); a shorter checkpoint interval makes it run more often.
    public static let tickInterval = 1.0

    /// - Parameter tick: called every `tickInterval`; returning a reason stops the sandbox at once
    ///   (fail closed) and the run ends as `.provenanceFailed(reason)`.
    public static func wait(
        for sandbox: SandboxProcess, wallTimeout: Double?, killGrace: Double, tick: (() -> String?)? = nil,
        tickEvery: Double = tickInterval
    ) -> Termination {
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
        var stopSignal: Int32?
        var failure: String?
        var ticker: Int32 = -1
        if tick != nil {
            ticker = ar_timerfd_oneshot(tickEvery)
            if ticker >= 0 { _ = ar_epoll_add(epoll, ticker, Tag.tick.rawValue) }
        }
        defer { if ticker >= 0 { close(ticker) } }

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
                            if [SIGINT, SIGTERM, SIGHUP, SIGQUIT].contains(sig), stopSignal == nil { stopSignal = sig }
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
                case .tick:
                    drainTimer(ticker)
                    if failure == nil, let reason = tick?() {
                        // Fail closed: nothing may run that the log cannot record.
                        failure = reason
                        _ = ar_pidfd_send_signal(sandbox.pidfd, SIGKILL)
                    }
                    _ = ar_timerfd_rearm(ticker, tickEvery)
                case .exit:
                    var termination = reap(sandbox, timedOut: timedOut)
                    termination.stopSignal = stopSignal
                    if let failure { termination.outcome = .provenanceFailed(failure) }
                    return termination
                }
            }
        }
    }

    private static func drainTimer(_ fd: Int32) {
        var ticks: UInt64 = 0
        _ = read(fd, &ticks, 8)
    }

    private static func reap(_ sandbox: SandboxProcess, timedOut: Bool) -> Termination {
        var code: Int32 = 0
        var kind: Int32 = 0
        var usage = ar_rusage()
        _ = ar_pidfd_wait_rusage(sandbox.pidfd, &code, &kind, &usage)
        var status: Int32 = 0
        let got = read(sandbox.statusFD, &status, 4)
        close(sandbox.statusFD)
        close(sandbox.pidfd)
        func ended(_ outcome: RunOutcome) -> Termination { Termination(outcome: outcome, usage: usage, stopSignal: nil) }
        if timedOut { return ended(.timedOut) }
        guard got == 4 else {
            let how = kind == 1 ? "exited with \(code)" : "was killed by signal \(code)"
            return ended(.initDied("the sandbox's init \(how) before the agent finished"))
        }
        if ar_wifsignaled(status) != 0 { return ended(.signaled(ar_wtermsig(status))) }
        return ended(.exited(ar_wexitstatus(status)))
    }
}

import AgentrunOS
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// Copies bytes between the host terminal and the sandbox's pty, on the supervisor's thread.
///
/// The agent's controlling terminal is a pty inside the sandbox, never the host terminal: TIOCSTI
/// (also refused by seccomp) could only push bytes into the agent's own input. The host terminal
/// is put in raw mode for the run, so ^C, ^Z and friends reach the pty's line discipline, which
/// signals the agent's foreground process group; the mode is restored when the run ends.
final class TerminalRelay {
    let master: Int32
    private var saved: [UInt8]
    private var raw = false
    private var pending: [UInt8] = []
    private(set) var readingInput: Bool
    private(set) var masterOpen = true

    let outputFD: Int32

    init(master: Int32, plan: TerminalPlan) {
        self.master = master
        self.outputFD = plan.outputFD
        readingInput = plan.relaysInput
        _ = ar_set_nonblocking(master)
        saved = [UInt8](repeating: 0, count: ar_termios_size())
        if plan.relaysInput, saved.withUnsafeMutableBytes({ ar_term_raw(0, $0.baseAddress, $0.count) }) == 0 {
            raw = true
        }
    }

    /// Host stdin has data: forward it (what the pty cannot take yet waits in `pending`).
    /// Returns false when stdin should leave the poll set (EOF, or a backlog to flush first).
    func input() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 { return errno == EINTR || errno == EAGAIN }
        if n == 0 {
            readingInput = false
            return false
        }
        pending.append(contentsOf: buffer[0..<n])
        flush()
        return pending.isEmpty
    }

    /// Writes what is pending to the pty; true when nothing is left.
    @discardableResult
    func flush() -> Bool {
        while !pending.isEmpty {
            let n = pending.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return false }
                pending.removeAll()  // the pty is gone
                return true
            }
            pending.removeFirst(n)
        }
        return true
    }

    var hasPending: Bool { !pending.isEmpty }

    /// The pty has output: copy it to the host's stdout. Returns false once the pty is closed.
    func output() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n > 0 {
                _ = buffer.withUnsafeBytes { Files.writeAll(fd: outputFD, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                continue
            }
            if n < 0 && (errno == EINTR) { continue }
            if n < 0 && errno == EAGAIN { return true }
            masterOpen = false  // EIO: every slave fd is closed
            return false
        }
    }

    /// The host terminal changed size: tell the pty (the kernel signals SIGWINCH inside).
    func resize() {
        var rows: UInt16 = 0
        var cols: UInt16 = 0
        if ar_winsize(outputFD, &rows, &cols) == 0 || ar_winsize(0, &rows, &cols) == 0 {
            _ = ar_set_winsize(master, rows, cols)
        }
    }

    /// Copies the last output and gives the host terminal back.
    func finish() {
        if masterOpen { _ = output() }
        close(master)
        if raw {
            _ = saved.withUnsafeBytes { ar_term_restore(0, $0.baseAddress, $0.count) }
            raw = false
        }
    }
}

/// A classic-BPF interpreter for seccomp programs, so the supervisor can ask "what would the
/// built-in filter answer?" for a call it was notified of.
///
/// Why: a mediated call reaches the supervisor *instead of* the filter rule that would have
/// refused it (the kernel's ERRNO beats USER_NOTIF, so mediated syscalls are not refused in the
/// installed filters). The supervisor runs the unmodified filters over the notification's
/// `seccomp_data` and refuses whatever they refuse: one source of truth, no second copy of the
/// argument rules to drift from the first.
public enum BPFInterpreter {
    /// `struct seccomp_data` as the kernel lays it out.
    public struct SeccompData: Sendable {
        public var nr: Int32
        public var arch: UInt32
        public var instructionPointer: UInt64
        public var args: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

        public init(nr: Int32, arch: UInt32, instructionPointer: UInt64, args: [UInt64]) {
            self.nr = nr
            self.arch = arch
            self.instructionPointer = instructionPointer
            let a = args + Array(repeating: 0, count: max(0, 6 - args.count))
            self.args = (a[0], a[1], a[2], a[3], a[4], a[5])
        }

        /// The 32-bit word at byte offset `k` (little-endian host), or nil when out of range.
        @inline(__always)
        func word(at k: UInt32) -> UInt32? {
            guard k % 4 == 0, k < 64 else { return nil }
            let value: UInt64
            switch k >> 3 {
            case 0: return k == 0 ? UInt32(bitPattern: nr) : arch
            case 1: value = instructionPointer
            case 2: value = args.0
            case 3: value = args.1
            case 4: value = args.2
            case 5: value = args.3
            case 6: value = args.4
            default: value = args.5
            }
            return k & 4 != 0 ? UInt32(truncatingIfNeeded: value >> 32) : UInt32(truncatingIfNeeded: value)
        }
    }

    /// SECCOMP_RET_KILL_PROCESS: the answer to anything the interpreter cannot run.
    public static let killProcess: UInt32 = 0x8000_0000

    /// Runs `program` (`struct sock_filter[]` bytes) over `data`; returns the filter's 32-bit
    /// action. A malformed program or an instruction this interpreter does not know yields
    /// `killProcess`, the most restrictive answer.
    public static func run(_ program: [UInt8], on data: SeccompData) -> UInt32 {
        let count = program.count / 8
        guard count > 0, program.count % 8 == 0 else { return killProcess }
        var a: UInt32 = 0
        var x: UInt32 = 0
        var memory: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var pc = 0
        var steps = 0
        return program.withUnsafeBytes { raw -> UInt32 in
            while pc < count && steps <= count {
                steps += 1
                let base = pc * 8
                let code = UInt16(raw[base]) | UInt16(raw[base + 1]) << 8
                let jt = Int(raw[base + 2])
                let jf = Int(raw[base + 3])
                let k = UInt32(raw[base + 4]) | UInt32(raw[base + 5]) << 8 | UInt32(raw[base + 6]) << 16 | UInt32(raw[base + 7]) << 24
                pc += 1
                switch code & 0x07 {
                case 0x00:  // BPF_LD
                    switch code {
                    case 0x20:  // LD W ABS
                        guard let w = data.word(at: k) else { return killProcess }
                        a = w
                    case 0x00: a = k  // LD IMM
                    case 0x60:  // LD MEM
                        guard k < 16 else { return killProcess }
                        a = withUnsafeBytes(of: &memory) { $0.load(fromByteOffset: Int(k) * 4, as: UInt32.self) }
                    case 0x80: a = 64  // LD W LEN
                    default: return killProcess
                    }
                case 0x01:  // BPF_LDX
                    switch code {
                    case 0x01: x = k
                    case 0x61:
                        guard k < 16 else { return killProcess }
                        x = withUnsafeBytes(of: &memory) { $0.load(fromByteOffset: Int(k) * 4, as: UInt32.self) }
                    case 0x81: x = 64
                    default: return killProcess
                    }
                case 0x02:  // BPF_ST
                    guard k < 16 else { return killProcess }
                    withUnsafeMutableBytes(of: &memory) { $0.storeBytes(of: a, toByteOffset: Int(k) * 4, as: UInt32.self) }
                case 0x03:  // BPF_STX
                    guard k < 16 else { return killProcess }
                    withUnsafeMutableBytes(of: &memory) { $0.storeBytes(of: x, toByteOffset: Int(k) * 4, as: UInt32.self) }
                case 0x04:  // BPF_ALU
                    let operand = code & 0x08 != 0 ? x : k
                    switch code & 0xF0 {
                    case 0x00: a = a &+ operand
                    case 0x10: a = a &- operand
                    case 0x20: a = a &* operand
                    case 0x30:
                        guard operand != 0 else { return killProcess }
                        a = a / operand
                    case 0x40: a = a | operand
                    case 0x50: a = a & operand
                    case 0x60: a = operand < 32 ? a << operand : 0
                    case 0x70: a = operand < 32 ? a >> operand : 0
                    case 0x80: a = 0 &- a
                    case 0x90:
                        guard operand != 0 else { return killProcess }
                        a = a % operand
                    case 0xA0: a = a ^ operand
                    default: return killProcess
                    }
                case 0x05:  // BPF_JMP
                    let operand = code & 0x08 != 0 ? x : k
                    let taken: Bool
                    switch code & 0xF0 {
                    case 0x00:  // JA
                        pc += Int(k)
                        continue
                    case 0x10: taken = a == operand
                    case 0x20: taken = a > operand
                    case 0x30: taken = a >= operand
                    case 0x40: taken = a & operand != 0
                    default: return killProcess
                    }
                    pc += taken ? jt : jf
                case 0x06:  // BPF_RET
                    switch code & 0x18 {
                    case 0x00: return k
                    case 0x10: return a
                    default: return killProcess
                    }
                case 0x07:  // BPF_MISC
                    switch code {
                    case 0x07: x = a  // TAX
                    case 0x87: a = x  // TXA
                    default: return killProcess
                    }
                default:
                    return killProcess
                }
            }
            return killProcess
        }
    }

    /// The most restrictive of several filters' answers, in the kernel's order of precedence
    /// (KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW).
    public static func mostRestrictive(_ actions: [UInt32]) -> UInt32 {
        func rank(_ action: UInt32) -> Int {
            switch action & 0xFFFF_0000 {
            case 0x8000_0000: 0
            case 0x0000_0000: 1
            case 0x0003_0000: 2
            case 0x0005_0000: 3
            case 0x7FC0_0000: 4
            case 0x7FF0_0000: 5
            case 0x7FFC_0000: 6
            case 0x7FFF_0000: 7
            default: 0
            }
        }
        return actions.min { rank($0) < rank($1) } ?? killProcess
    }
}

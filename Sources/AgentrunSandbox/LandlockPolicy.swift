/// Landlock access rights (linux/landlock.h) and the rule set that mirrors a mount view.
///
/// Reading is governed by the mount view (what is not mounted does not exist), so `/` gets read
/// rights; Landlock's job is the second wall for writing and executing, plus scoping of signals
/// and abstract Unix sockets to the sandbox (ABI 6). Rights a kernel's ABI does not know are
/// dropped from both the handled set and the rules, as the kernel requires.
public struct LandlockPolicy: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var path: String
        public var access: UInt64
        public var optional: Bool
    }

    public var abi: Int
    public var handledFS: UInt64
    public var handledNet: UInt64
    public var scoped: UInt64
    public var rules: [Rule]

    // Filesystem rights.
    public static let execute: UInt64 = 1 << 0
    public static let writeFile: UInt64 = 1 << 1
    public static let readFile: UInt64 = 1 << 2
    public static let readDir: UInt64 = 1 << 3
    public static let removeDir: UInt64 = 1 << 4
    public static let removeFile: UInt64 = 1 << 5
    public static let makeChar: UInt64 = 1 << 6
    public static let makeDir: UInt64 = 1 << 7
    public static let makeReg: UInt64 = 1 << 8
    public static let makeSock: UInt64 = 1 << 9
    public static let makeFifo: UInt64 = 1 << 10
    public static let makeBlock: UInt64 = 1 << 11
    public static let makeSym: UInt64 = 1 << 12
    public static let refer: UInt64 = 1 << 13
    public static let truncate: UInt64 = 1 << 14
    public static let ioctlDev: UInt64 = 1 << 15
    // Scopes (ABI 6).
    public static let scopeAbstractUnixSocket: UInt64 = 1 << 0
    public static let scopeSignal: UInt64 = 1 << 1

    /// Everything needed to create, change and delete ordinary files and directories.
    public static let write: UInt64 =
        writeFile | removeDir | removeFile | makeDir | makeReg | makeSock | makeFifo | makeSym | refer | truncate
    public static let read: UInt64 = readFile | readDir

    /// The filesystem rights an ABI version handles.
    public static func handledFilesystem(abi: Int) -> UInt64 {
        var rights: UInt64 = (1 << 13) - 1  // ABI 1: EXECUTE ... MAKE_SYM
        if abi >= 2 { rights |= refer }
        if abi >= 3 { rights |= truncate }
        if abi >= 5 { rights |= ioctlDev }
        return rights
    }

    public static func scopes(abi: Int) -> UInt64 {
        abi >= 6 ? scopeAbstractUnixSocket | scopeSignal : 0
    }

    public init(abi: Int, rules: [Rule]) {
        self.abi = abi
        self.handledFS = Self.handledFilesystem(abi: abi)
        self.handledNet = 0
        self.scoped = Self.scopes(abi: abi)
        self.rules = rules.map { Rule(path: $0.path, access: $0.access & Self.handledFilesystem(abi: abi), optional: $0.optional) }
    }

    /// Short description of the rights, for `--verbose`.
    public static func describe(_ access: UInt64) -> String {
        var parts: [String] = []
        if access & readFile != 0 || access & readDir != 0 { parts.append("read") }
        if access & writeFile != 0 || access & makeReg != 0 { parts.append("write") }
        if access & execute != 0 { parts.append("execute") }
        if access & ioctlDev != 0 { parts.append("ioctl") }
        return parts.joined(separator: "+")
    }
}

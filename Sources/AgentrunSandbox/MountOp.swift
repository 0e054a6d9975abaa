/// One step of building the sandbox's root filesystem (mirrors `struct ar_mount_op` in the shim).
public struct MountOp: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: UInt32, Sendable {
        case directory = 1
        case bind = 2
        case bindDescriptor = 3
        case tmpfs = 4
        case proc = 5
        case devpts = 6
        case symlink = 7
        case file = 8
        case setAttributes = 9
        case rebind = 10
        case mqueue = 11
        /// The broker's listening socket, created by init at `target` and handed to the supervisor.
        case socket = 12
    }

    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readOnly = Flags(rawValue: 0x0001)
        public static let noSuid = Flags(rawValue: 0x0002)
        public static let noDev = Flags(rawValue: 0x0004)
        public static let noExec = Flags(rawValue: 0x0008)
        public static let recursive = Flags(rawValue: 0x0010)
        public static let create = Flags(rawValue: 0x0020)
        public static let directory = Flags(rawValue: 0x0040)
        public static let onSymlink = Flags(rawValue: 0x0080)
        public static let optional = Flags(rawValue: 0x0100)
        public static let noSymfollow = Flags(rawValue: 0x0200)
    }

    public var kind: Kind
    public var flags: Flags
    /// Host path (bind), link text (symlink).
    public var source: String?
    /// Absolute path inside the sandbox.
    public var target: String
    /// Filesystem options (`size=...,mode=...`) or file content.
    public var data: [UInt8]
    public var mode: UInt32
    /// Why this mount exists, for `--verbose` and for launch errors ("system", "workspace", ...).
    public var purpose: String

    public init(
        _ kind: Kind, target: String, source: String? = nil, flags: Flags = [], data: [UInt8] = [], mode: UInt32 = 0,
        purpose: String
    ) {
        self.kind = kind
        self.flags = flags
        self.source = source
        self.target = target
        self.data = data
        self.mode = mode
        self.purpose = purpose
    }

    public static func options(_ text: String) -> [UInt8] { Array(text.utf8) }

    public var description: String {
        var attrs: [String] = []
        if flags.contains(.readOnly) { attrs.append("ro") } else if kind != .symlink && kind != .directory && kind != .file {
            attrs.append("rw")
        }
        if flags.contains(.noExec) { attrs.append("noexec") }
        if flags.contains(.onSymlink) { attrs.append("on-symlink") }
        if flags.contains(.create) { attrs.append("create") }
        let attrText = attrs.isEmpty ? "" : " (\(attrs.joined(separator: ",")))"
        switch kind {
        case .directory: return "mkdir \(target)"
        case .bind: return "bind \(source ?? "?") -> \(target)\(attrText)"
        case .bindDescriptor: return "bind idmapped \(source ?? "?") -> \(target)\(attrText)"
        case .tmpfs: return "tmpfs \(target) [\(String(decoding: data, as: UTF8.self))]\(attrText)"
        case .proc: return "proc \(target)"
        case .devpts: return "devpts \(target)"
        case .mqueue: return "mqueue \(target)"
        case .socket: return "socket \(target) (mode \(String(mode, radix: 8)), served by the supervisor)"
        case .symlink: return "symlink \(target) -> \(source ?? "?")"
        case .file: return "file \(target) (\(data.count) bytes)"
        case .setAttributes: return "remount \(target)\(attrText)"
        case .rebind: return "rebind \(target)\(attrText)"
        }
    }
}

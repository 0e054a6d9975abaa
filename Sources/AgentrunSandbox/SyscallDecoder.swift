import AgentrunOS
import AgentrunProvenance
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// A mediated call as people and machines read it: its arguments decoded from the
/// notification's registers and the caller's memory, paths resolved inside the sandbox.
struct DecodedCall {
    enum Category: Equatable {
        case exec
        /// `open`: an open/openat/creat the supervisor could perform itself (exact_files).
        case fileWrite(open: Bool)
        case network
        case signal
        case other
    }

    var name: String
    var category: Category
    var args: [String: JSONValue] = [:]
    /// The first path, absolute inside the sandbox, normalised lexically (symlinks not followed).
    var path: String?
    /// The second path of rename/link (resolved like `path`).
    var secondPath: String?
    var argv: [String]?
    var envKeys: [String]?
    /// exec: the interpreter the program's `#!` line names.
    var interpreter: String?
    var addr: [String: JSONValue]?
    var truncated: [String: JSONValue] = [:]
    /// Whether anything was read from the caller's memory (the record cannot be exact unless
    /// the supervisor also performs or refuses the call).
    var readMemory = false
    /// Why the caller's memory could not be read, when it could not.
    var unreadable: String?

    /// Whether the call changes the filesystem: false for an open without write or create
    /// flags (notified under `record_all` or an explicit `record: [openat]`).
    var writes: Bool {
        guard case .fileWrite(open: true) = category, name != "creat" else { return true }
        return openFlags & 0o3 != 0 || openFlags & (0o100 | 0o1000 | 0o20000000) != 0
    }

    // What an exact open needs.
    var openFlags: UInt64 = 0
    var openMode: UInt64 = 0
    /// exec of one of the caller's descriptors (execveat(fd, "", AT_EMPTY_PATH), fexecve's
    /// /proc/self/fd/N, /dev/fd/N): the program is that open file, whatever its link says (a
    /// memfd or an unlinked file has no path to resolve).
    var programFD: Int32?
}

/// Reads the caller's memory and /proc entries. Every value read here may change the moment
/// after (another thread of the caller), which is why the notifier checks NOTIF_ID_VALID after
/// reading and never lets a pointer-based decision stand as exact without performing the call.
struct SyscallDecoder {
    static let pathLimit = 4096
    static let argvItemLimit = 4096
    static let argvCountLimit = 256
    static let argvBytesLimit = 65536

    let tid: pid_t
    /// Known memory: the first execve of the agent, which runs before its memory is readable
    /// by an unprivileged supervisor (see SyscallNotifier.InitialExec).
    let initialExec: SyscallNotifier.InitialExec?
    /// The notifier thread's buffer of `scratchSize` bytes (no allocation per string).
    let scratch: UnsafeMutablePointer<CChar>
    static let scratchSize = 4097

    struct Unreadable: Error {
        var reason: String
    }

    // MARK: memory

    func string(at address: UInt64, field: String, limit: Int, into call: inout DecodedCall) throws(Unreadable) -> String {
        call.readMemory = true
        if address == 0 { throw Unreadable(reason: "\(field): NULL") }
        let n = ar_read_string(tid, address, scratch, min(limit, Self.scratchSize - 1))
        if n < 0 {
            if let known = initialExec?.string(at: address) { return known }
            throw Unreadable(reason: "\(field): \(Errno.describe(Int32(-n)))")
        }
        if n == limit {
            // Longer than the limit: find its full length for the record, reading on.
            call.truncated[field] = .int(Int64(fullLength(at: address, from: limit)))
        }
        return String(decoding: UnsafeRawBufferPointer(start: scratch, count: n), as: UTF8.self)
    }

    private func fullLength(at address: UInt64, from start: Int) -> Int {
        var length = start
        var chunk = [CChar](repeating: 0, count: 4096)
        while length < 1 << 24 {
            let n = ar_read_string(tid, address + UInt64(length), &chunk, chunk.count)
            if n < 0 { return length }
            length += n
            if n < chunk.count { return length }
        }
        return length
    }

    func word(at address: UInt64) -> UInt64? {
        var value: UInt64 = 0
        let n = ar_read_memory(tid, address, &value, 8)
        if n == 8 { return value }
        return initialExec?.word(at: address)
    }

    /// The number of entries of a NULL-terminated pointer array, read 4 KiB at a time (an argv
    /// can hold hundreds of thousands of pointers).
    private func count(at address: UInt64, from start: Int) -> Int {
        var index = start
        var chunk = [UInt64](repeating: 0, count: 512)
        while index < 1 << 22 {
            let n = chunk.withUnsafeMutableBytes { ar_read_memory(tid, address + UInt64(index * 8), $0.baseAddress, 4096) }
            if n < 8 { return index }
            let words = n / 8
            if let zero = chunk[0..<words].firstIndex(of: 0) { return index + zero }
            index += words
        }
        return index
    }

    /// A NULL-terminated array of strings (argv, envp), within the limits.
    func stringArray(at address: UInt64, field: String, into call: inout DecodedCall) throws(Unreadable) -> [String] {
        call.readMemory = true
        if address == 0 { return [] }
        var items: [String] = []
        var bytes = 0
        var index = 0
        while true {
            guard let pointer = word(at: address + UInt64(index * 8)) else {
                throw Unreadable(reason: "\(field)[\(index)]: unreadable")
            }
            if pointer == 0 { break }
            if items.count >= Self.argvCountLimit || bytes >= Self.argvBytesLimit {
                call.truncated[field] = .int(Int64(count(at: address, from: index)))
                break
            }
            let item = try string(at: pointer, field: "\(field)[\(index)]", limit: Self.argvItemLimit, into: &call)
            bytes += item.utf8.count
            items.append(item)
            index += 1
        }
        return items
    }

    // MARK: paths

    /// `raw` resolved against `dirfd` (AT_FDCWD: the caller's cwd) inside the sandbox.
    func resolve(_ raw: String, dirfd: Int32) -> String {
        if raw.hasPrefix("/proc/") || raw.hasPrefix("/dev/") || raw.hasPrefix("//") || raw.hasPrefix("/.") {
            if let target = magicTarget(raw) { return target }
        }
        if raw.hasPrefix("/") { return Self.isNormal(raw) ? raw : Paths.normalize(raw) }
        let base = dirfd == Self.atFDCWD ? Files.readLink("/proc/\(tid)/cwd") : Files.readLink("/proc/\(tid)/fd/\(dirfd)")
        guard let base else { return raw }
        return raw.isEmpty ? base : Paths.normalize(base + "/" + raw)
    }

    static let atFDCWD: Int32 = -100

    /// Paths through the kernel's "magic" links — /proc/{self,thread-self,PID}[/task/TID]/
    /// {cwd,root,fd/N} and /dev/fd/N, /dev/std{in,out,err} — name whatever the link points to,
    /// not what the text says: `/proc/self/cwd/secrets/x` is `<cwd>/secrets/x`. Resolved here
    /// (as the kernel would for the caller) so that rules and records see the real path.
    func magicTarget(_ raw: String) -> String? {
        var parts = raw.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        // Lexical `.` only; `..` after a magic link is resolved against its target below.
        parts.removeAll { $0 == "." }
        guard parts.count >= 2 else { return nil }
        var link: String
        var consumed: Int
        if parts[0] == "dev" {
            switch parts[1] {
            case "stdin": (link, consumed) = ("/proc/\(tid)/fd/0", 2)
            case "stdout": (link, consumed) = ("/proc/\(tid)/fd/1", 2)
            case "stderr": (link, consumed) = ("/proc/\(tid)/fd/2", 2)
            case "fd" where parts.count >= 3 && Int32(parts[2]) != nil: (link, consumed) = ("/proc/\(tid)/fd/\(parts[2])", 3)
            default: return nil
            }
        } else if parts[0] == "proc" {
            var i = 1
            let owner: String
            switch parts[1] {
            case "self", "thread-self": owner = "/proc/\(tid)"
            case let n where Int32(n) != nil: owner = "/proc/\(tid)/root/proc/\(n)"  // the sandbox's own procfs
            default: return nil
            }
            i = 2
            var base = owner
            if parts.count > i + 1, parts[i] == "task", Int32(parts[i + 1]) != nil {
                base = parts[1] == "self" || parts[1] == "thread-self" ? owner : owner + "/task/" + parts[i + 1]
                i += 2
            }
            guard parts.count > i else { return nil }
            switch parts[i] {
            case "cwd": (link, consumed) = (base + "/cwd", i + 1)
            case "root": (link, consumed) = ("", i + 1)
            case "fd" where parts.count > i + 1 && Int32(parts[i + 1]) != nil: (link, consumed) = (base + "/fd/" + parts[i + 1], i + 2)
            default: return nil
            }
        } else {
            return nil
        }
        let target = link.isEmpty ? "/" : Files.readLink(link)
        guard let target, target.hasPrefix("/") else { return nil }
        let rest = parts.dropFirst(consumed).joined(separator: "/")
        return Paths.normalize(rest.isEmpty ? target : target + "/" + rest)
    }

    /// The descriptor a path names when it is exactly one of the caller's own descriptors
    /// (/dev/stdout, /dev/fd/N, /proc/self/fd/N): reopening it is reopening that file.
    static func ownDescriptor(_ raw: String) -> Int32? {
        switch raw {
        case "/dev/stdin": return 0
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default: break
        }
        for prefix in ["/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"] where raw.hasPrefix(prefix) {
            return Int32(raw.dropFirst(prefix.count))
        }
        return nil
    }

    /// An absolute path without `//`, `.` or `..` components and no trailing `/` (most are).
    static func isNormal(_ path: String) -> Bool {
        var previous: UInt8 = 0
        var dots = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                if previous == UInt8(ascii: "/") || dots == 1 || dots == 2 { return false }
                dots = 0
            } else if byte == UInt8(ascii: ".") && (previous == UInt8(ascii: "/") || dots > 0) {
                dots += 1
            } else {
                dots = 3  // a name that merely starts with dots
            }
            previous = byte
        }
        return previous != UInt8(ascii: "/") || path.utf8.count == 1 ? (dots != 1 && dots != 2) : false
    }


    static func dirfd(_ value: UInt64) -> (Int32, JSONValue) {
        let fd = Int32(truncatingIfNeeded: value)
        return (fd, fd == atFDCWD ? .string("AT_FDCWD") : .int(Int64(fd)))
    }

    // MARK: decoding

    func decode(name: String, args a: [UInt64]) -> DecodedCall {
        var call = DecodedCall(name: name, category: Self.category(of: name))
        do throws(Unreadable) {
            try decode(into: &call, args: a)
        } catch {
            call.unreadable = error.reason
        }
        return call
    }

    static func category(of name: String) -> DecodedCall.Category {
        switch name {
        case "execve", "execveat": .exec
        case "open", "openat", "creat": .fileWrite(open: true)
        case "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat", "rmdir",
            "mkdir", "mkdirat", "mknod", "mknodat", "chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat",
            "truncate":
            .fileWrite(open: false)
        case "connect", "bind", "sendto": .network
        case "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo": .signal
        default: .other
        }
    }

    private func pathArg(_ address: UInt64, dirfd: UInt64?, key: String, into call: inout DecodedCall) throws(Unreadable) -> String {
        let raw = try string(at: address, field: "args.\(key)", limit: Self.pathLimit, into: &call)
        call.args[key] = .string(raw)
        var fd = Self.atFDCWD
        if let dirfd {
            let (value, json) = Self.dirfd(dirfd)
            fd = value
            call.args[key == "newpath" ? "newdirfd" : key == "oldpath" ? "olddirfd" : "dirfd"] = json
        }
        return resolve(raw, dirfd: fd)
    }

    private func decode(into call: inout DecodedCall, args a: [UInt64]) throws(Unreadable) {
        func int(_ v: UInt64) -> JSONValue { .int(Int64(Int32(truncatingIfNeeded: v))) }
        switch call.name {
        case "open", "openat", "creat":
            let at = call.name == "openat"
            let flags: UInt64 = call.name == "creat" ? 0o1101 : a[at ? 2 : 1] & 0xFFFF_FFFF
            let mode = call.name == "creat" ? a[1] : a[at ? 3 : 2]
            call.path = try pathArg(a[at ? 1 : 0], dirfd: at ? a[0] : nil, key: "pathname", into: &call)
            call.args["flags"] = .array(SyscallArgumentNames.openFlags(flags).map(JSONValue.string))
            if flags & 0o100 != 0 || flags & 0o20000000 != 0 { call.args["mode"] = .string(SyscallArgumentNames.mode(mode)) }
            call.openFlags = flags
            call.openMode = mode & 0o7777
        case "execve", "execveat":
            let at = call.name == "execveat"
            let offset = at ? 1 : 0
            let flags = at ? a[4] : 0
            call.path = try pathArg(a[offset], dirfd: at ? a[0] : nil, key: "pathname", into: &call)
            if case .string(let raw)? = call.args["pathname"] { call.programFD = Self.ownDescriptor(raw) }
            if at {
                call.args["flags"] = .array(SyscallArgumentNames.atFlags(flags).map(JSONValue.string))
                if flags & 0x1000 != 0, case .string(let raw)? = call.args["pathname"], raw.isEmpty {
                    let fd = Int32(truncatingIfNeeded: a[0])
                    call.programFD = fd
                    call.path = Files.readLink("/proc/\(tid)/fd/\(fd)") ?? call.path
                }
            }
            call.argv = try stringArray(at: a[offset + 1], field: "argv", into: &call)
            let environment = try stringArray(at: a[offset + 2], field: "env_keys", into: &call)
            call.envKeys = environment.map { entry in
                String(entry.prefix { $0 != "=" })
            }.sorted()
        case "rename", "link":
            call.path = try pathArg(a[0], dirfd: nil, key: "oldpath", into: &call)
            call.secondPath = try pathArg(a[1], dirfd: nil, key: "newpath", into: &call)
        case "renameat", "renameat2", "linkat":
            call.path = try pathArg(a[1], dirfd: a[0], key: "oldpath", into: &call)
            call.secondPath = try pathArg(a[3], dirfd: a[2], key: "newpath", into: &call)
            if call.name == "renameat2" { call.args["flags"] = .array(SyscallArgumentNames.renameFlags(a[4]).map(JSONValue.string)) }
            if call.name == "linkat" { call.args["flags"] = .array(SyscallArgumentNames.atFlags(a[4]).map(JSONValue.string)) }
        case "symlink", "symlinkat":
            call.args["target"] = .string(try string(at: a[0], field: "args.target", limit: Self.pathLimit, into: &call))
            call.path = try pathArg(a[call.name == "symlinkat" ? 2 : 1], dirfd: call.name == "symlinkat" ? a[1] : nil, key: "linkpath", into: &call)
        case "unlink", "rmdir", "mkdir", "mknod", "chmod", "chown", "lchown", "truncate":
            call.path = try pathArg(a[0], dirfd: nil, key: "pathname", into: &call)
            switch call.name {
            case "mkdir", "chmod": call.args["mode"] = .string(SyscallArgumentNames.mode(a[1]))
            case "mknod":
                call.args["mode"] = .string(SyscallArgumentNames.mode(a[1]))
                call.args["dev"] = .int(Int64(bitPattern: a[2]))
            case "chown", "lchown":
                call.args["owner"] = int(a[1])
                call.args["group"] = int(a[2])
            case "truncate": call.args["length"] = .int(Int64(bitPattern: a[1]))
            default: break
            }
        case "unlinkat", "mkdirat", "mknodat", "fchmodat", "fchmodat2", "fchownat":
            call.path = try pathArg(a[1], dirfd: a[0], key: "pathname", into: &call)
            switch call.name {
            case "unlinkat": call.args["flags"] = .array(SyscallArgumentNames.atFlags(a[2]).map(JSONValue.string))
            case "mkdirat", "fchmodat", "fchmodat2": call.args["mode"] = .string(SyscallArgumentNames.mode(a[2]))
            case "mknodat":
                call.args["mode"] = .string(SyscallArgumentNames.mode(a[2]))
                call.args["dev"] = .int(Int64(bitPattern: a[3]))
            default:
                call.args["owner"] = int(a[2])
                call.args["group"] = int(a[3])
                call.args["flags"] = .array(SyscallArgumentNames.atFlags(a[4]).map(JSONValue.string))
            }
        case "connect", "bind":
            call.args["fd"] = int(a[0])
            call.addr = try address(at: a[1], length: a[2], into: &call)
        case "sendto":
            call.args["fd"] = int(a[0])
            call.args["length"] = .int(Int64(bitPattern: a[2]))
            if a[4] != 0 { call.addr = try address(at: a[4], length: a[5], into: &call) }
        case "kill", "rt_sigqueueinfo":
            call.args["pid"] = int(a[0])
            call.args["sig"] = .string(SyscallArgumentNames.signal(a[1]))
        case "tkill":
            call.args["tid"] = int(a[0])
            call.args["sig"] = .string(SyscallArgumentNames.signal(a[1]))
        case "tgkill", "rt_tgsigqueueinfo":
            call.args["tgid"] = int(a[0])
            call.args["tid"] = int(a[1])
            call.args["sig"] = .string(SyscallArgumentNames.signal(a[2]))
        case "ptrace":
            call.args["request"] = .string(SyscallArgumentNames.ptraceRequests[a[0]] ?? SyscallArgumentNames.hex(a[0]))
            call.args["pid"] = int(a[1])
        case "unshare", "clone":
            call.args["flags"] = .array(SyscallArgumentNames.cloneFlags(a[0] & 0xFFFF_FFFF).map(JSONValue.string))
        case "setns":
            call.args["fd"] = int(a[0])
            call.args["nstype"] = .array(SyscallArgumentNames.cloneFlags(a[1] & 0xFFFF_FFFF).map(JSONValue.string))
        case "socket":
            call.args["family"] = .string(SyscallArgumentNames.family(a[0] & 0xFFFF_FFFF))
            call.args["type"] = int(a[1])
            call.args["protocol"] = int(a[2])
        case "mount":
            // Source and type may be NULL (bind mounts, remounts): read what is there.
            if a[0] != 0, let source = try? string(at: a[0], field: "args.source", limit: Self.pathLimit, into: &call) {
                call.args["source"] = .string(source)
            }
            call.path = try pathArg(a[1], dirfd: nil, key: "target", into: &call)
            if a[2] != 0, let type = try? string(at: a[2], field: "args.fstype", limit: 256, into: &call) {
                call.args["fstype"] = .string(type)
            }
            call.args["flags"] = .string(SyscallArgumentNames.hex(a[3]))
        case "umount2", "chroot", "pivot_root", "swapon", "swapoff", "acct":
            if a[0] != 0 { call.path = try pathArg(a[0], dirfd: nil, key: call.name == "pivot_root" ? "new_root" : "target", into: &call) }
        case "io_uring_setup":
            call.args["entries"] = .int(Int64(a[0] & 0xFFFF_FFFF))
        case "bpf":
            call.args["cmd"] = int(a[0])
        case "ioctl":
            call.args["fd"] = int(a[0])
            let request = a[1] & 0xFFFF_FFFF
            call.args["request"] = .string(SyscallArgumentNames.ioctlRequests[request] ?? SyscallArgumentNames.hex(request))
        default:
            call.args["raw"] = .array(a.map { .int(Int64(bitPattern: $0)) })
        }
    }

    /// A socket address: family, address and port (inet), path or @abstract name (unix).
    private func address(at pointer: UInt64, length: UInt64, into call: inout DecodedCall) throws(Unreadable) -> [String: JSONValue] {
        call.readMemory = true
        let size = Int(min(length, 128))
        guard pointer != 0, size >= 2 else { return ["family": "none"] }
        var bytes = [UInt8](repeating: 0, count: size)
        let n = ar_read_memory(tid, pointer, &bytes, size)
        guard n == size else { throw Unreadable(reason: "addr: unreadable") }
        let family = UInt64(bytes[0]) | UInt64(bytes[1]) << 8
        var out: [String: JSONValue] = ["family": .string(SyscallArgumentNames.family(family))]
        switch family {
        case 2 where size >= 8:
            out["port"] = .int(Int64(UInt16(bytes[2]) << 8 | UInt16(bytes[3])))
            out["address"] = .string("\(bytes[4]).\(bytes[5]).\(bytes[6]).\(bytes[7])")
        case 10 where size >= 24:
            out["port"] = .int(Int64(UInt16(bytes[2]) << 8 | UInt16(bytes[3])))
            out["address"] = .string(Self.ipv6(Array(bytes[8..<24])))
        case 1:
            let path = Array(bytes[2..<size])
            if path.first == 0 {
                out["address"] = .string("@" + String(decoding: path.dropFirst(), as: UTF8.self))
            } else {
                let end = path.firstIndex(of: 0) ?? path.count
                out["address"] = .string(String(decoding: path[..<end], as: UTF8.self))
            }
        default:
            break
        }
        return out
    }

    /// RFC 5952 text of an IPv6 address (longest run of zero groups as `::`; IPv4-mapped).
    static func ipv6(_ b: [UInt8]) -> String {
        let groups = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        if groups[0..<5].allSatisfy({ $0 == 0 }) && groups[5] == 0xFFFF {
            return "::ffff:\(b[12]).\(b[13]).\(b[14]).\(b[15])"
        }
        var bestStart = -1
        var bestLength = 0
        var i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 {
                    bestStart = i
                    bestLength = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        func text(_ range: Range<Int>) -> String { range.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return text(0..<8) }
        return text(0..<bestStart) + "::" + text((bestStart + bestLength)..<8)
    }
}

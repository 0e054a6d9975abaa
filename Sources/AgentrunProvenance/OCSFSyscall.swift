// `syscall.<name>` records as OCSF events: files → File System Activity, exec → Process Activity
// Launch, sockets → Network Activity, the rest → Process Activity (Set User ID, Open, Inject, Other).

extension OCSFRecord {
    func syscall(name: String) -> OCSFEvent? {
        switch name {
        case "execve", "execveat":
            return execSyscall()
        case "connect", "bind", "sendto", "sendmsg", "sendmmsg":
            return networkSyscall(name: name)
        default:
            break
        }
        if let (activity, typeID) = fileActivity(name: name) {
            return fileSyscall(name: name, activity: activity, typeID: typeID)
        }
        if fields["addr"]?.objectValue != nil { return networkSyscall(name: name) }
        if filePath != nil { return fileSyscall(name: name, activity: OCSFActivity.other, typeID: 0) }
        return processSyscall(name: name)
    }

    // MARK: Files

    /// The syscall's path: `path`, else the first decoded path argument.
    var filePath: String? {
        if let p = fields["path"]?.stringValue { return p }
        for key in ["path", "pathname", "filename", "oldpath", "oldname"] {
            if let p = fields["args"]?[key]?.stringValue { return p }
        }
        return nil
    }

    /// The second path of rename/link-like calls (the new name).
    var secondPath: String? {
        for key in ["newpath", "new_path", "newname", "new", "target", "to", "dst"] {
            if let p = fields["args"]?[key]?.stringValue { return p }
        }
        return nil
    }

    /// `flags` (or `args.flags` when a list), upper-cased without their `O_`/`AT_` prefix.
    var normalizedFlags: Set<String> {
        let list = fields["flags"]?.arrayValue ?? fields["args"]?["flags"]?.arrayValue ?? []
        return Set(
            list.compactMap(\.stringValue).map { flag in
                var f = flag.uppercased()
                for prefix in ["O_", "AT_"] where f.hasPrefix(prefix) { f.removeFirst(prefix.count) }
                return f
            })
    }

    /// The File System Activity of a syscall and the type of file it touches, or nil when the
    /// syscall is not a file operation.
    func fileActivity(name: String) -> (Int64, Int64)? {
        let flags = normalizedFlags
        switch name {
        case "open", "openat", "openat2":
            let typeID: Int64 = flags.contains("DIRECTORY") ? 2 : 1
            if flags.contains("CREAT") || flags.contains("TMPFILE") { return (OCSFActivity.fileCreate, typeID) }
            if !flags.isDisjoint(with: ["WRONLY", "RDWR", "TRUNC", "APPEND"]) { return (OCSFActivity.fileUpdate, typeID) }
            return (OCSFActivity.fileRead, typeID)
        case "creat": return (OCSFActivity.fileCreate, 1)
        case "mkdir", "mkdirat": return (OCSFActivity.fileCreate, 2)
        case "mknod", "mknodat": return (OCSFActivity.fileCreate, 0)
        case "symlink", "symlinkat": return (OCSFActivity.fileCreate, 7)
        case "link", "linkat": return (OCSFActivity.fileCreate, 1)
        case "unlink": return (OCSFActivity.fileDelete, 1)
        case "unlinkat": return (OCSFActivity.fileDelete, flags.contains("REMOVEDIR") ? 2 : 1)
        case "rmdir": return (OCSFActivity.fileDelete, 2)
        case "rename", "renameat", "renameat2": return (OCSFActivity.fileRename, 0)
        case "truncate", "ftruncate": return (OCSFActivity.fileUpdate, 1)
        case "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
            "utime", "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr",
            "removexattr", "lremovexattr", "fremovexattr":
            return (OCSFActivity.fileSetAttributes, 0)
        case "stat", "lstat", "fstat", "newfstatat", "fstatat64", "statx", "statfs", "access", "faccessat",
            "faccessat2", "readlink", "readlinkat", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
            "llistxattr", "flistxattr":
            return (OCSFActivity.fileGetAttributes, 0)
        case "mount", "mount_setattr", "move_mount", "fsmount": return (OCSFActivity.fileMount, 2)
        case "umount", "umount2": return (OCSFActivity.fileUnmount, 2)
        default: return nil
        }
    }

    func fileSyscall(name: String, activity: Int64, typeID: Int64) -> OCSFEvent {
        var e = OCSFEvent(.fileSystemActivity, activity, activityName: activity == OCSFActivity.other ? name : nil)
        if let path = filePath, !path.isEmpty {
            e["file"] = Self.file(path: path, typeID: typeID)
        } else {
            e["file"] = ["name": "unknown", "type_id": .int(typeID), "type": .string(Self.fileTypeName(typeID))]
        }
        if activity == OCSFActivity.fileRename, let newPath = secondPath, !newPath.isEmpty {
            e["file_result"] = Self.file(path: newPath, typeID: typeID)
        }
        e["actor"] = actor()
        e.success = true
        applyDecision(&e)
        e["message"] = .string(syscallMessage(name: name, subject: filePath))
        return e
    }

    func syscallMessage(name: String, subject: String?) -> String {
        var m = name
        if let subject { m += " \(subject)" }
        if let decision = fields["decision"]?.stringValue { m += " (\(decision))" }
        return m
    }

    // MARK: Processes

    func execSyscall() -> OCSFEvent? {
        guard let caller = actorProcess() else { return nil }
        var e = OCSFEvent(.processActivity, OCSFActivity.processLaunch)
        let path = filePath ?? fields["argv"]?.arrayValue?.first?.stringValue
        var p = process(pid: fields["actor"]?["pid"]?.intValue, exe: path, argv: fields["argv"]) ?? [:]
        if path == nil, let cmd = Self.commandLine(fields["argv"]) { p["cmd_line"] = .string(cmd) }
        e["process"] = .object(p)
        e["actor"] = ["process": .object(caller)]
        e.success = true
        applyDecision(&e)
        e["message"] = .string(syscallMessage(name: "exec", subject: Self.commandLine(fields["argv"]) ?? path))
        return e
    }

    /// Syscalls that are neither file nor socket operations, as Process Activity of the caller
    /// (or, for ptrace and process_vm_*, of the target process when the record names its pid).
    func processSyscall(name: String) -> OCSFEvent? {
        guard let caller = actorProcess() else { return nil }
        var activity = OCSFActivity.other
        var target = caller
        switch name {
        case "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
            "setgroups":
            activity = OCSFActivity.processSetUserID
        case "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd":
            if let pid = fields["args"]?["pid"]?.intValue {
                activity = name == "process_vm_writev" ? OCSFActivity.processInject : OCSFActivity.processOpen
                target = ["pid": .int(pid)]
            }
        default:
            break
        }
        var e = OCSFEvent(.processActivity, activity, activityName: activity == OCSFActivity.other ? name : nil)
        e["process"] = .object(target)
        e["actor"] = ["process": .object(caller)]
        e.success = true
        applyDecision(&e)
        e["message"] = .string(syscallMessage(name: name, subject: nil))
        return e
    }

    // MARK: Sockets

    func networkSyscall(name: String) -> OCSFEvent {
        let denied = fields["decision"]?.stringValue == "deny"
        let activity: Int64
        switch name {
        case _ where denied: activity = OCSFActivity.networkRefuse
        case "connect": activity = OCSFActivity.networkOpen
        case "bind": activity = OCSFActivity.networkListen
        case "sendto", "sendmsg", "sendmmsg": activity = OCSFActivity.networkTraffic
        default: activity = OCSFActivity.other
        }
        var e = OCSFEvent(.networkActivity, activity, activityName: activity == OCSFActivity.other ? name : nil)
        let addr = fields["addr"]
        let family = addr?["family"]?.stringValue
        let address = addr?["address"]?.stringValue
        var endpoint: [String: JSONValue] = [:]
        var connection: [String: JSONValue] =
            name == "bind" ? ["direction_id": 1, "direction": "Inbound"] : ["direction_id": 2, "direction": "Outbound"]
        if let address, family != "unix", OCSFIP.isValid(address) {
            endpoint["ip"] = .string(address)
            connection.merge(Self.ipVersion(address)) { a, _ in a }
        } else if let address, !address.isEmpty {
            endpoint["name"] = .string(address)
        } else {
            endpoint["name"] = .string(family == "unix" ? "unnamed" : "unknown")
        }
        if family == "unix" { connection["protocol_name"] = "unix" }
        if let port = addr?["port"]?.intValue, family != "unix", (0...65535).contains(port) {
            endpoint["port"] = .int(port)
        }
        e[name == "bind" ? "src_endpoint" : "dst_endpoint"] = .object(endpoint)
        e["connection_info"] = .object(connection)
        e["actor"] = actor()
        e.success = true
        applyDecision(&e)
        var subject = address
        if let a = address, let port = addr?["port"]?.intValue, family != "unix" {
            subject = family == "inet6" ? "[\(a)]:\(port)" : "\(a):\(port)"
        }
        e["message"] = .string(syscallMessage(name: name, subject: subject))
        return e
    }
}

/// The textual IP addresses OCSF's `ip_t` accepts (at most 40 characters).
enum OCSFIP {
    static func isValid(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 40 else { return false }
        return isIPv4(Substring(text)) || isIPv6(text)
    }

    static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part.count == 1 || part.first != "0", let n = Int(part), n <= 255
            else { return false }
        }
        return true
    }

    static func isIPv6(_ text: String) -> Bool {
        var address = Substring(text)
        if let percent = address.firstIndex(of: "%") {
            guard address.index(after: percent) != address.endIndex else { return false }
            address = address[..<percent]
        }
        guard address.contains(":") else { return false }
        let halves = address.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return false }
        var groups = 0
        for (h, half) in halves.enumerated() {
            if half.isEmpty { continue }
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (k, part) in parts.enumerated() {
                let isLast = h == halves.count - 1 && k == parts.count - 1
                if isLast, part.contains(".") {
                    guard isIPv4(part) else { return false }
                    groups += 2
                } else {
                    guard (1...4).contains(part.count), part.allSatisfy(\.isHexDigit) else { return false }
                    groups += 1
                }
            }
        }
        return halves.count == 2 ? groups <= 7 : groups == 8
    }
}

extension Substring {
    /// Splits at "::" (the IPv6 zero run): one piece without it, two with it, more when repeated.
    fileprivate func components(separatedByDoubleColon: ()) -> [Substring] {
        var pieces: [Substring] = []
        var start = startIndex
        var i = startIndex
        while i < endIndex {
            let next = index(after: i)
            if self[i] == ":", next < endIndex, self[next] == ":" {
                pieces.append(self[start..<i])
                i = index(after: next)
                start = i
                // ":::" is not an address.
                if i < endIndex, self[i] == ":" { return [self, self, self] }
            } else {
                i = next
            }
        }
        pieces.append(self[start..<endIndex])
        return pieces
    }
}

import AgentrunOS
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// The other file-write calls on the agent's behalf (`exact_files`): unlink, rmdir, mkdir,
/// mknod, symlink, link, rename, chmod, chown, truncate. As with `ExactOpen`, the supervisor
/// resolves each path itself inside the sandbox's root (the directory with RESOLVE_IN_ROOT and
/// no magic links, then the last name relative to it), checks the resolved path, and performs
/// the call on exactly what it checked, with the agent's identity; the agent gets the result.
/// Nothing is read from the agent's memory twice, so a racing thread cannot swap a name.
struct ExactPathCall {
    let tid: pid_t
    let writableRoots: [String]?

    typealias Check = (String) -> MediationDecider.Decision?

    /// Performs `call` (a file-write call other than an open); its return value, or the
    /// failure the agent gets.
    func perform(_ call: DecodedCall, umask: UInt64, args a: [UInt64], check: Check) -> Result<Int64, ExactOpen.Failure> {
        guard let root = SandboxRoot(tid: tid) else { return .failure(.failed(EACCES)) }
        guard let path = call.path else { return .failure(.failed(EFAULT)) }
        do throws(ExactOpen.Failure) {
            return .success(try perform(call, path: path, in: root, umask: umask, args: a, check: check))
        } catch {
            return .failure(error)
        }
    }

    private func perform(
        _ call: DecodedCall, path: String, in root: SandboxRoot, umask: UInt64, args a: [UInt64], check: Check
    ) throws(ExactOpen.Failure) -> Int64 {
        /// The directory an entry is made or removed in, checked like the entry's own path.
        func place(_ path: String) throws(ExactOpen.Failure) -> SandboxRoot.Entry {
            let entry = try root.entry(path) { name in name.isEmpty ? EBUSY : EINVAL }
            if let denied = check(entry.path) { throw .denied(denied, resolvedPath: entry.path) }
            if let refusal = ExactOpen.writeRefusal(entry.directory.fd, entry.path, roots: writableRoots) { throw .failed(refusal) }
            return entry
        }
        /// The file itself, following symlinks (chmod, chown, truncate and linkat with
        /// AT_SYMLINK_FOLLOW act on the target).
        func target(_ path: String) throws(ExactOpen.Failure) -> SandboxRoot.File {
            let file = try root.file(path)
            if let denied = check(file.path) { throw .denied(denied, resolvedPath: file.path) }
            if ExactOpen.writeRefusal(file.fd, file.path, roots: writableRoots) != nil { throw .failed(EACCES) }
            return file
        }
        func result(_ rc: Int) throws(ExactOpen.Failure) -> Int64 {
            if rc < 0 { throw .failed(errno) }
            return Int64(rc)
        }

        switch call.name {
        case "unlink", "rmdir", "unlinkat":
            let flags: Int32 = call.name == "rmdir" ? 0x200 : call.name == "unlinkat" ? Int32(truncatingIfNeeded: a[2]) : 0
            let p = try place(path)
            return try result(Int(unlinkat(p.directory.fd, p.name, flags)))
        case "mkdir", "mkdirat":
            let mode = (call.name == "mkdir" ? a[1] : a[2]) & 0o7777 & ~umask
            let p = try place(path)
            return try result(Int(mkdirat(p.directory.fd, p.name, mode_t(mode))))
        case "mknod", "mknodat":
            let mode = call.name == "mknod" ? a[1] : a[2]
            let dev = call.name == "mknod" ? a[2] : a[3]
            let type = mode & 0o170000
            guard type == 0 || type == 0o100000 || type == 0o10000 || type == 0o140000 else { throw .failed(EPERM) }
            let p = try place(path)
            return try result(Int(mknodat(p.directory.fd, p.name, mode_t((mode & 0o7777 & ~umask) | type), dev_t(dev))))
        case "symlink", "symlinkat":
            guard case .string(let content)? = call.args["target"] else { throw .failed(EFAULT) }
            let p = try place(path)
            return try result(Int(symlinkat(content, p.directory.fd, p.name)))
        case "rename", "renameat", "renameat2", "link", "linkat":
            guard let second = call.secondPath else { throw .failed(EFAULT) }
            let flags = call.name == "renameat2" || call.name == "linkat" ? a[4] : 0
            if call.name == "linkat", flags & 0x400 != 0 {  // AT_SYMLINK_FOLLOW: link the target
                let old = try target(path)
                let new = try place(second)
                return try result(Int(linkat(AT_FDCWD, "/proc/self/fd/\(old.fd)", new.directory.fd, new.name, 0x400)))
            }
            let old = try place(path)
            let new = try place(second)
            if call.name.hasPrefix("link") {
                return try result(Int(linkat(old.directory.fd, old.name, new.directory.fd, new.name, 0)))
            }
            return try result(Int(ar_renameat2(old.directory.fd, old.name, new.directory.fd, new.name, UInt32(truncatingIfNeeded: flags))))
        case "chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "truncate":
            let owner = call.name == "fchownat" ? (a[2], a[3]) : (a[1], a[2])
            let noFollow = call.name == "lchown" || (call.name == "fchownat" && a[4] & 0x100 != 0) || (call.name == "fchmodat2" && a[3] & 0x100 != 0)
            if noFollow {
                // The link itself: resolve its directory, act on the name without following.
                let p = try place(path)
                guard call.name.hasSuffix("own") || call.name == "fchownat" else {
                    throw .failed(EOPNOTSUPP)  // chmod of a symlink itself: Linux has no such thing
                }
                return try result(Int(fchownat(p.directory.fd, p.name, uid_t(truncatingIfNeeded: owner.0), gid_t(truncatingIfNeeded: owner.1), 0x100)))
            }
            let file = try target(path)
            let magic = "/proc/self/fd/\(file.fd)"
            switch call.name {
            case "chmod": return try result(Int(chmod(magic, mode_t(a[1] & 0o7777))))
            case "fchmodat", "fchmodat2": return try result(Int(chmod(magic, mode_t(a[2] & 0o7777))))
            case "truncate": return try result(Int(truncate(magic, off_t(Int64(bitPattern: a[1])))))
            default: return try result(Int(chown(magic, uid_t(truncatingIfNeeded: owner.0), gid_t(truncatingIfNeeded: owner.1))))
            }
        default:
            throw .failed(ENOSYS)
        }
    }
}

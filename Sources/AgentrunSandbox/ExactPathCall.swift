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

    /// A resolved directory, open O_PATH, and the last component of the path.
    struct Place {
        var directory: Int32
        var resolved: String
        var name: String
        var path: String { resolved == "/" ? "/" + name : resolved + "/" + name }
    }

    /// Performs `call` (a file-write call other than an open); its return value, or the
    /// failure the agent gets.
    func perform(_ call: DecodedCall, umask: UInt64, args a: [UInt64], check: Check) -> Result<Int64, ExactOpen.Failure> {
        let root = ar_open_path("/proc/\(tid)/root", O_DIRECTORY)
        guard root >= 0 else { return .failure(.failed(EACCES)) }
        defer { close(root) }
        guard let path = call.path else { return .failure(.failed(EFAULT)) }
        func place(_ path: String) -> Result<Place, ExactOpen.Failure> {
            let relative = String(path.drop { $0 == "/" })
            let (directory, name) = ExactOpen.split(relative)
            guard !name.isEmpty, name != ".", name != ".." else { return .failure(.failed(name.isEmpty ? EBUSY : EINVAL)) }
            let fd = ar_openat2(root, directory.isEmpty ? "." : directory, ExactOpen.oPath | ExactOpen.oDirectory | ExactOpen.oCloexec, 0,
                                ExactOpen.resolveInRoot | ExactOpen.resolveNoMagiclinks)
            guard fd >= 0 else { return .failure(.failed(-fd)) }
            let resolved = Files.readLink("/proc/self/fd/\(fd)") ?? ("/" + directory)
            let result = Place(directory: fd, resolved: resolved, name: name)
            if let denied = check(result.path) {
                close(fd)
                return .failure(.denied(denied, resolvedPath: result.path))
            }
            if let refusal = refusal(directory: fd, path: result.path) {
                close(fd)
                return .failure(.failed(refusal))
            }
            return .success(result)
        }
        /// The file itself, following symlinks (chmod, chown, truncate and linkat with
        /// AT_SYMLINK_FOLLOW act on the target).
        func target(_ path: String) -> Result<(fd: Int32, path: String), ExactOpen.Failure> {
            let fd = ar_openat2(root, String(path.drop { $0 == "/" }).isEmpty ? "." : String(path.drop { $0 == "/" }),
                                ExactOpen.oPath | ExactOpen.oCloexec, 0, ExactOpen.resolveInRoot | ExactOpen.resolveNoMagiclinks)
            guard fd >= 0 else { return .failure(.failed(-fd)) }
            let resolved = Files.readLink("/proc/self/fd/\(fd)") ?? path
            if let denied = check(resolved) {
                close(fd)
                return .failure(.denied(denied, resolvedPath: resolved))
            }
            var st = stat()
            let parentOK = fstat(fd, &st) == 0 && ExactOpen.refusedFilesystems.contains(ar_fs_type(fd)) == false
            if !parentOK || !within(resolved) {
                close(fd)
                return .failure(.failed(EACCES))
            }
            return .success((fd, resolved))
        }
        func run(_ rc: Int) -> Result<Int64, ExactOpen.Failure> {
            rc < 0 ? .failure(.failed(errno)) : .success(Int64(rc))
        }

        switch call.name {
        case "unlink", "rmdir", "unlinkat":
            let flags: Int32 = call.name == "rmdir" ? 0x200 : call.name == "unlinkat" ? Int32(truncatingIfNeeded: a[2]) : 0
            return place(path).flatMap { p in
                defer { close(p.directory) }
                return run(Int(unlinkat(p.directory, p.name, flags)))
            }
        case "mkdir", "mkdirat":
            let mode = (call.name == "mkdir" ? a[1] : a[2]) & 0o7777 & ~umask
            return place(path).flatMap { p in
                defer { close(p.directory) }
                return run(Int(mkdirat(p.directory, p.name, mode_t(mode))))
            }
        case "mknod", "mknodat":
            let mode = call.name == "mknod" ? a[1] : a[2]
            let dev = call.name == "mknod" ? a[2] : a[3]
            let type = mode & 0o170000
            guard type == 0 || type == 0o100000 || type == 0o10000 || type == 0o140000 else { return .failure(.failed(EPERM)) }
            return place(path).flatMap { p in
                defer { close(p.directory) }
                return run(Int(mknodat(p.directory, p.name, mode_t((mode & 0o7777 & ~umask) | type), dev_t(dev))))
            }
        case "symlink", "symlinkat":
            guard case .string(let content)? = call.args["target"] else { return .failure(.failed(EFAULT)) }
            return place(path).flatMap { p in
                defer { close(p.directory) }
                return run(Int(symlinkat(content, p.directory, p.name)))
            }
        case "rename", "renameat", "renameat2", "link", "linkat":
            guard let second = call.secondPath else { return .failure(.failed(EFAULT)) }
            let flags = call.name == "renameat2" || call.name == "linkat" ? a[4] : 0
            if call.name == "linkat", flags & 0x400 != 0 {  // AT_SYMLINK_FOLLOW: link the target
                return target(path).flatMap { old in
                    defer { close(old.fd) }
                    return place(second).flatMap { new in
                        defer { close(new.directory) }
                        return run(Int(linkat(AT_FDCWD, "/proc/self/fd/\(old.fd)", new.directory, new.name, 0x400)))
                    }
                }
            }
            return place(path).flatMap { old in
                defer { close(old.directory) }
                return place(second).flatMap { new in
                    defer { close(new.directory) }
                    if call.name.hasPrefix("link") {
                        return run(Int(linkat(old.directory, old.name, new.directory, new.name, 0)))
                    }
                    return run(Int(ar_renameat2(old.directory, old.name, new.directory, new.name, UInt32(truncatingIfNeeded: flags))))
                }
            }
        case "chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "truncate":
            let noFollow: Bool
            switch call.name {
            case "lchown": noFollow = true
            case "fchownat", "fchmodat2": noFollow = a[call.name == "fchownat" ? 4 : 3] & 0x100 != 0
            default: noFollow = false
            }
            if noFollow {
                // The link itself: resolve its directory, act on the name without following.
                return place(path).flatMap { p in
                    defer { close(p.directory) }
                    if call.name.hasSuffix("own") || call.name == "fchownat" {
                        let (owner, group) = call.name == "fchownat" ? (a[2], a[3]) : (a[1], a[2])
                        return run(Int(fchownat(p.directory, p.name, uid_t(truncatingIfNeeded: owner), gid_t(truncatingIfNeeded: group), 0x100)))
                    }
                    return .failure(.failed(EOPNOTSUPP))  // chmod of a symlink itself: Linux has no such thing
                }
            }
            return target(path).flatMap { file in
                defer { close(file.fd) }
                let magic = "/proc/self/fd/\(file.fd)"
                switch call.name {
                case "chmod": return run(Int(chmod(magic, mode_t(a[1] & 0o7777))))
                case "fchmodat", "fchmodat2": return run(Int(chmod(magic, mode_t(a[2] & 0o7777))))
                case "truncate": return run(Int(truncate(magic, off_t(Int64(bitPattern: a[1])))))
                default:
                    let (owner, group) = call.name == "fchownat" ? (a[2], a[3]) : (a[1], a[2])
                    return run(Int(chown(magic, uid_t(truncatingIfNeeded: owner), gid_t(truncatingIfNeeded: group))))
                }
            }
        default:
            return .failure(.failed(ENOSYS))
        }
    }

    private func within(_ path: String) -> Bool {
        guard let roots = writableRoots else { return true }
        return roots.contains { Paths.isWithin(path, $0) || path == $0 }
    }

    /// Why a directory must not be changed by the supervisor, as an errno; nil when fine.
    private func refusal(directory fd: Int32, path: String) -> Int32? {
        if ExactOpen.refusedFilesystems.contains(ar_fs_type(fd)) { return EACCES }
        return within(path) ? nil : EACCES
    }
}

import AgentrunOS
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// Opens a file for writing on the agent's behalf (`exact_files`), so the file checked is the
/// file opened: the supervisor resolves the path itself, inside the sandbox's root
/// (/proc/<tid>/root with RESOLVE_IN_ROOT, never through magic links), checks the resolved
/// file, opens that very file, and the notifier injects the descriptor (NOTIF_ADDFD). The
/// agent's memory is read once, so no other thread can swap the name in between.
///
/// The notifier thread runs with the agent's fsuid/fsgid, no supplementary groups and its own
/// umask 0 (ar_notifier_thread_identity), so file permissions apply as to the agent; what the
/// kernel would add on top (Landlock's write set) is mirrored by `writableRoots`. Refused here
/// although the kernel might allow them: device files other than null/zero/full/random/urandom
/// (a tty opened by the supervisor would not be the agent's), procfs/sysfs/cgroupfs files (their
/// permission checks look at the opener), and FIFOs without a reader (the open would block the
/// supervisor; the agent gets ENXIO as with O_NONBLOCK).
struct ExactOpen {
    let tid: pid_t
    /// Where Landlock lets the agent write, inside the sandbox; nil: no Landlock in this run.
    let writableRoots: [String]?

    struct Opened {
        var fd: Int32
        /// The file's path after resolving symlinks, inside the sandbox.
        var resolvedPath: String
    }

    enum Failure: Error {
        /// The open failed as the agent's own would have (ENOENT, EACCES, EROFS...).
        case failed(Int32)
        /// Refused by a rule on the resolved path.
        case denied(MediationDecider.Decision, resolvedPath: String)
    }

    static let oPath: UInt64 = 0o10000000
    static let oCreat: UInt64 = 0o100
    static let oExcl: UInt64 = 0o200
    static let oNoctty: UInt64 = 0o400
    static let oNonblock: UInt64 = 0o4000
    static let oDirectory: UInt64 = 0o200000
    static let oNofollow: UInt64 = 0o400000
    static let oCloexec: UInt64 = 0o2000000
    static let oTmpfile: UInt64 = 0o20200000
    static let resolveNoMagiclinks: UInt64 = 0x02
    static let resolveNoSymlinks: UInt64 = 0x04
    static let resolveBeneath: UInt64 = 0x08
    static let resolveInRoot: UInt64 = 0x10

    /// - Parameters:
    ///   - path: absolute inside the sandbox (already resolved against cwd/dirfd, lexically).
    ///   - check: the deny_write decision for the resolved path.
    func open(
        path: String, flags: UInt64, mode: UInt64, umask: UInt64, check: (String) -> MediationDecider.Decision?
    ) -> Result<Opened, Failure> {
        guard let root = SandboxRoot(tid: tid) else { return .failure(.failed(EACCES)) }
        do throws(Failure) {
            return .success(try open(in: root, path: path, flags: flags, mode: mode & ~umask & 0o7777, depth: 0, check: check))
        } catch {
            return .failure(error)
        }
    }

    private func open(
        in root: SandboxRoot, path: String, flags: UInt64, mode: UInt64, depth: Int, check: (String) -> MediationDecider.Decision?
    ) throws(Failure) -> Opened {
        if depth > 40 { throw .failed(ELOOP) }
        let creating = flags & Self.oCreat != 0 && flags & Self.oTmpfile != Self.oTmpfile
        let exclusive = creating && flags & Self.oExcl != 0

        // 1. Without side effects: the existing file (following symlinks unless O_NOFOLLOW).
        // With O_EXCL an existing file (or symlink) at the name is EEXIST, as for the agent.
        let existing: SandboxRoot.File
        do throws(Failure) {
            existing = try root.file(path, flags: exclusive ? Self.oNofollow : flags & (Self.oNofollow | Self.oDirectory))
        } catch .failed(ENOENT) {
            guard creating || flags & Self.oTmpfile == Self.oTmpfile else { throw .failed(ENOENT) }
            return try create(in: root, path: path, flags: flags, mode: mode, depth: depth, exclusive: exclusive, check: check)
        }
        if exclusive { throw .failed(EEXIST) }
        if let decision = check(existing.path) { throw .denied(decision, resolvedPath: existing.path) }
        if let refusal = refusal(of: existing) { throw .failed(refusal) }
        // 2. Reopen that very file with the agent's flags (O_CREAT is moot: it exists).
        var reopenFlags = (flags & ~(Self.oCreat | Self.oExcl | Self.oNofollow)) | Self.oNoctty | Self.oCloexec
        var st = stat()
        let isFifo = fstat(existing.fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO
        if isFifo { reopenFlags |= Self.oNonblock }
        let fd = existing.reopen(reopenFlags)
        guard fd >= 0 else { throw .failed(-fd) }
        if isFifo && flags & Self.oNonblock == 0 {
            _ = fcntl(fd, F_SETFL, Int32(truncatingIfNeeded: flags & ~Self.oNonblock) & ~O_CLOEXEC)
        }
        return Opened(fd: fd, resolvedPath: existing.path)
    }

    /// 3. A new file: resolve the directory, check the would-be path, create it there without
    /// following a symlink that may appear at the name meanwhile.
    private func create(
        in root: SandboxRoot, path: String, flags: UInt64, mode: UInt64, depth: Int, exclusive: Bool,
        check: (String) -> MediationDecider.Decision?
    ) throws(Failure) -> Opened {
        let entry = try root.entry(path) { _ in EISDIR }
        if let decision = check(entry.path) { throw .denied(decision, resolvedPath: entry.path) }
        if let refusal = Self.writeRefusal(entry.directory.fd, entry.path, roots: writableRoots) { throw .failed(refusal) }
        let createFlags = flags | Self.oNoctty | Self.oCloexec | Self.oNofollow
        let fd = ar_openat2(entry.directory.fd, entry.name, createFlags, mode, Self.resolveBeneath | Self.resolveNoSymlinks | Self.resolveNoMagiclinks)
        if fd == -ELOOP && flags & Self.oNofollow == 0 && !exclusive {
            // A dangling symlink at the name: the kernel would create its target. Follow it by
            // hand (inside the sandbox's root) and check the target like any other path.
            var buffer = [CChar](repeating: 0, count: 4097)
            let n = readlinkat(entry.directory.fd, entry.name, &buffer, 4096)
            guard n > 0 else { throw .failed(ELOOP) }
            let target = buffer.withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer(start: $0.baseAddress, count: n), as: UTF8.self) }
            let next = Paths.normalize(target.hasPrefix("/") ? target : entry.directory.path + "/" + target)
            return try open(in: root, path: next, flags: flags, mode: mode, depth: depth + 1, check: check)
        }
        guard fd >= 0 else { throw .failed(-fd) }
        return Opened(fd: fd, resolvedPath: entry.path)
    }

    static let refusedFilesystems: Set<Int64> = [0x9FA0, 0x6265_6572, 0x6367_7270, 0x27E0EB, 0x6462_6720, 0x7363_6673]

    /// Why the supervisor must not write at `path` (open as `fd`), as an errno; nil when fine:
    /// procfs, sysfs, cgroupfs and the like (their permission checks look at the opener), and
    /// anything outside the places Landlock lets the agent write (`roots`; nil: no Landlock).
    static func writeRefusal(_ fd: Int32, _ path: String, roots: [String]?) -> Int32? {
        if refusedFilesystems.contains(ar_fs_type(fd)) { return EACCES }
        if let roots, !roots.contains(where: { Paths.isWithin(path, $0) }) { return EACCES }
        return nil
    }

    /// Why an existing file must not be opened by the supervisor, as an errno; nil when fine.
    private func refusal(of file: SandboxRoot.File) -> Int32? {
        var st = stat()
        guard fstat(file.fd, &st) == 0 else { return EACCES }
        let type = st.st_mode & S_IFMT
        if type == S_IFCHR || type == S_IFBLK {
            let major = (st.st_rdev >> 8) & 0xFFF
            let minor = (st.st_rdev & 0xFF) | ((st.st_rdev >> 12) & 0xFFF00)
            if type == S_IFCHR && major == 1 && [3, 5, 7, 8, 9].contains(minor) { return nil }
            return file.path == "/dev/tty" ? ENXIO : EACCES
        }
        if type == S_IFSOCK { return ENXIO }
        return Self.writeRefusal(file.fd, file.path, roots: writableRoots)
    }

    static func split(_ relative: String) -> (String, String) {
        var parts = relative.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let name = parts.popLast() ?? ""
        return (parts.joined(separator: "/"), name)
    }
}

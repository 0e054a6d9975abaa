import AgentrunOS
import CAgentrunShim

#if canImport(Glibc)
import Glibc
#endif

/// Paths inside the sandbox, resolved by the supervisor as the kernel resolves them for the
/// agent: from the calling thread's root (/proc/<tid>/root) with RESOLVE_IN_ROOT, so `..` and
/// absolute symlinks stay inside the sandbox, and never through magic links (the supervisor's
/// /proc/self is not the agent's). Every check the notifier makes on a resolved path — deny
/// rules, the identity of a program, the files exact_files acts on — resolves through here, and
/// what it then acts on is the descriptor it checked, never the name again.
final class SandboxRoot {
    let fd: Int32

    init?(tid: pid_t) {
        let fd = ar_open_path("/proc/\(tid)/root", O_DIRECTORY)
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    /// A file or directory open O_PATH, and its path inside the sandbox after resolution.
    final class File {
        let fd: Int32
        let path: String

        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
        }

        deinit { close(fd) }

        /// The same file opened anew with `flags` (through the descriptor's /proc/self/fd link,
        /// so with the caller's permission checks, but never another file). fd or -errno.
        func reopen(_ flags: UInt64) -> Int32 {
            let opened = open("/proc/self/fd/\(fd)", Int32(truncatingIfNeeded: flags))
            return opened >= 0 ? opened : -errno
        }
    }

    /// The directory that holds `path`'s last name, and that name.
    struct Entry {
        let directory: File
        let name: String
        var path: String { directory.path == "/" ? "/" + name : directory.path + "/" + name }
    }

    static let resolve = ExactOpen.resolveInRoot | ExactOpen.resolveNoMagiclinks

    /// `path` (absolute inside the sandbox) open O_PATH, with `flags` added (O_NOFOLLOW,
    /// O_DIRECTORY); throws the errno of the resolution.
    func file(_ path: String, flags: UInt64 = 0) throws(ExactOpen.Failure) -> File {
        let relative = String(path.drop { $0 == "/" })
        let opened = ar_openat2(fd, relative.isEmpty ? "." : relative, ExactOpen.oPath | ExactOpen.oCloexec | flags, 0, Self.resolve)
        guard opened >= 0 else { throw .failed(-opened) }
        return File(fd: opened, path: Files.readLink("/proc/self/fd/\(opened)") ?? path)
    }

    /// `path`'s directory resolved and open O_PATH, and its last name (not followed).
    /// `badName` gives the errno for a path whose last name is empty, `.` or `..`.
    func entry(_ path: String, badName: (String) -> Int32) throws(ExactOpen.Failure) -> Entry {
        let (directory, name) = ExactOpen.split(String(path.drop { $0 == "/" }))
        guard !name.isEmpty, name != ".", name != ".." else { throw .failed(badName(name)) }
        return Entry(directory: try file("/" + directory, flags: ExactOpen.oDirectory), name: name)
    }
}

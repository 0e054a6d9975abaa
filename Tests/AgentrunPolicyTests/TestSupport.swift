#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@testable import AgentrunPolicy

/// A private scratch directory, removed when the test is done.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/agentrun-policy-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap { mkdtemp($0) } }
        path = created.map { String(cString: $0) } ?? "/tmp/agentrun-policy-test-failed"
    }

    deinit { Self.remove(path) }

    /// Writes `text` to `name` (relative to the directory), creating parent directories.
    @discardableResult
    func write(_ name: String, _ text: String, mode: mode_t = 0o644) -> String {
        let full = path + "/" + name
        var directory = ""
        for component in name.split(separator: "/").dropLast() {
            directory += "/" + component
            mkdir(path + directory, 0o755)
        }
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd >= 0 {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        chmod(full, mode)
        return full
    }

    func writeBytes(_ name: String, _ bytes: [UInt8]) {
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    @discardableResult
    func makeDirectory(_ name: String) -> String {
        mkdir(path + "/" + name, 0o755)
        return path + "/" + name
    }

    private static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in FileSystem.directoryEntries(path) { remove(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// Loads `yaml` and returns the error it must produce (nil when it loads).
func loadError(_ yaml: String, file: String = "bad.yaml", store: ProfileStore = ProfileStore(searchPaths: [])) -> ProfileError? {
    do {
        _ = try store.load(yaml: yaml, file: file)
        return nil
    } catch {
        return error
    }
}

/// Loads a name or path and returns the error it must produce (nil when it loads).
func loadError(named nameOrPath: String, store: ProfileStore) -> ProfileError? {
    do {
        _ = try store.load(nameOrPath)
        return nil
    } catch {
        return error
    }
}

let builtinStore = ProfileStore(searchPaths: [])

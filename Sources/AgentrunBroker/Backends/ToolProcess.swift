#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CAgentrunShim

/// How to start a host-side tool process: everything it gets is spelled out (no inherited
/// environment, descriptors or working directory).
struct ToolCommandLine: Sendable {
    /// The program to execute (resolved with `resolveProgram`).
    var path: String
    var argv: [String]
    /// `NAME=value` entries: the whole environment.
    var environment: [String]
    var cwd: String

    /// The default PATH of tools (the supervisor's own PATH never passes).
    static let defaultPath = "/usr/bin:/bin"

    /// `name` when it contains a `/`, else the first executable regular file named `name` in the
    /// directories of `searchPath`. nil when there is none.
    static func resolveProgram(_ name: String, searchPath: String) -> String? {
        if name.contains("/") { return name }
        guard !name.isEmpty else { return nil }
        for directory in searchPath.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = String(directory) + (directory.hasSuffix("/") ? "" : "/") + name
            var st = stat()
            if stat(candidate, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    /// Starts the process through `ar_tool_spawn` (posix_spawn in C). Returns it, or an errno.
    func spawn(stdinPipe: Bool) -> Result<ar_tool_process, ToolSpawnFailure> {
        let path = strdup(self.path)
        let cwd = strdup(self.cwd)
        let argv = ToolCommandLine.cStrings(self.argv)
        let envp = ToolCommandLine.cStrings(environment)
        defer {
            free(path)
            free(cwd)
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var process = ar_tool_process()
        let rc = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                var config = ar_tool_spawn_config(
                    path: path, argv: argvBuffer.baseAddress, envp: envpBuffer.baseAddress, cwd: cwd,
                    stdin_pipe: stdinPipe ? 1 : 0
                )
                return ar_tool_spawn(&config, &process)
            }
        }
        if rc != 0 { return .failure(ToolSpawnFailure(program: self.path, errno: -rc)) }
        return .success(process)
    }

    /// NULL-terminated array of strdup'd strings (the caller frees the non-nil ones).
    private static func cStrings(_ strings: [String]) -> [UnsafeMutablePointer<CChar>?] {
        strings.map { strdup($0) } + [nil]
    }
}

/// A tool process that could not be started (posix_spawn reports exec errors too).
struct ToolSpawnFailure: Error, Sendable, CustomStringConvertible {
    var program: String
    var errno: Int32
    var description: String { "cannot start \(program): \(String(cString: strerror(errno)))" }
}

extension String {
    /// Whether the text contains a NUL byte (which would cut a C string: refused in argv and env).
    var containsNUL: Bool { utf8.contains(0) }
}

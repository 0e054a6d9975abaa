@testable import AgentrunProvenance
import AgentrunOS
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A private temporary directory, removed with everything in it at the end of `body`.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    var template = Array("/tmp/agentrun-prov-test.XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp: \(Errno.describe(errno))") }
    let directory = String(cString: made)
    defer { removeTree(directory) }
    return try body(directory)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func removeTree(_ path: String) {
    if Files.kind(path) == .directory, let dir = opendir(path) {
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    try Files.read(path, limit: 1 << 30)
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw TestFailure("open \(path): \(Errno.describe(errno))") }
    defer { close(fd) }
    let ok = bytes.withUnsafeBytes { Files.writeAll(fd: fd, $0) }
    guard ok else { throw TestFailure("write \(path)") }
}

/// The lines of a log, without their newlines (a missing final newline is kept as a last line).
func lines(_ path: String) throws -> [[UInt8]] {
    var parts = try readFile(path).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
    if parts.last?.isEmpty == true { parts.removeLast() }
    return parts
}

func writeLines(_ path: String, _ lines: [[UInt8]]) throws {
    try writeFile(path, lines.flatMap { $0 + [UInt8(ascii: "\n")] })
}

func decode(_ line: [UInt8]) throws -> [String: JSONValue] {
    guard case .object(let record) = try CanonicalJSON.decode(line) else { throw TestFailure("not an object") }
    return record
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// The record with its hash recomputed the way an attacker who knows the format would.
func rehashed(_ record: [String: JSONValue]) -> [UInt8] {
    var record = record
    record["hash"] = nil
    record["hash"] = .string(CanonicalJSON.sha256Hex(CanonicalJSON.encode(.object(record))))
    return CanonicalJSON.encode(.object(record))
}

/// Re-chains lines from `index` on: recomputes every `prev` and `hash` (what a forger without
/// the run key can do; only the checkpoint signatures stop it).
func rechain(_ lines: [[UInt8]], from index: Int) throws -> [[UInt8]] {
    var lines = lines
    for i in index..<lines.count {
        var record = try decode(lines[i])
        record["prev"] = .string(i == 0 ? String(repeating: "0", count: 64) : CanonicalJSON.sha256Hex(lines[i - 1]))
        lines[i] = rehashed(record)
    }
    return lines
}

/// The index of the line holding `seq`.
func index(of seq: Int64, in lines: [[UInt8]]) throws -> Int {
    for (i, line) in lines.enumerated() where try decode(line)["seq"]?.intValue == seq { return i }
    throw TestFailure("no seq \(seq)")
}

let testRunID = "01936f0e-7c3a-7b2e-9f10-3c5d8e2a4b61"

func startFields(profile: String = "default", extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
    var fields: [String: JSONValue] = [
        "agentrun": ["version": "0.1.0"],
        "host": ["hostname": "test", "kernel": "6.1", "arch": "x86_64"],
        "user": ["uid": 1000, "gid": 1000],
        "argv": ["agentrun", "--", "python3", "agent.py"],
        "cwd": "/work",
        "env_keys": ["HOME", "PATH"],
        "profile": ["name": .string(profile), "source": "builtin", "sha256": "00", "resolved": [:]],
    ]
    for (key, value) in extra { fields[key] = value }
    return fields
}

func openRecord(_ i: Int) -> [String: JSONValue] {
    [
        "actor": ["pid": 4242, "exe": "/usr/bin/python3"],
        "path": .string("/workspace/src/file_\(i).py"),
        "flags": ["O_RDONLY", "O_CLOEXEC"],
        "decision": "allow",
    ]
}

/// Writes a log: session.start, `count` syscall records, session.end, final checkpoint (unless
/// `finish` is false).
@discardableResult
func writeLog(
    _ path: String, count: Int, runID: String = testRunID, runKey: RunKey = .generate(),
    options: ProvenanceWriter.Options = .init(), redactor: Redactor = Redactor(secrets: []), finish: Bool = true,
    start: [String: JSONValue] = startFields()
) throws -> RunKey {
    let writer = try ProvenanceWriter.create(path: path, runID: runID, runKey: runKey, redactor: redactor, options: options)
    try writer.append("session.start", start)
    for i in 0..<count { try writer.append("syscall.openat", openRecord(i)) }
    if finish {
        try writer.append("session.end", ["exit_code": 0, "reason": "exited", "records": .int(Int64(count) + 1)])
        _ = try writer.finish()
    }
    return runKey
}

/// Runs `body(index)` on `count` real threads at once and waits for them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Box: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box { body(index) }).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<Box>.fromOpaque(context).takeRetainedValue().body()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

func sleepSeconds(_ seconds: Double) {
    var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var rest = timespec()
    while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
}

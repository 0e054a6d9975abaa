@testable import AgentrunProvenance
import AgentrunOS
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct WriteFailureTests {
    func writer(fd: Int32, path: String, options: ProvenanceWriter.Options = .init()) throws -> ProvenanceWriter {
        try ProvenanceWriter(
            fd: fd, path: path, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []), options: options)
    }

    @Test func devFullFailsStickily() throws {
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        let writer = try writer(fd: fd, path: "/dev/full")
        // Lines are gathered for one write: the append succeeds, the write at the tick fails.
        try writer.append("session.start", startFields())
        #expect(writer.failure == nil)
        var first: ProvenanceError?
        do throws(ProvenanceError) {
            try writer.tick()
        } catch {
            first = error
        }
        let error = try #require(first)
        #expect(error.errno == ENOSPC)
        #expect(error.op == "write")
        #expect(error.description.contains("/dev/full"))
        #expect(writer.failure == error)
        // Sticky: the same error from everything, and nothing written.
        #expect(throws: error) { try writer.append("syscall.openat", openRecord(0)) }
        #expect(throws: error) { try writer.tick() }
        #expect(throws: error) { try writer.finish() }
    }

    @Test func backgroundWriteFailureReachesTheNextAppend() throws {
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        let writer = try writer(fd: fd, path: "/dev/full")
        try writer.append("session.start", startFields())
        // The background thread writes pending lines within 10 ms.
        sleepSeconds(0.1)
        #expect(writer.failure?.errno == ENOSPC)
        #expect(throws: ProvenanceError.self) { try writer.append("syscall.openat", openRecord(0)) }
    }

    @Test func recordDurabilityFailsAtOnce() throws {
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        let writer = try writer(fd: fd, path: "/dev/full", options: .init(durability: .record))
        #expect(throws: ProvenanceError.self) { try writer.append("session.start", startFields()) }
        #expect(writer.failure?.errno == ENOSPC)
    }

    @Test func removedOrReplacedLogFailsTheNextTick() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            let writer = try ProvenanceWriter.create(path: path, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []))
            try writer.append("session.start", startFields())
            try writer.tick()
            unlink(path)
            #expect(throws: ProvenanceError.self) { try writer.tick() }
            #expect(writer.failure?.message == "log file removed or replaced")
            #expect(throws: ProvenanceError.self) { try writer.append("x.y", [:]) }

            let second = dir + "/second.jsonl"
            let replaced = try ProvenanceWriter.create(path: second, runID: testRunID, runKey: .generate(), redactor: Redactor(secrets: []))
            try replaced.append("session.start", startFields())
            try writeFile(dir + "/impostor", [])
            rename(dir + "/impostor", second)
            #expect(throws: ProvenanceError.self) { try replaced.tick() }
            #expect(replaced.failure?.message == "log file removed or replaced")
        }
    }

    /// A file on a 16 KiB tmpfs mounted in a private mount namespace (a thread of its own
    /// unshares it; the fd outlives the namespace). Root only.
    @Test(.enabled(if: getuid() == 0, "needs root to mount a tmpfs"))
    func fullFilesystemFailsAndLeavesCompleteRecords() throws {
        try withTemporaryDirectory { dir in
            let fd = try TinyTmpfs.openFile(mountpoint: dir, size: 16 << 10)
            let reader = dup(fd)
            defer { close(reader) }
            let writer = try writer(fd: fd, path: dir + "/log.jsonl", options: .init(checkpointEvery: 10))
            var failure: ProvenanceError?
            var written = 0
            do throws(ProvenanceError) {
                try writer.append("session.start", startFields())
                for i in 0..<1000 {
                    try writer.append("syscall.openat", openRecord(i))
                    written += 1
                }
            } catch {
                failure = error
            }
            let error = try #require(failure)
            #expect(error.errno == ENOSPC)
            #expect(written > 5)
            #expect(throws: error) { try writer.append("syscall.openat", openRecord(0)) }
            #expect(throws: error) { try writer.finish() }
            // Only complete records remain, and they verify as an unsealed prefix.
            let view = "/proc/self/fd/\(reader)"
            let bytes = try Files.read(view, limit: 1 << 20)
            #expect(bytes.last == UInt8(ascii: "\n"))
            let report = LogVerifier.verify(path: view, operatorKey: nil)
            #expect(report.problem?.kind == .unsealed || report.problem?.kind == .truncated, "\(report)")
            #expect(report.records > 5)
        }
    }
}

/// Mounts a tmpfs of `size` bytes on `mountpoint` in a new mount namespace owned by a
/// short-lived thread, and returns an fd for a file on it.
enum TinyTmpfs {
    final class Result: @unchecked Sendable {
        var fd: Int32 = -1
        var error = ""
    }

    static func openFile(mountpoint: String, size: Int) throws -> Int32 {
        let result = Result()
        onThreads(1) { _ in
            typealias Unshare = @convention(c) (Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "unshare") else {
                result.error = "no unshare"
                return
            }
            let unshare = unsafeBitCast(symbol, to: Unshare.self)
            let cloneNewNS: Int32 = 0x0002_0000
            guard unshare(cloneNewNS) == 0 else {
                result.error = "unshare: \(Errno.describe(errno))"
                return
            }
            let msRec: UInt = 16384
            let msPrivate: UInt = 1 << 18
            guard mount(nil, "/", nil, msRec | msPrivate, nil) == 0,
                mount("agentrun-test", mountpoint, "tmpfs", 0, "size=\(size),mode=0700") == 0
            else {
                result.error = "mount: \(Errno.describe(errno))"
                return
            }
            result.fd = open(mountpoint + "/log.jsonl", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if result.fd < 0 { result.error = "open: \(Errno.describe(errno))" }
        }
        guard result.fd >= 0 else { throw TestFailure(result.error) }
        return result.fd
    }
}

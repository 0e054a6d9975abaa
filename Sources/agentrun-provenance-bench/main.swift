// Throughput of the provenance log (bench/provenance.sh): appends of ~300-byte `syscall.openat`
// records on one thread with the default options (hashing, a signed checkpoint every 1000
// records, `checkpoint` durability), then `LogVerifier.verify` over the file. Also measured:
// appends from 16 threads, and `record` durability (an fdatasync per record).
//
//   agentrun-provenance-bench [RECORDS] [DIRECTORY] [PHASES]   (PHASES: comma-separated subset of
//   append,verify,threads,record; default all), or --verify FILE [TIMES]
import AgentrunOS
import AgentrunProvenance

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func fail(_ message: String) -> Never {
    let text = Array("agentrun-provenance-bench: \(message)\n".utf8)
    text.withUnsafeBytes { _ = Files.writeAll(fd: 2, $0) }
    exit(1)
}

func format3(_ value: Double) -> String {
    let ms = Int((value * 1000).rounded())
    let fraction = String(ms % 1000)
    return "\(ms / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}

final class Box: @unchecked Sendable {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

func threads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    var ids: [pthread_t] = []
    for index in 0..<n {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box { body(index) }).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<Box>.fromOpaque(context).takeRetainedValue().body()
            return nil
        }, box)
        guard rc == 0 else { fail("pthread_create: \(Errno.describe(rc))") }
        ids.append(thread)
    }
    for thread in ids { pthread_join(thread, nil) }
}

/// `--verify FILE [TIMES]`: only verify an existing log (for profiling the verifier).
func verifyOnly(_ path: String, times: Int) {
    for _ in 0..<times {
        let start = now()
        let report = LogVerifier.verify(path: path, operatorKey: nil)
        let seconds = now() - start
        print("verify: \(report.records) records in \(format3(seconds))s = \(Int(Double(report.records) / seconds)) records/s; \(report)")
    }
}

func bench() {
    let arguments = CommandLine.arguments
    if arguments.count > 2, arguments[1] == "--verify" {
        verifyOnly(arguments[2], times: arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1)
        return
    }
    let count = arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000
    let base = arguments.count > 2 ? arguments[2] : "/tmp"
    let phases = Set((arguments.count > 3 ? arguments[3] : "append,verify,threads,record").split(separator: ",").map(String.init))
    var template = Array("\(base)/agentrun-provenance-bench.XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { fail("mkdtemp in \(base): \(Errno.describe(errno))") }
    let directory = String(cString: made)
    var created: [String] = []
    let keep = phases.contains("keep")
    defer {
        if !keep {
            for path in created { unlink(path) }
            rmdir(directory)
        } else {
            print("kept \(directory)")
        }
    }

    /// A pool of distinct records so the bench measures the writer, not building dictionaries:
    /// `syscall.openat` with the acting pid, path, flags and decision (~380-byte lines; the
    /// common members alone take ~270 bytes).
    let pool: [[String: JSONValue]] = (0..<1024).map { i in
        [
            "actor": ["pid": .int(Int64(41_000 + i % 7))],
            "path": .string("/workspace/src/pkg/mod_\(i).py"),
            "flags": ["O_RDONLY", "O_CLOEXEC"],
            "decision": "allow",
        ]
    }
    let sessionStart: [String: JSONValue] = [
        "agentrun": ["version": "0.1.0"], "argv": ["agentrun", "--", "python3", "agent.py"], "cwd": "/workspace",
        "profile": ["name": "default", "source": "builtin"],
    ]

    func newWriter(_ name: String, _ options: ProvenanceWriter.Options) -> ProvenanceWriter {
        let path = directory + "/" + name
        created.append(path)
        do {
            let redactor = Redactor(secrets: ["sk-bench-secret-value-0123456789", "ghp_benchTokenValue"])
            let writer = try ProvenanceWriter.create(
                path: path, runID: "019b0a1e-7c3a-7b2e-9f10-3c5d8e2a4b61", runKey: .generate(), redactor: redactor,
                options: options)
            try writer.append("session.start", sessionStart)
            return writer
        } catch {
            fail("\(error)")
        }
    }

    func fileSize(_ path: String) -> Int {
        Files.status(path).map { Int($0.st_size) } ?? 0
    }

    // 1. One thread, default options.
    let writer = newWriter("single.jsonl", .init())
    let appendStart = now()
    do {
        for i in 0..<count { try writer.append("syscall.openat", pool[i & 1023]) }
        _ = try writer.finish()
    } catch {
        fail("\(error)")
    }
    let appendSeconds = now() - appendStart
    let size = fileSize(writer.path)
    let lines = count + 2 + count / 1000
    print("append (1 thread, checkpoint durability): \(count) records in \(String(format3(appendSeconds)))s = \(Int(Double(count) / appendSeconds)) records/s; \(size / lines) bytes/line average, \(Int(Double(size) / appendSeconds / 1e6)) MB/s")

    // 2. Verify that file.
    if phases.contains("verify") {
    let verifyStart = now()
    let report = LogVerifier.verify(path: writer.path, operatorKey: nil)
    let verifySeconds = now() - verifyStart
    print("verify: \(report.records) records in \(format3(verifySeconds))s = \(Int(Double(report.records) / verifySeconds)) records/s (\(Int(Double(size) / verifySeconds / 1e6)) MB/s); \(report)")
    guard report.intact else { fail("the bench log does not verify") }
    }

    // 3. Sixteen threads appending to one writer.
    if phases.contains("threads") {
    let shared = newWriter("threads.jsonl", .init())
    let perThread = count / 16
    let threadsStart = now()
    threads(16) { index in
        for i in 0..<perThread { _ = try? shared.append("syscall.openat", pool[(i + index) & 1023]) }
    }
    let threadsSeconds = now() - threadsStart
    do { _ = try shared.finish() } catch { fail("\(error)") }
    let threadsReport = LogVerifier.verify(path: shared.path, operatorKey: nil)
    print("append (16 threads): \(perThread * 16) records in \(format3(threadsSeconds))s = \(Int(Double(perThread * 16) / threadsSeconds)) records/s; \(threadsReport.intact ? "intact" : "NOT INTACT")")
    }

    // 4. Record durability: every append waits for its fdatasync.
    if phases.contains("record") {
    let durable = newWriter("durable.jsonl", .init(durability: .record))
    let durableCount = min(count, 2000)
    let durableStart = now()
    do {
        for i in 0..<durableCount { try durable.append("syscall.openat", pool[i & 1023]) }
        _ = try durable.finish()
    } catch {
        fail("\(error)")
    }
    let durableSeconds = now() - durableStart
    print("append (1 thread, record durability): \(durableCount) records in \(format3(durableSeconds))s = \(Int(Double(durableCount) / durableSeconds)) records/s")
    }
}

bench()

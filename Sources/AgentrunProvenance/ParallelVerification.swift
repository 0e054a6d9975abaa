import AgentrunOS
import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Verifies a large log on every core. Each record's checks need only the record itself and the
/// run's key, except its link to the line before, so the file is cut into slices at line
/// boundaries, each slice is verified by a thread of its own, and the links between slices are
/// checked when the results are joined in order. The first problem in file order is reported,
/// exactly as the one-pass verifier would (hashing dominates verification: one core does about
/// 400,000 records/s here).
enum ParallelVerification {
    /// Nil when the log is smaller than `threshold` (8 MiB: threads cost more than they save on
    /// less), or this host has one core; the caller then verifies in one pass. Tests set
    /// `slices` to cut small logs at many places.
    static func verify(path: String, operatorKey: OperatorPublicKey?, threshold: Int = 8 << 20, slices wanted: Int? = nil)
        -> VerifyReport?
    {
        let cores = wanted ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        guard cores > 1, let status = Files.status(path), status.st_mode & S_IFMT == S_IFREG, Int(status.st_size) >= threshold
        else { return nil }
        let size = Int(status.st_size)

        // The first line alone: it carries the run id and key every slice needs.
        var head = Verification(operatorKey: operatorKey)
        var headEnd = 0
        do throws(ProvenanceError) {
            var reader = try LineReader(path: path)
            guard let (line, terminated) = try reader.next(), head.check(line, terminated: terminated) else { return nil }
            headEnd = line.count + 1
        } catch {
            return nil
        }

        let slices = cut(path: path, from: headEnd, to: size, into: wanted ?? min(cores, 8))
        let results = SliceResults(count: slices.count)
        let base = head
        runThreads(slices.count) { index in
            var slice = base
            slice.continuing = true
            slice.lineNumber = 0
            slice.records = 0
            slice.checkpoints = []
            slice.previousLine = nil
            do throws(ProvenanceError) {
                var reader = try LineReader(path: path, range: slices[index])
                while let (line, terminated) = try reader.next(), slice.check(line, terminated: terminated) {}
            } catch {
                slice.problem = VerifyReport.Problem(seq: nil, line: slice.lineNumber + 1, kind: .malformed, message: error.description)
                slice.problemBeforeChain = true
            }
            results.store(slice, at: index)
        }
        guard let verified = results.all else { return nil }
        return join(head: head, slices: verified, path: path)
    }

    /// Byte ranges of about equal size, each starting at the beginning of a line.
    private static func cut(path: String, from start: Int, to end: Int, into count: Int) -> [Range<Int>] {
        var bounds = [start]
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        var probe = [UInt8](repeating: 0, count: 64 << 10)
        for index in 1..<count {
            var offset = max(start + (end - start) * index / count, bounds[bounds.count - 1])
            var next: Int?
            while next == nil, offset < end {
                let n = probe.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                guard n > 0 else { break }
                if let newline = probe[0..<n].firstIndex(of: UInt8(ascii: "\n")) { next = offset + newline + 1 }
                offset += n
            }
            guard let boundary = next, boundary < end else { break }
            if boundary > bounds[bounds.count - 1] { bounds.append(boundary) }
        }
        bounds.append(end)
        return (0..<(bounds.count - 1)).map { bounds[$0]..<bounds[$0 + 1] }
    }

    /// Puts the slices back in file order, as if one pass had read them.
    private static func join(head: Verification, slices: [Verification], path: String) -> VerifyReport {
        var joined = head
        for slice in slices where slice.lineNumber > 0 {
            let offset = joined.lineNumber
            let firstLine = offset + 1
            func report(_ problem: VerifyReport.Problem) -> VerifyReport {
                var problem = problem
                problem.line += offset
                joined.problem = problem
                joined.records += slice.records
                joined.checkpoints += slice.checkpoints.map { ($0.seq, $0.line + offset) }
                return joined.report()
            }
            // The checks of a line run in this order: its own form, hash and run; "after the final
            // checkpoint"; its link to the line before; then what its kind requires.
            if let problem = slice.problem, problem.line == 1, slice.problemBeforeChain {
                return report(problem)
            }
            if joined.sealed {
                return report(VerifyReport.Problem(
                    seq: slice.firstSeq, line: 1, kind: .inserted, message: "a record after the final checkpoint"))
            }
            let linked = slice.firstSeq == joined.lastSeq &+ 1
                && joined.previousLine.map { digest in
                    slice.firstPrev.map { Hex.encode(Array(digest)) == $0 } ?? false
                } ?? false
            if !linked {
                joined.problem = ChainAnalysis.classify(path: path, line: firstLine)
                return joined.report()
            }
            if let anomaly = slice.chainAnomaly {
                joined.problem = ChainAnalysis.classify(path: path, line: anomaly + offset)
                joined.records += slice.records
                joined.checkpoints += slice.checkpoints.map { ($0.seq, $0.line + offset) }
                return joined.report()
            }
            if let problem = slice.problem { return report(problem) }
            joined.lineNumber += slice.lineNumber
            joined.records += slice.records
            joined.lastSeq = slice.lastSeq
            joined.previousLine = slice.previousLine
            joined.sealed = slice.sealed
            joined.lastKindWasCheckpoint = slice.lastKindWasCheckpoint
            joined.checkpoints += slice.checkpoints.map { ($0.seq, $0.line + offset) }
            if joined.checkpoints.count > 2 { joined.checkpoints.removeFirst(joined.checkpoints.count - 2) }
        }
        return joined.report()
    }

    /// Where the threads leave their results.
    private final class SliceResults: @unchecked Sendable {
        // @unchecked: each thread writes only its own index; all are read after the joins.
        private var slices: [Verification?]
        init(count: Int) { slices = Array(repeating: nil, count: count) }
        func store(_ slice: Verification, at index: Int) { slices[index] = slice }
        /// Nil if a slice is missing.
        var all: [Verification]? {
            let present = slices.compactMap { $0 }
            return present.count == slices.count ? present : nil
        }
    }

    /// Runs `body(0..<count)` on that many threads and waits for them all.
    private static func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        final class Work: @unchecked Sendable {
            let run: () -> Void
            init(_ run: @escaping () -> Void) { self.run = run }
        }
        var threads: [pthread_t] = []
        for index in 0..<count {
            var thread = pthread_t()
            let work = Unmanaged.passRetained(Work { body(index) }).toOpaque()
            let rc = pthread_create(&thread, nil, { context in
                guard let context else { return nil }
                Unmanaged<Work>.fromOpaque(context).takeRetainedValue().run()
                return nil
            }, work)
            if rc == 0 {
                threads.append(thread)
            } else {
                // No thread: do it here.
                Unmanaged<Work>.fromOpaque(work).takeRetainedValue().run()
            }
        }
        for thread in threads { pthread_join(thread, nil) }
    }
}

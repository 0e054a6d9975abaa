import AgentrunOS
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The writer's helper thread, for the two things that must not stall `append`:
/// - `fdatasync`: a sync costs milliseconds here (median 3 ms, outliers of 250 ms on this host's
///   ext4), which would halve append throughput if every checkpoint waited for it. Checkpoint
///   durability *requests* a sync and goes on; record durability waits for one, and concurrent
///   waiters share it (group commit). Marks are file offsets: a sync started after a record
///   was written covers it.
/// - the deadline of buffered records: the writer gathers records into one `write` (a syscall
///   costs ~2 µs here, as much as building a record), and this thread flushes them at most
///   `flushDelay` after the first one, so they reach the kernel soon even if appends stop.
///
/// The thread owns a duplicate of the log's fd, so closing the writer's fd can never make it
/// sync some unrelated file that reused the number.
final class BackgroundFlush: @unchecked Sendable {
    // @unchecked: every mutable field below is guarded by `mutex`.
    private let fd: Int32
    private let path: String
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>
    private var requested: Int64 = 0
    private var completed: Int64 = 0
    private var failure: ProvenanceError?
    /// CLOCK_MONOTONIC nanoseconds at which `flush` is due.
    private var flushAt: UInt64?
    private var flush: (@Sendable () -> Void)?
    private var stopping = false
    private var running = false
    private var exited = false
    private var thread = pthread_t()
    /// Set once a sync failed, for a lock-free check on every append.
    let failed = Atomic<Bool>(false)

    init(fd logFD: Int32, path: String) throws(ProvenanceError) {
        let copy = fcntl(logFD, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw ProvenanceError.system("dup", path: path, errno: errno) }
        fd = copy
        self.path = path
        mutex = .allocate(capacity: 1)
        changed = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(changed, &attributes)
        pthread_condattr_destroy(&attributes)
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<BackgroundFlush>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<BackgroundFlush>.fromOpaque(context).release()
            throw ProvenanceError.system("start the log's background thread", path: path, errno: rc)
        }
        running = true
    }

    deinit {
        close(fd)
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// What to call when buffered records are due (the writer, held weakly by the closure).
    func onFlush(_ body: @escaping @Sendable () -> Void) {
        locked { flush = body }
    }

    /// Calls the flush callback `delay` nanoseconds from now, unless one is already due sooner.
    func scheduleFlush(after delay: UInt64) {
        let due = Self.now() + delay
        locked {
            if let flushAt, flushAt <= due { return }
            flushAt = due
            pthread_cond_broadcast(changed)
        }
    }

    /// Asks for a sync covering everything written up to `mark`; does not wait.
    func requestSync(_ mark: Int64) {
        locked {
            guard mark > requested else { return }
            requested = mark
            pthread_cond_broadcast(changed)
        }
    }

    /// Returns once everything written up to `mark` is on disk.
    func waitSync(_ mark: Int64) throws(ProvenanceError) {
        let error: ProvenanceError? = locked {
            if mark > requested {
                requested = mark
                pthread_cond_broadcast(changed)
            }
            while completed < mark && failure == nil && !exited { pthread_cond_wait(changed, mutex) }
            if let failure { return failure }
            if completed < mark { return ProvenanceError(op: "fdatasync", path: path, message: "the log is closed") }
            return nil
        }
        if let error { throw error }
    }

    /// The first sync failure, if any.
    var error: ProvenanceError? { locked { failure } }

    /// Finishes outstanding syncs (not flushes: the writer flushes before it stops us) and ends
    /// the thread. Idempotent.
    func stop() {
        let join: Bool = locked {
            let wasRunning = running
            running = false
            stopping = true
            pthread_cond_broadcast(changed)
            return wasRunning
        }
        if join { pthread_join(thread, nil) }
    }

    private func run() {
        locked {
            while true {
                if completed < requested && failure == nil {
                    let target = requested
                    pthread_mutex_unlock(mutex)
                    var rc: Int32
                    repeat { rc = fdatasync(fd) } while rc != 0 && errno == EINTR
                    let code = errno
                    pthread_mutex_lock(mutex)
                    if rc != 0 {
                        failure = ProvenanceError.system("fdatasync", path: path, errno: code)
                        failed.store(true, ordering: .releasing)
                    } else {
                        completed = max(completed, target)
                    }
                    pthread_cond_broadcast(changed)
                    continue
                }
                if stopping { break }
                if let due = flushAt {
                    if Self.now() >= due {
                        flushAt = nil
                        let body = flush
                        pthread_mutex_unlock(mutex)
                        body?()
                        pthread_mutex_lock(mutex)
                        continue
                    }
                    var deadline = timespec(tv_sec: Int(due / 1_000_000_000), tv_nsec: Int(due % 1_000_000_000))
                    pthread_cond_timedwait(changed, mutex, &deadline)
                } else {
                    pthread_cond_wait(changed, mutex)
                }
            }
            exited = true
            pthread_cond_broadcast(changed)
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    static func now() -> UInt64 { Monotonic.nanoseconds() }
}

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `fdatasync` of the log on a thread of its own. A sync costs milliseconds here (median 3 ms,
/// outliers of 250 ms on this host's ext4), which would halve append throughput if every
/// checkpoint waited for it. Checkpoint durability therefore *requests* a sync and goes on;
/// record durability waits for one, and concurrent waiters share it (group commit). Marks are
/// file offsets: a sync started after a record was written covers it.
///
/// The thread owns a duplicate of the log's fd, so closing the writer's fd can never make it
/// sync some unrelated file that reused the number.
final class LogSync: @unchecked Sendable {
    // @unchecked: every mutable field below is guarded by `mutex`.
    private let fd: Int32
    private let path: String
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>
    private var requested: Int64 = 0
    private var completed: Int64 = 0
    private var failure: ProvenanceError?
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
        pthread_cond_init(changed, nil)
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<LogSync>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<LogSync>.fromOpaque(context).release()
            throw ProvenanceError.system("start the log sync thread", path: path, errno: rc)
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

    /// Asks for a sync covering everything written up to `mark`; does not wait.
    func request(_ mark: Int64) {
        locked {
            guard mark > requested else { return }
            requested = mark
            pthread_cond_broadcast(changed)
        }
    }

    /// Returns once everything written up to `mark` is on disk.
    func wait(for mark: Int64) throws(ProvenanceError) {
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

    /// Finishes outstanding requests and ends the thread. Idempotent.
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
                while completed >= requested && !stopping { pthread_cond_wait(changed, mutex) }
                if completed >= requested || failure != nil { break }
                let target = requested
                pthread_mutex_unlock(mutex)
                var rc: Int32
                repeat { rc = fdatasync(fd) } while rc != 0 && errno == EINTR
                let code = errno
                pthread_mutex_lock(mutex)
                if rc != 0 {
                    failure = ProvenanceError.system("fdatasync", path: path, errno: code)
                    failed.store(true, ordering: .releasing)
                    pthread_cond_broadcast(changed)
                    break
                }
                completed = max(completed, target)
                pthread_cond_broadcast(changed)
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
}

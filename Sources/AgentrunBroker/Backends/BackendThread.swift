#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Blocking work of the tool backends (waiting on a tool's pipes, an upstream server's I/O loop)
/// runs on its own detached pthread, never on the Swift concurrency pool (two threads on a
/// two-core host: one blocked call would stall the broker).
enum BackendThread {
    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new detached thread; false when no thread could be created.
    static func detach(_ body: @escaping @Sendable () -> Void) -> Bool {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(Work(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { context in
            guard let context else { return nil }
            Unmanaged<Work>.fromOpaque(context).takeRetainedValue().body()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Work>.fromOpaque(context).release()
            return false
        }
        return true
    }

    /// Runs `body` on a new thread and waits for it without blocking the caller's thread;
    /// nil when no thread could be created.
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let started = detach { continuation.resume(returning: body()) }
            if !started { continuation.resume(returning: nil) }
        }
    }
}

import Synchronization

/// A mutual-exclusion lock for async code, granted in arrival order.
///
/// The holder may suspend while holding it (a transaction awaits between statements), which a
/// `Mutex` cannot allow. A waiter whose task is cancelled leaves the queue and gets `CancellationError`.
final class AsyncFIFOLock: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var isLocked = false
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
    }

    private let state = Mutex(State())

    func lock() async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                state.withLock { state in
                    // The cancelled flag is set before the handler runs, and both take the mutex, so a
                    // cancellation is seen either here or by the handler, never by neither.
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else if !state.isLocked {
                        state.isLocked = true
                        continuation.resume()
                    } else {
                        state.waiters.append(Waiter(id: id, continuation: continuation))
                    }
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Hands the lock to the longest waiter, or frees it.
    func unlock() {
        let next = state.withLock { state -> Waiter? in
            precondition(state.isLocked, "unlock of an AsyncFIFOLock that is not locked")
            if state.waiters.isEmpty {
                state.isLocked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume()
    }

    /// Runs body while holding the lock.
    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await lock()
        defer { unlock() }
        return try await body()
    }
}

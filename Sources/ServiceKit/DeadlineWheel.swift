import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Request deadlines without a timer per request: waiters register a continuation and one
/// ticker task, which runs only while there are waiters, resumes the expired ones every few
/// milliseconds. (A `Task.sleep` per request costs a Dispatch timer registration each, which
/// showed up as a large share of a simple route's CPU time.)
public final class DeadlineWheel: Sendable {
    public static let shared = DeadlineWheel(tick: .milliseconds(5))

    private struct Waiter {
        let deadline: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        var tickerRunning = false
    }

    private let state = Mutex(State())
    private let tick: Duration

    public init(tick: Duration) {
        self.tick = tick
    }

    /// Nanoseconds on the monotonic clock.
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Returns true when `timeout` has passed, false when the waiting task was cancelled first.
    public func wait(_ timeout: Duration) async -> Bool {
        let (seconds, attoseconds) = timeout.components
        let deadline = Self.now() + UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds / 1_000_000_000))
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let startTicker = state.withLock { state -> Bool in
                    if Task.isCancelled {
                        continuation.resume(returning: false)
                        return false
                    }
                    state.waiters[id] = Waiter(deadline: deadline, continuation: continuation)
                    guard !state.tickerRunning else { return false }
                    state.tickerRunning = true
                    return true
                }
                if startTicker { Task { await self.runTicker() } }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(returning: false)
        }
    }

    private func runTicker() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = Self.now()
            let (expired, keepRunning) = state.withLock { state -> ([Waiter], Bool) in
                var expired: [Waiter] = []
                for (id, waiter) in state.waiters where waiter.deadline <= now {
                    expired.append(waiter)
                    state.waiters[id] = nil
                }
                if state.waiters.isEmpty { state.tickerRunning = false }
                return (expired, !state.waiters.isEmpty)
            }
            for waiter in expired { waiter.continuation.resume(returning: true) }
            if !keepRunning { return }
        }
    }
}

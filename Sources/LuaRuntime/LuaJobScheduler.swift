import Foundation
import Logging

/// Runs the `service:every(seconds, fn)` jobs of whichever configuration generation is current:
/// each job on one state of the pool (not on every state), one job at a time, so a job never
/// overlaps itself. A reload is picked up at the next tick; a job that fails is logged by the
/// worker and runs again at its next interval.
public struct LuaJobScheduler: Sendable {
    /// Time limit of one job run.
    static let timeLimit: Duration = .seconds(30)
    /// Longest sleep between looks at the current configuration.
    static let tick: Duration = .seconds(1)

    let currentPool: @Sendable () -> LuaWorkerPool

    public init(currentPool: @escaping @Sendable () -> LuaWorkerPool) {
        self.currentPool = currentPool
    }

    /// Runs until the task is cancelled.
    public func run() async {
        let clock = ContinuousClock()
        var lastRun: [String: ContinuousClock.Instant] = [:]
        while !Task.isCancelled {
            let pool = currentPool()
            var wake = clock.now + Self.tick
            for service in pool.loadReport.services {
                for (index, interval) in service.jobIntervals.enumerated() {
                    let key = "\(service.name)#\(index)"
                    let period = Duration.milliseconds(Int64(interval * 1000))
                    let now = clock.now
                    if let last = lastRun[key], now < last + period {
                        wake = min(wake, last + period)
                        continue
                    }
                    lastRun[key] = now
                    _ = await pool.next().runJob(service: service.name, index: index, request: Self.request(service: service.name))
                    wake = min(wake, now + period)
                }
            }
            try? await Task.sleep(until: max(wake, clock.now + .milliseconds(10)), clock: clock)
        }
    }

    static func request(service: String) -> LuaRequest {
        LuaRequest(
            method: "JOB", path: "/", params: [:], query: [], headers: [], body: [], user: nil,
            requestID: "every-\(service)-\(UUID().uuidString.lowercased().prefix(8))", clientIP: "",
            deadlineNanoseconds: LuaClock.deadline(after: timeLimit))
    }
}

/// How long to wait before the next attempt.
///
/// Exponential with "equal jitter" (half fixed, half random) so clients that failed together do
/// not retry together; a server's `Retry-After` wins because it knows when capacity returns.
struct RetryBackoff: Sendable {
    let base: Duration
    let cap: Duration

    /// `retry` counts from 1 (the wait before the second attempt).
    func delay(beforeRetry retry: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return retryAfter }
        let exponent = min(max(retry - 1, 0), 30)
        let step = min(base * (1 << exponent), cap)
        let half = step / 2
        let jitterNanoseconds = Int64.random(in: 0...max(half.nanoseconds, 0))
        return half + .nanoseconds(jitterNanoseconds)
    }

    /// `Retry-After` in delta-seconds (what the API sends); HTTP dates are ignored.
    static func parseRetryAfter(_ value: String?) -> Duration? {
        guard let value, let seconds = Double(value.trimmingWhitespace()), seconds.isFinite, seconds >= 0 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}

extension Duration {
    /// Whole nanoseconds, saturating (durations here are seconds, far from the limit).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).overflow ? .max : scaled + attoseconds / 1_000_000_000
    }

    /// Whole seconds, rounded up: what `rateLimited(retryAfter:)` reports.
    var wholeSecondsRoundedUp: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) + (attoseconds > 0 ? 1 : 0)
    }
}

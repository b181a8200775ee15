import ServiceKit
import Synchronization

/// Token buckets keyed by rule and client key. Buckets refill continuously at `limit / period`
/// per second up to `burst`.
public final class RateLimiter: Sendable {
    public struct Decision: Sendable {
        public let allowed: Bool
        public let limit: Int
        public let remaining: Int
        /// Seconds until a token is available (when refused) or the bucket is full (when allowed).
        public let resetSeconds: Int
        public let retryAfterSeconds: Int
    }

    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let lastSweep = Mutex<Double>(0)

    public init() {}

    public func take(rule: RateLimitRule, key: String, now: Double = RateLimiter.now()) -> Decision {
        let rate = rule.refillPerSecond
        let capacity = Double(rule.burst)
        sweepIfNeeded(now: now)
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            buckets[key] = bucket
            let remaining = Int(bucket.tokens.rounded(.down))
            let retryAfter = allowed ? 0 : Int(((1 - bucket.tokens) / rate).rounded(.up))
            let reset = Int(((capacity - bucket.tokens) / rate).rounded(.up))
            return Decision(allowed: allowed, limit: rule.burst, remaining: max(0, remaining), resetSeconds: max(reset, retryAfter),
                            retryAfterSeconds: max(1, retryAfter))
        }
    }

    /// Drops full buckets now and then so memory follows active clients only.
    private func sweepIfNeeded(now: Double) {
        let due = lastSweep.withLock { last -> Bool in
            guard now - last > 60 else { return false }
            last = now
            return true
        }
        guard due else { return }
        buckets.withLock { buckets in
            buckets = buckets.filter { now - $0.value.updated < 3600 }
        }
    }

    public static func now() -> Double {
        Double(Instant.nowMilliseconds()) / 1000
    }
}

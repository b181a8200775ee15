import ServiceKit
import Synchronization

/// Access tokens that passed the full check a moment ago, so that a client sending the same token
/// on every request costs the database nothing for `lifetime` seconds.
///
/// Why it stays correct when tokens are revoked or roles change: every writer that can make a
/// token invalid (logout, logout-all, role change, erasure) calls `forget(userID:)` *before* its
/// write. That drops the user's entries and holds the user back from the cache for `holdBack`
/// seconds, so a check that read the database before the write committed cannot store its stale
/// answer afterwards, even when the write is part of a longer transaction.
///
/// The cache is per process: writes that bypass the auth service (SQL from a Lua script, another
/// gateway instance on a shared database) are seen after at most `lifetime` seconds.
final class VerifiedTokenCache: Sendable {
    struct Entry {
        let user: VerifiedUser
        let validUntil: Int64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// User id → until when checks of that user's tokens are not stored.
        var heldBack: [String: Int64] = [:]
    }

    let lifetime: Int64
    let holdBack: Int64
    let capacity: Int
    private let state = Mutex(State())

    init(lifetime: Int64 = 10, holdBack: Int64 = 120, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.holdBack = holdBack
        self.capacity = capacity
    }

    /// The user behind a token whose signature and claims were just verified, if it was fully
    /// checked less than `lifetime` seconds ago and still names the same user and role.
    func user(for claims: AccessTokenClaims, now: Int64) -> VerifiedUser? {
        state.withLock { state in
            guard let entry = state.entries[claims.tokenID] else { return nil }
            guard now < entry.validUntil, entry.user.id == claims.userID, entry.user.role == claims.role else {
                state.entries[claims.tokenID] = nil
                return nil
            }
            return entry.user
        }
    }

    /// Stores a fully checked token, unless its user is held back by a recent `forget`.
    func remember(_ user: VerifiedUser, claims: AccessTokenClaims, now: Int64) {
        state.withLock { state in
            if let until = state.heldBack[user.id], now < until { return }
            if state.entries.count >= capacity {
                state.entries = state.entries.filter { now < $0.value.validUntil }
                if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            }
            state.entries[claims.tokenID] = Entry(user: user, validUntil: min(now + lifetime, claims.expiresAt))
        }
    }

    /// Drops every entry of the user and keeps the user's checks out of the cache for a while.
    /// Call it before a write that can invalidate the user's tokens.
    func forget(userID: String, now: Int64 = Instant.nowSeconds()) {
        state.withLock { state in
            state.entries = state.entries.filter { $0.value.user.id != userID }
            state.heldBack = state.heldBack.filter { now < $0.value }
            state.heldBack[userID] = now + holdBack
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}

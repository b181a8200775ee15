import ServiceKit
import Store

/// What is recorded of an issued token (01-auth §3).
struct Session: Sendable, Equatable {
    var tokenID: String
    var userID: Int64
    var issuedAt: Int64
    var expiresAt: Int64
    var revokedAt: Int64?
    var lastUsedAt: Int64?
}

/// Issued access tokens: recorded at issue, revoked by logout, logout-all, role changes.
/// A token whose `jti` is not recorded here is never accepted.
struct SessionStore: Sendable {
    /// Expired and revoked records are kept this long, then purged.
    static let retentionSeconds: Int64 = 30 * 86_400
    /// The last use time is written at most this often per token.
    static let touchIntervalSeconds: Int64 = 60

    let db: any DatabaseExecutor

    init(_ db: any DatabaseExecutor) {
        self.db = db
    }

    func record(_ claims: AccessTokenClaims, userID: Int64, deviceInfo: String?, clientIP: String?) async throws {
        try await db.execute(
            "INSERT INTO auth_tokens (jti, user_id, issued_at, expires_at, device_info, client_ip) VALUES (?, ?, ?, ?, ?, ?)",
            [
                .text(claims.tokenID), .integer(userID), .integer(claims.issuedAt), .integer(claims.expiresAt),
                SQLValue(deviceInfo.map { String(String.UnicodeScalarView($0.unicodeScalars.prefix(200))) }), SQLValue(clientIP),
            ])
    }

    func session(tokenID: String) async throws -> Session? {
        guard let row = try await db.one(
            "SELECT jti, user_id, issued_at, expires_at, revoked_at, last_used_at FROM auth_tokens WHERE jti = ?", [.text(tokenID)]),
            let userID = row.int64("user_id"), let issuedAt = row.int64("issued_at"), let expiresAt = row.int64("expires_at")
        else { return nil }
        return Session(
            tokenID: tokenID, userID: userID, issuedAt: issuedAt, expiresAt: expiresAt, revokedAt: row.int64("revoked_at"),
            lastUsedAt: row.int64("last_used_at"))
    }

    /// Revokes one token of the user. True when it was live until now. The user is forgotten by
    /// `verifiedTokens` first, so the revocation counts from the next request.
    @discardableResult
    func revoke(tokenID: String, userID: Int64, forgetting verifiedTokens: VerifiedTokenCache, now: Int64 = Instant.nowSeconds()) async throws -> Bool {
        verifiedTokens.forget(userID: String(userID), now: now)
        return try await db.execute(
            "UPDATE auth_tokens SET revoked_at = ? WHERE jti = ? AND user_id = ? AND revoked_at IS NULL",
            [.integer(now), .text(tokenID), .integer(userID)]
        ).changes == 1
    }

    /// Revokes every token of the user that could still be accepted (unrevoked, and not expired
    /// beyond the verifier's clock leeway); returns how many. The user is forgotten by
    /// `verifiedTokens` first, so the revocation counts from the next request.
    @discardableResult
    func revokeAll(userID: Int64, forgetting verifiedTokens: VerifiedTokenCache, now: Int64 = Instant.nowSeconds()) async throws -> Int {
        verifiedTokens.forget(userID: String(userID), now: now)
        return try await db.execute(
            "UPDATE auth_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
            [.integer(now), .integer(userID), .integer(now - TokenCodec.leewaySeconds)]
        ).changes
    }

    /// Records a use, unless one was recorded within the last minute.
    func touch(tokenID: String, now: Int64 = Instant.nowSeconds()) async throws {
        try await db.execute(
            "UPDATE auth_tokens SET last_used_at = ? WHERE jti = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
            [.integer(now), .text(tokenID), .integer(now - Self.touchIntervalSeconds)])
    }

    /// Drops records expired or revoked more than 30 days ago. Their tokens stay refused: an
    /// unknown `jti` is never accepted.
    func purge(now: Int64 = Instant.nowSeconds()) async throws {
        let cutoff = now - Self.retentionSeconds
        try await db.execute("DELETE FROM auth_tokens WHERE expires_at < ? OR revoked_at < ?", [.integer(cutoff), .integer(cutoff)])
    }
}

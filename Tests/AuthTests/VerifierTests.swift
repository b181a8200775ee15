import ServiceKit
import Store
import Testing

@testable import AuthService

@Suite("Auth: identity verifier and stores")
struct VerifierTests {
    @Test func refusesTokensThatAreNotRecordedOrNoLongerMatch() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let token = try await auth.signup("9000000500")
        let user = try #require(await auth.verify(token))
        #expect(user.id == "1" && user.role == "patient" && user.tokenID?.count == 32)

        let codec = auth.service.context.codec
        // Correctly signed, but never issued: unknown jti.
        let unrecorded = codec.issueAccessToken(userID: "1", role: "patient", lifetime: 3600).token
        #expect(await auth.verify(unrecorded) == nil)
        // Signed with another key.
        let foreign = TokenCodec(secret: .random()).issueAccessToken(userID: "1", role: "patient", lifetime: 3600).token
        #expect(await auth.verify(foreign) == nil)
        #expect(await auth.verify("") == nil)
        #expect(await auth.verify("not.a.token") == nil)

        // Changes made behind the service's back are seen once the cached check has lapsed.
        let verifier = auth.service.identityVerifier
        var now = Instant.nowSeconds()
        func later() -> Int64 {
            now += verifier.cache.lifetime
            return now
        }
        // A role that no longer matches the account.
        try await auth.store.execute("UPDATE users SET role = 'admin' WHERE id = 1")
        #expect(await verifier.verify(token: token, now: later()) == nil)
        try await auth.store.execute("UPDATE users SET role = 'patient' WHERE id = 1")
        #expect(await verifier.verify(token: token, now: later()) != nil)
        // An inactive account.
        try await auth.store.execute("UPDATE users SET is_active = 0 WHERE id = 1")
        #expect(await verifier.verify(token: token, now: later()) == nil)
    }

    /// A token checked moments ago skips the database: deleting its record behind the service's
    /// back goes unnoticed until the entry lapses, while the service's own revocations (`forget`)
    /// count at once and keep a check that raced with them out of the cache.
    @Test func recentlyCheckedTokensSkipTheDatabaseUntilForgotten() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let token = try await auth.signup("9000000510")
        let other = try await auth.signup("9000000511")
        let verifier = auth.service.identityVerifier
        let cache = verifier.cache
        let claims = try auth.service.context.codec.verifyAccessToken(token)
        let now = claims.issuedAt + 100  // past the signup's touch, so no write is due

        #expect(await verifier.verify(token: token, now: now)?.id == "1")
        #expect(await verifier.verify(token: other, now: now)?.id == "2")
        try await auth.store.execute("DELETE FROM auth_tokens WHERE jti = ?", .text(claims.tokenID))
        #expect(await verifier.verify(token: token, now: now + cache.lifetime - 1)?.id == "1", "served from the cache")
        #expect(await verifier.verify(token: token, now: now + cache.lifetime) == nil, "lapsed: the database says no")

        let fresh = try #require(try await auth.login("9000000510").json["access_token"]?.stringValue)
        #expect(await verifier.verify(token: fresh, now: now) != nil)
        cache.forget(userID: "1", now: now)
        try await auth.store.execute("UPDATE auth_tokens SET revoked_at = ? WHERE user_id = 1", .integer(now))
        #expect(await verifier.verify(token: fresh, now: now) == nil, "forgotten: checked against the database")
        // The other user's entry survives, and user 1 is held back from the cache for a while.
        try await auth.store.execute("UPDATE auth_tokens SET revoked_at = NULL WHERE user_id = 1")
        let entries = cache.count
        #expect(await verifier.verify(token: fresh, now: now + 1) != nil)
        #expect(cache.count == entries, "held back: not stored")
        #expect(await verifier.verify(token: fresh, now: now + cache.holdBack) != nil)
        #expect(cache.count == entries + 1, "stored again after the hold-back")
    }

    @Test func expiredTokensAreRefusedAndUseIsRecordedOncePerMinute() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let token = try await auth.signup("9000000501")
        let claims = try auth.service.context.codec.verifyAccessToken(token)
        let verifier = auth.service.identityVerifier
        #expect(await verifier.verify(token: token, now: claims.issuedAt + 10) != nil)
        func lastUsed() async throws -> Int64? {
            try await auth.store.one("SELECT last_used_at FROM auth_tokens WHERE jti = ?", .text(claims.tokenID))?.int64("last_used_at")
        }
        #expect(try await lastUsed() == claims.issuedAt + 10)
        #expect(await verifier.verify(token: token, now: claims.issuedAt + 40) != nil)
        #expect(try await lastUsed() == claims.issuedAt + 10)
        #expect(await verifier.verify(token: token, now: claims.issuedAt + 70) != nil)
        #expect(try await lastUsed() == claims.issuedAt + 70)
        #expect(await verifier.verify(token: token, now: claims.expiresAt + 30) == nil)
    }

    @Test func otpCodesExpireAfterFiveMinutes() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let codes = OTPStore(auth.store)
        let now: Int64 = 1_772_360_130
        let hash = try await codes.issue(phoneNumber: "9000000502", code: "246810", now: now)
        #expect(try await codes.check(phoneNumber: "9000000502", code: "246810", now: now + 299) == .issued(hash: hash))
        #expect(try await codes.check(phoneNumber: "9000000502", code: "246810", now: now + 300) == .rejected)
        #expect(try await codes.check(phoneNumber: "9000000503", code: "246810", now: now) == .rejected)
        try await codes.purgeExpired(now: now + 300)
        #expect(try await auth.store.query("SELECT * FROM otp_codes").isEmpty)
    }

    @Test func purgeDropsOldRecordsWhoseTokensStayRefused() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let token = try await auth.signup("9000000504")
        let claims = try auth.service.context.codec.verifyAccessToken(token)
        _ = try await auth.call(.post, "/logout", token: token)
        try await SessionStore(auth.store).purge(now: Instant.nowSeconds() + SessionStore.retentionSeconds + 1)
        #expect(try await SessionStore(auth.store).session(tokenID: claims.tokenID) == nil)
        #expect(await auth.verify(token) == nil)
    }
}

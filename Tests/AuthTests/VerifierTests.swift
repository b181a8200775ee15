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

        // A role that no longer matches the account (changed behind the service's back).
        try await auth.store.execute("UPDATE users SET role = 'admin' WHERE id = 1")
        #expect(await auth.verify(token) == nil)
        try await auth.store.execute("UPDATE users SET role = 'patient' WHERE id = 1")
        #expect(await auth.verify(token) != nil)
        // An inactive account.
        try await auth.store.execute("UPDATE users SET is_active = 0 WHERE id = 1")
        #expect(await auth.verify(token) == nil)
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

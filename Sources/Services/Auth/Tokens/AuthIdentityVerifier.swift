import Logging
import ServiceKit
import Store

/// The gateway's bearer-token check (00-conventions §2.1): signature and claims, then the `jti`
/// recorded and not revoked, then the user existing, active and still holding the token's role.
/// A token that passed these checks moments ago skips the database (`VerifiedTokenCache`); the
/// auth service's own revocations and role changes take effect on the next request all the same.
public struct AuthIdentityVerifier: IdentityVerifier {
    let store: any Store
    let codec: TokenCodec
    let logger: Logger
    let cache: VerifiedTokenCache

    init(store: any Store, codec: TokenCodec, logger: Logger, cache: VerifiedTokenCache) {
        self.store = store
        self.codec = codec
        self.logger = logger
        self.cache = cache
    }

    public func verify(token: String) async -> VerifiedUser? {
        await verify(token: token, now: Instant.nowSeconds())
    }

    func verify(token: String, now: Int64) async -> VerifiedUser? {
        let claims: AccessTokenClaims
        do {
            claims = try codec.verifyAccessToken(token, now: now)
        } catch {
            logger.debug("token refused", metadata: ["reason": "\(error)"])
            return nil
        }
        if let user = cache.user(for: claims, now: now) { return user }
        do {
            let sessions = SessionStore(store)
            guard let session = try await sessions.session(tokenID: claims.tokenID), session.revokedAt == nil,
                String(session.userID) == claims.userID,
                let account = try await AccountStore(store).account(id: session.userID), account.role == claims.role
            else { return nil }
            if (session.lastUsedAt ?? 0) <= now - SessionStore.touchIntervalSeconds {
                // Bookkeeping only: a failed write must not refuse a valid token.
                do { try await sessions.touch(tokenID: claims.tokenID, now: now) } catch {
                    logger.warning("could not record token use: \(error)")
                }
            }
            let user = VerifiedUser(id: account.userID, role: account.role, tokenID: claims.tokenID)
            cache.remember(user, claims: claims, now: now)
            return user
        } catch {
            // The seam has no error channel: a store failure refuses the token (fails closed).
            logger.error("token check failed: \(error)")
            return nil
        }
    }
}

import Logging
import ServiceKit
import Store

/// The gateway's bearer-token check (00-conventions §2.1): signature and claims, then the `jti`
/// recorded and not revoked, then the user existing, active and still holding the token's role.
/// Nothing is cached, so a revocation takes effect on the next request.
public struct AuthIdentityVerifier: IdentityVerifier {
    let store: any Store
    let codec: TokenCodec
    let logger: Logger

    public init(store: any Store, codec: TokenCodec, logger: Logger) {
        self.store = store
        self.codec = codec
        self.logger = logger
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
            return VerifiedUser(id: account.userID, role: account.role, tokenID: claims.tokenID)
        } catch {
            // The seam has no error channel: a store failure refuses the token (fails closed).
            logger.error("token check failed: \(error)")
            return nil
        }
    }
}

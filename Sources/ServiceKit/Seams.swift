/// Seams between the gateway and the services it hosts. The gateway depends only on these
/// protocols; the composition root (`mysehat`) plugs concrete services into them.

/// Verifies a bearer token: signature (HS256 only), claims, revocation and that the user exists.
public protocol IdentityVerifier: Sendable {
    func verify(token: String) async -> VerifiedUser?
}

/// Answers whether a user holds a valid consent for a purpose (expiry evaluated on read).
public protocol ConsentChecker: Sendable {
    func hasConsent(userID: String, purpose: String) async throws -> Bool
}

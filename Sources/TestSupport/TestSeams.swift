import Gateway
import HummingbirdCore
import ServiceKit

/// Answers every upstream request with 503, for tests that route nothing upstream.
public struct NoUpstream: UpstreamForwarder {
    public init() {}

    public func forward(_ request: ProxyRequest, to target: UpstreamTarget) async throws -> Response {
        throw ServiceError.unavailable(service: target.name)
    }

    public func probe(_ target: UpstreamTarget, path: String, timeout: Duration) async -> Int? { nil }
}

/// Accepts tokens of the form `user:<id>:<role>`, for policy tests that do not need the auth service.
public struct FixedIdentity: IdentityVerifier {
    public init() {}

    public func verify(token: String) async -> VerifiedUser? {
        let parts = token.split(separator: ":")
        guard parts.count == 3, parts[0] == "user" else { return nil }
        return VerifiedUser(id: String(parts[1]), role: String(parts[2]))
    }
}

/// Consent held by the listed (user, purpose) pairs.
public struct FixedConsent: ConsentChecker {
    public let granted: Set<String>
    public init(granted: Set<String>) { self.granted = granted }
    public func hasConsent(userID: String, purpose: String) async throws -> Bool { granted.contains("\(userID):\(purpose)") }
}

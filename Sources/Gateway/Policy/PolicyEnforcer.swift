import HTTPTypes
import ServiceKit

/// Applies a route's policy in the documented order — rate limit, auth, roles, consent — and
/// returns the verified user. (CORS preflights and size limits happen before it.)
///
/// Limits keyed by IP, route or a body field run before auth; limits keyed by user need the
/// verified user, so they run right after auth and still before roles, consent and the target.
struct PolicyEnforcer {
    let runtime: GatewayRuntime
    let policy: Policy
    let entry: RouteEntry
    let context: RequestContext

    static let invalidToken = ServiceError(.unauthorized, "Invalid or expired token", headers: [.wwwAuthenticate: "Bearer"])

    struct Admission {
        let user: VerifiedUser?
        /// RateLimit-* headers for the response.
        let rateLimitHeaders: HTTPFields
    }

    func enforce(headers: HTTPFields, body: JSONValue?) async throws -> Admission {
        var rateHeaders = HTTPFields()
        // Rules scoped to anonymous or signed-in callers need to know which this is; a request
        // that presents a token counts as signed-in before verification (it fails auth otherwise).
        let presentsToken = policy.auth != .none && headers[.authorization] != nil
        try checkRateLimits(user: nil, signedIn: presentsToken, body: body, phase: .beforeAuth, into: &rateHeaders)
        let user = try await authenticate(headers)
        try checkRateLimits(user: user, signedIn: user != nil, body: body, phase: .afterAuth, into: &rateHeaders)
        if let roles = policy.roles {
            guard let user, roles.contains(user.role) else {
                throw ServiceError(.forbidden, "This endpoint requires one of the roles: \(roles.joined(separator: ", "))")
            }
        }
        if let purpose = policy.consent, let user {
            guard let checker = runtime.consent else { throw ServiceError.unavailable(service: "consent") }
            guard try await checker.hasConsent(userID: user.id, purpose: purpose) else {
                throw ServiceError(.forbidden, "Consent required: \(purpose) has not been granted", extra: ["required_consent": .string(purpose)])
            }
        }
        // An identity claim in the header must equal the verified user (00-conventions §2.4);
        // anonymous callers of an optional route cannot claim one. Public routes ignore identity.
        if policy.auth != .none, let claimed = headers[.xUserID], !claimed.isEmpty, claimed != user?.id {
            throw ServiceError(.forbidden, "X-User-Id header does not match the authenticated user")
        }
        return Admission(user: user, rateLimitHeaders: rateHeaders)
    }

    enum Phase {
        case beforeAuth, afterAuth
    }

    private func authenticate(_ headers: HTTPFields) async throws -> VerifiedUser? {
        switch policy.auth {
        case .none:
            return nil
        case .optional, .jwt:
            switch BearerToken.read(headers) {
            case .absent:
                if policy.auth == .optional { return nil }
                throw Self.invalidToken
            case .malformed:
                throw Self.invalidToken
            case .token(let token):
                guard let verifier = runtime.identity else { throw ServiceError.unavailable(service: "auth") }
                guard let user = await verifier.verify(token: token) else { throw Self.invalidToken }
                return user
            }
        }
    }

    private func checkRateLimits(
        user: VerifiedUser?, signedIn: Bool, body: JSONValue?, phase: Phase, into responseHeaders: inout HTTPFields
    ) throws {
        for (index, rule) in policy.rateLimits.enumerated() {
            switch rule.scope {
            case .all: break
            case .anonymous: if signedIn { continue }
            case .users: if !signedIn { continue }
            }
            let subject: String
            switch (rule.key, phase) {
            case (.ip, .beforeAuth): subject = "ip:" + context.clientIP
            case (.route, .beforeAuth): subject = "route"
            case (.bodyField(let field), .beforeAuth):
                // No value (or not JSON): the target's validation answers; nothing to count.
                guard let value = body?[field], value != .null else { continue }
                subject = "\(field):" + (value.stringValue ?? JSON.encodeString(value))
            case (.user, .afterAuth): subject = "user:" + (user?.id ?? "anonymous:" + context.clientIP)
            default: continue
            }
            let key = "\(entry.location)#\(index)|\(subject)"
            let decision = runtime.rateLimiter.take(rule: rule, key: key)
            if !decision.allowed {
                throw ServiceError(.tooManyRequests, rule.message, headers: [
                    .retryAfter: String(decision.retryAfterSeconds),
                    .rateLimitLimit: String(decision.limit),
                    .rateLimitRemaining: "0",
                    .rateLimitReset: String(decision.resetSeconds),
                ])
            }
            // The tightest limit is the one a client should see.
            let remaining = responseHeaders[.rateLimitRemaining].flatMap(Int.init) ?? Int.max
            if decision.remaining < remaining {
                responseHeaders[.rateLimitLimit] = String(decision.limit)
                responseHeaders[.rateLimitRemaining] = String(decision.remaining)
                responseHeaders[.rateLimitReset] = String(decision.resetSeconds)
            }
        }
    }
}

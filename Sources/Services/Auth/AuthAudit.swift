import Logging

/// The audit rows 01-auth §8 asks for. There is no audit sink in the system yet (02 §6 is a later
/// issue), so events are only logged at debug level; the call sites are in place for the sink.
enum AuthAuditEvent: Sendable {
    case signup(userID: String)
    /// Each granted consent of a signup.
    case signupConsentGranted(userID: String, consentID: Int64)
    case login(userID: String, success: Bool)
    case logout(userID: String)
    /// `GET /auth/me`, `GET /auth/validate`.
    case profileRead(userID: String)
    case profileUpdated(userID: String)
    case consentChanged(userID: String, consentID: Int64, granted: Bool)
    /// Admin reads of `/auth/users*`: one row per user returned.
    case adminRead(userID: String, by: String)
    case roleChanged(userID: String, by: String)

    var action: String {
        switch self {
        case .signup: "write"
        case .signupConsentGranted: "consent_granted"
        case .login: "login"
        case .logout: "logout"
        case .profileRead, .adminRead: "read"
        case .profileUpdated, .roleChanged: "update"
        case .consentChanged(_, _, let granted): granted ? "consent_granted" : "consent_revoked"
        }
    }

    var resourceType: String {
        switch self {
        case .signup, .profileRead, .profileUpdated, .adminRead: "user_profile"
        case .signupConsentGranted, .consentChanged: "consent"
        case .login, .logout: "session"
        case .roleChanged: "user_role"
        }
    }
}

struct AuthAudit: Sendable {
    let logger: Logger

    func record(_ event: AuthAuditEvent) {
        logger.debug("audit \(event.action) \(event.resourceType)", metadata: ["event": "\(event)"])
    }
}

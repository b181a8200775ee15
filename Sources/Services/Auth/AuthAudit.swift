import Logging
import ServiceKit
import Store

/// The audit rows 01-auth §8 asks for.
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

    /// The data subject.
    var subject: String {
        switch self {
        case .signup(let id), .signupConsentGranted(let id, _), .login(let id, _), .logout(let id), .profileRead(let id),
            .profileUpdated(let id), .consentChanged(let id, _, _), .adminRead(let id, _), .roleChanged(let id, _):
            id
        }
    }

    /// The admin acting on someone else's account; nil when users act on their own.
    var admin: String? {
        switch self {
        case .adminRead(_, let admin), .roleChanged(_, let admin): admin
        default: nil
        }
    }

    var consentID: Int64? {
        switch self {
        case .signupConsentGranted(_, let id), .consentChanged(_, let id, _): id
        default: nil
        }
    }

    var success: Bool {
        if case .login(_, let success) = self { return success }
        return true
    }

    /// The row for this event of `req`. Signup and login carry no verified user yet: the actor is
    /// then the subject.
    func auditEvent(for req: ServiceRequest) -> AuditEvent {
        AuditEvent(
            service: "auth", action: action, resourceType: resourceType,
            resourceID: consentID.map { String($0) } ?? (admin != nil ? subject : nil), userID: subject,
            actorID: admin ?? req.user?.id ?? subject, actorType: admin != nil ? "admin" : req.user?.role ?? "patient",
            purpose: admin != nil ? "admin" : "self", consentID: consentID, success: success, errorMessage: success ? nil : "invalid_otp",
            requestID: req.requestID, ipAddress: req.clientIP)
    }
}

/// Writes auth's rows to the system's audit log. A row that cannot be written fails the request
/// (02 §6.4); without a sink (tests of the service alone) events are only logged.
struct AuthAudit: Sendable {
    let sink: (any AuditSink)?
    let logger: Logger

    /// Writes the rows inside `db` when given (the transaction of the change they record, when the
    /// sink can join it), else each on its own.
    func record(_ events: [AuthAuditEvent], for req: ServiceRequest, in db: (any DatabaseExecutor)? = nil) async throws {
        for event in events {
            logger.debug("audit \(event.action) \(event.resourceType)", metadata: ["event": "\(event)"])
            guard let sink else { continue }
            if let db, let transactional = sink as? any TransactionalAuditSink {
                try await transactional.record(event.auditEvent(for: req), in: db)
            } else {
                try await sink.record(event.auditEvent(for: req))
            }
        }
    }

    func record(_ event: AuthAuditEvent, for req: ServiceRequest, in db: (any DatabaseExecutor)? = nil) async throws {
        try await record([event], for: req, in: db)
    }
}

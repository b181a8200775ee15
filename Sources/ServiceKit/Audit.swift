/// One access to personal data, as the audit log records it (02-consent-and-rights §6).
public struct AuditEvent: Sendable {
    public var service: String
    public var action: String
    public var resourceType: String
    public var resourceID: String?
    /// The data subject.
    public var userID: String?
    public var actorID: String?
    /// `patient`, `clinician`, `responder`, `admin` or `system`.
    public var actorType: String
    public var purpose: String?
    public var consentID: Int64?
    public var success: Bool
    /// A short reason code, never health content.
    public var errorMessage: String?
    public var requestID: String?
    public var ipAddress: String?
    /// Non-health context (counts, sizes, model names).
    public var details: JSONObject?
    public var emergencyID: String?
    public var justification: String?

    public init(
        service: String, action: String, resourceType: String, resourceID: String? = nil, userID: String?, actorID: String? = nil,
        actorType: String = "patient", purpose: String? = nil, consentID: Int64? = nil, success: Bool = true, errorMessage: String? = nil,
        requestID: String? = nil, ipAddress: String? = nil, details: JSONObject? = nil, emergencyID: String? = nil, justification: String? = nil
    ) {
        self.service = service
        self.action = action
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.userID = userID
        self.actorID = actorID
        self.actorType = actorType
        self.purpose = purpose
        self.consentID = consentID
        self.success = success
        self.errorMessage = errorMessage
        self.requestID = requestID
        self.ipAddress = ipAddress
        self.details = details
        self.emergencyID = emergencyID
        self.justification = justification
    }

    /// An event done by the request's verified user on `subject`'s data (the caller's own by default).
    public static func by(
        _ request: ServiceRequest, service: String, action: String, resourceType: String, resourceID: String? = nil, subject: String? = nil,
        purpose: String? = "self", success: Bool = true, details: JSONObject? = nil
    ) -> AuditEvent {
        AuditEvent(
            service: service, action: action, resourceType: resourceType, resourceID: resourceID, userID: subject ?? request.user?.id,
            actorID: request.user?.id, actorType: request.user?.role ?? "system", purpose: purpose, success: success,
            requestID: request.requestID, ipAddress: request.clientIP, details: details)
    }
}

/// Where audit rows go. Writing is part of the request: if the row cannot be written the request
/// fails (02 §6.4), so `record` throws.
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent) async throws
}

import HummingbirdCore
import Logging
import ServiceKit
import Store

/// DPDP consent, the user's rights (access, erasure, correction) and their audit trail
/// (02-consent-and-rights §4). Paths are relative to `/api/v1`; the routing table also publishes
/// them under each area's prefix (§5). Identity comes from `req.user` only.
public struct ConsentService: Service {
    public let name = "consent"
    public let routes: ServiceRoutes
    let context: ConsentContext

    /// - Parameter rights: the other services' parts of export and erasure, read at each request.
    public init(store: any Store, audit: AuditLog, rights: DataRightsRegistry, logger: Logger) {
        let context = ConsentContext(
            store: store, audit: audit, rights: DataRights(store: store, audit: audit, registry: rights, logger: logger), logger: logger)
        self.context = context
        var routes = ServiceRoutes()
        ConsentEndpoints(context: context).register(in: &routes)
        RightsEndpoints(context: context).register(in: &routes)
        AuditEndpoints(context: context).register(in: &routes)
        self.routes = routes
    }

    public func start() async throws {
        try await ConsentRecords.migrate(context.store)
        try await CorrectionRequests.migrate(context.store)
    }

    public func health() async -> ServiceHealth {
        await context.store.ping() ? .healthy : .unavailable
    }
}

/// What every endpoint group shares.
struct ConsentContext: Sendable {
    let store: any Store
    let audit: AuditLog
    let rights: DataRights
    let logger: Logger

    static let service = "consent"

    /// The consent store over `db`, logging expiries it observes.
    func records(_ db: any DatabaseExecutor) -> ConsentRecords {
        ConsentRecords(db, audit: audit)
    }

    /// A row about the caller's own data, done by the caller.
    func event(
        _ req: ServiceRequest, action: String, resourceType: String, resourceID: String? = nil, consentID: Int64? = nil,
        details: JSONObject? = nil
    ) -> AuditEvent {
        var event = AuditEvent.by(req, service: Self.service, action: action, resourceType: resourceType, resourceID: resourceID, details: details)
        event.consentID = consentID
        return event
    }

    /// The fields' 422 first, then the `user_id` claim against the caller (403).
    func validate(_ fields: FieldReader, claim: String?, caller: VerifiedUser) throws {
        try fields.validate()
        try IdentityClaim.check(claim, caller: caller)
    }

    /// A JSON object body that must be present (a missing body is a 422 `missing`).
    static func requiredBody(_ req: ServiceRequest) async throws -> JSONObject {
        guard let object = try await req.jsonObjectIfPresent() else {
            throw ServiceError.validation([ValidationIssue(type: "missing", loc: ["body"], msg: "Field required", input: .null)])
        }
        return object
    }
}

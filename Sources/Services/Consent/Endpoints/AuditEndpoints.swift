import HummingbirdCore
import ServiceKit
import Store

/// The caller's audit trail and the admin's chain check (02 §4.8, §4.9).
struct AuditEndpoints {
    let context: ConsentContext

    func register(in routes: inout ServiceRoutes) {
        let tags = ["consent", "audit"]
        routes.get("/audit/my", OperationInfo(summary: "Who accessed the caller's data", tags: tags)) { try await my($0) }
        routes.get("/audit/verify", OperationInfo(summary: "Recompute the audit log's hash chain (admin)", tags: tags)) { try await verify($0) }
    }

    /// Not itself audited (§6.4).
    func my(_ req: ServiceRequest) async throws -> Response {
        let caller = try req.verifiedUser()
        var query = FieldReader(query: req)
        let limit = query.optional("limit", .integer(ge: 1, le: 500)).value ?? 50
        let action = query.optional("action", .string()).value ?? query.optional("action_filter", .string()).value
        let claim = query.optional("user_id", IdentityClaim.rule).value
        try context.validate(query, claim: claim, caller: caller)

        let logs = try await AuditTrail(db: context.store).rows(subject: caller.id, action: action, limit: limit)
        return .json([
            "user_id": .string(caller.id), "logs": .array(logs), "total": .int(Int64(logs.count)),
            "dpdp_compliance": "Data Access Transparency",
        ])
    }

    /// Role `admin`: the routing policy enforces it; checked again here in case a routing table
    /// publishes the path under a weaker policy.
    func verify(_ req: ServiceRequest) async throws -> Response {
        _ = try req.verifiedUser(withRole: "admin")
        let result = try await context.audit.verify()
        return .json([
            "valid": .bool(result.valid), "rows_checked": .int(Int64(result.rowsChecked)),
            "first_invalid_id": JSONValue(result.firstInvalidID.map { Int($0) }), "last_hash": .string(result.lastHash),
        ])
    }
}

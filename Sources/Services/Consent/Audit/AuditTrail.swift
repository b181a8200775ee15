import ServiceKit
import Store

/// A data subject's rows of the audit log as the API shows them (AuditLogResponse, 02 §4.8).
struct AuditTrail: Sendable {
    let db: any DatabaseExecutor

    /// The actions of §6.2; a filter naming anything else applies no filter.
    static let actions: Set<String> = [
        "read", "write", "update", "delete", "consent_granted", "consent_revoked", "consent_expired", "consent_check", "ai_analysis",
        "ai_inference", "emergency_access", "emergency_override", "emergency_end", "data_export", "data_erasure", "data_correction",
        "login", "logout", "data_shared", "access_denied",
    ]

    /// Rows whose subject is `userID`, newest first.
    func rows(subject userID: String, action: String? = nil, limit: Int? = nil) async throws -> [JSONValue] {
        var sql = """
            SELECT id, user_id, action, resource_type, resource_id, purpose, timestamp, success, actor_id, actor_type, service, request_id
            FROM audit_log WHERE user_id = ?
            """
        var params: [SQLValue] = [.text(userID)]
        if let action, Self.actions.contains(action) {
            sql += " AND action = ?"
            params.append(.text(action))
        }
        sql += " ORDER BY id DESC"
        if let limit {
            sql += " LIMIT ?"
            params.append(.integer(Int64(limit)))
        }
        return try await db.query(sql, params).map { row in
            var object = row.json
            object["success"] = .bool(row.bool("success") ?? false)
            return .object(object)
        }
    }
}

import CLua
import CLuaShim
import ServiceKit
import Store

extension LuaPrimitives {
    /// `audit.log{ action, resource_type, resource_id, subject, purpose, success, details,
    /// emergency_id, justification, error, consent_id, actor_id, actor_type }`: one row in the hash-chained audit log. The actor,
    /// service, request id and client address come from the request. Inside `db.transaction` the
    /// row commits with the change. A row that cannot be written raises (the request fails).
    public mutating func addAudit(_ sink: any AuditSink) {
        set("audit", .module([
            "log": .function { stack, context in
                guard stack.type(at: 1) == LUA_TTABLE, case .object(let fields)? = try? LuaJSON.value(at: 1, on: stack) else {
                    return .raise("audit.log expects a table")
                }
                guard let action = fields["action"]?.stringValue, let resourceType = fields["resource_type"]?.stringValue else {
                    return .raise("audit.log needs action and resource_type")
                }
                guard let run = context.running else { return .raise("audit.log can only run while handling a request") }
                func text(_ key: String) -> String? {
                    guard let value = fields[key], value != .null else { return nil }
                    return value.stringValue ?? value.intValue.map(String.init) ?? JSON.encodeString(value)
                }
                let request = run.request
                // `actor_type = "system"` marks work the system does on its own (an SOS event
                // resolving while someone reads it): no actor id, whoever's request ran it.
                let actorType = text("actor_type") ?? request.user?.role ?? "system"
                var event = AuditEvent(
                    service: run.serviceName, action: action, resourceType: resourceType, resourceID: text("resource_id"),
                    userID: text("subject") ?? request.user?.id,
                    actorID: actorType == "system" ? text("actor_id") : (text("actor_id") ?? request.user?.id),
                    actorType: actorType, purpose: text("purpose"),
                    success: fields["success"]?.boolValue ?? true, errorMessage: text("error"), requestID: request.requestID,
                    ipAddress: request.clientIP, details: fields["details"]?.objectValue, emergencyID: text("emergency_id"),
                    justification: text("justification"))
                if let consentID = fields["consent_id"]?.intValue { event.consentID = Int64(consentID) }
                let transaction = run.transaction.current
                let finalEvent = event
                return .yield {
                    do {
                        if let transaction, let transactional = sink as? any TransactionalAuditSink {
                            try await transactional.record(finalEvent, in: transaction)
                        } else {
                            try await sink.record(finalEvent)
                        }
                        return .values([])
                    } catch {
                        return .raise("audit.log failed: \(error)")
                    }
                }
            },
        ]))
    }
}

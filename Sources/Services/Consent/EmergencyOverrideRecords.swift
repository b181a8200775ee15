import ServiceKit
import Store

/// Emergency overrides through `ConsentRecords`, so SOS writes follow the store's rules (one
/// record per key, expiry on read with its `consent_expired` row).
public struct EmergencyOverrideRecords: EmergencyOverrides {
    let audit: (any TransactionalAuditSink)?

    public init(audit: (any TransactionalAuditSink)?) {
        self.audit = audit
    }

    static func key(userID: String, emergencyID: String) -> ConsentKey {
        ConsentKey(userID: userID, dataCategory: "emergency", purpose: "emergency", grantedTo: "emergency_responder", emergencyID: emergencyID)
    }

    public func open(
        userID: String, emergencyID: String, grantedToID: String?, expiresAt: Int64, clientIP: String?, on executor: any DatabaseExecutor
    ) async throws -> (id: Int64, expiresAt: String) {
        let now = Instant.nowMilliseconds()
        let record = try await ConsentRecords(executor, audit: audit).insert(
            NewConsent(
                key: Self.key(userID: userID, emergencyID: emergencyID), status: .active,
                consentText: "Emergency override for incident \(emergencyID)", method: .emergency, revocable: false, grantedToID: grantedToID,
                expiresAt: expiresAt, clientIP: clientIP),
            now: now)
        return (record.id, Instant.format(milliseconds: expiresAt))
    }

    public func end(userID: String, emergencyID: String, on executor: any DatabaseExecutor) async throws -> Int {
        let records = ConsentRecords(executor, audit: audit)
        guard let record = try await records.record(key: Self.key(userID: userID, emergencyID: emergencyID)), record.status != .revoked else {
            return 0
        }
        try await records.revoke(record)
        return 1
    }

    public func state(consentID: Int64, on executor: any DatabaseExecutor) async throws -> String {
        guard let row = try await executor.one("SELECT user_id FROM consents WHERE id = ?", [.integer(consentID)]),
              let userID = row.string("user_id"),
              let record = try await ConsentRecords(executor, audit: audit).record(id: consentID, userID: userID)
        else { return "revoked" }
        switch record.status {
        case .active: return "active"
        case .expired: return "expired"
        default: return "revoked"
        }
    }
}

import Crypto
import Foundation
import ServiceKit
import Store

/// The append-only, hash-chained audit log (02-consent-and-rights §6).
///
/// Each row's hash covers the previous row's hash and the row's canonical JSON, which holds HMAC
/// references of the subject and actor instead of their ids, so pseudonymising an erased user
/// keeps the chain valid while any other edit breaks it.
public final class AuditLog: TransactionalAuditSink {
    let store: any Store
    /// The HMAC key's bytes (SymmetricKey itself is not Sendable).
    let keyBytes: [UInt8]

    public static let genesisHash = String(repeating: "0", count: 64)

    public static let migrations = [
        """
        CREATE TABLE audit_log (
          id INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, request_id TEXT, service TEXT NOT NULL,
          actor_id TEXT, actor_type TEXT NOT NULL, actor_ref TEXT NOT NULL, user_id TEXT, subject_ref TEXT NOT NULL,
          action TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT, purpose TEXT, consent_id INTEGER,
          success INTEGER NOT NULL, error_message TEXT, ip_address TEXT, details TEXT, emergency_id TEXT, justification TEXT,
          prev_hash TEXT NOT NULL, row_hash TEXT NOT NULL);
        CREATE INDEX audit_log_user ON audit_log (user_id, id);
        CREATE INDEX audit_log_actor ON audit_log (actor_id);
        CREATE TABLE audit_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    ]

    /// Opens the log; the HMAC key comes from `AUDIT_HMAC_KEY` or is generated once and kept in
    /// the database.
    public static func open(store: any Store, configuredKey: String?) async throws -> AuditLog {
        try await store.migrate(service: "audit", migrations)
        let keyText: String
        if let configuredKey, !configuredKey.isEmpty {
            keyText = configuredKey
        } else if let stored = try await store.one("SELECT value FROM audit_settings WHERE name = 'hmac_key'")?.string("value") {
            keyText = stored
        } else {
            let generated = SecureRandom.hex(32)
            try await store.execute("INSERT OR IGNORE INTO audit_settings (name, value) VALUES ('hmac_key', ?)", .text(generated))
            keyText = try await store.one("SELECT value FROM audit_settings WHERE name = 'hmac_key'")?.string("value") ?? generated
        }
        return AuditLog(store: store, keyBytes: Array(keyText.utf8))
    }

    init(store: any Store, keyBytes: [UInt8]) {
        self.store = store
        self.keyBytes = keyBytes
    }

    /// `HMAC-SHA256(key, id)` in lowercase hex; empty for no id.
    public func reference(_ id: String?) -> String {
        guard let id, !id.isEmpty else { return "" }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(id.utf8), using: SymmetricKey(data: keyBytes)))
    }

    public func record(_ event: AuditEvent) async throws {
        try await store.transaction { tx in try await self.record(event, in: tx) }
    }

    /// Appends inside `executor`, which must be a write transaction (the store's write lock makes
    /// the read of the last hash and the insert one step, so the chain cannot fork).
    public func record(_ event: AuditEvent, in executor: any DatabaseExecutor) async throws {
        let last = try await executor.one("SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1", [])
        let id = (last?.int64("id") ?? 0) + 1
        let prevHash = last?.string("row_hash") ?? Self.genesisHash
        let timestamp = Instant.now()
        let actorRef = reference(event.actorID)
        let subjectRef = reference(event.userID)
        let canonical = Self.canonicalJSON(
            id: id, timestamp: timestamp, requestID: event.requestID, service: event.service, actorRef: actorRef, actorType: event.actorType,
            subjectRef: subjectRef, action: event.action, resourceType: event.resourceType, resourceID: event.resourceID,
            purpose: event.purpose, success: event.success)
        let rowHash = Self.rowHash(prevHash: prevHash, canonical: canonical)
        try await executor.execute(
            """
            INSERT INTO audit_log (id, timestamp, request_id, service, actor_id, actor_type, actor_ref, user_id, subject_ref, action,
              resource_type, resource_id, purpose, consent_id, success, error_message, ip_address, details, emergency_id, justification,
              prev_hash, row_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(id), .text(timestamp), SQLValue(event.requestID), .text(event.service), SQLValue(event.actorID),
                .text(event.actorType), .text(actorRef), SQLValue(event.userID), .text(subjectRef), .text(event.action),
                .text(event.resourceType), SQLValue(event.resourceID), SQLValue(event.purpose), SQLValue(event.consentID),
                .integer(event.success ? 1 : 0), SQLValue(event.errorMessage), SQLValue(event.ipAddress),
                SQLValue(event.details.map { JSON.encodeString(.object($0)) }), SQLValue(event.emergencyID), SQLValue(event.justification),
                .text(prevHash), .text(rowHash),
            ])
    }

    /// Replaces the user's id with `erased:<first 16 hex of its reference>` as subject and actor.
    @discardableResult
    public func pseudonymise(userID: String, in executor: any DatabaseExecutor) async throws -> String {
        let pseudonym = "erased:" + reference(userID).prefix(16)
        try await executor.execute("UPDATE audit_log SET user_id = ? WHERE user_id = ?", [.text(pseudonym), .text(userID)])
        try await executor.execute("UPDATE audit_log SET actor_id = ? WHERE actor_id = ?", [.text(pseudonym), .text(userID)])
        return pseudonym
    }

    public struct Verification: Sendable, Equatable {
        public let valid: Bool
        public let rowsChecked: Int
        public let firstInvalidID: Int64?
        public let lastHash: String
    }

    /// Recomputes the chain over the whole log; names the first row that does not match.
    public func verify() async throws -> Verification {
        var prevHash = Self.genesisHash
        var checked = 0
        var afterID: Int64 = 0
        while true {
            let rows = try await store.query(
                """
                SELECT id, timestamp, request_id, service, actor_ref, actor_type, subject_ref, action, resource_type, resource_id, purpose,
                  success, prev_hash, row_hash FROM audit_log WHERE id > ? ORDER BY id LIMIT 2000
                """, [.integer(afterID)])
            if rows.isEmpty { break }
            for row in rows {
                let id = row.int64("id") ?? 0
                let canonical = Self.canonicalJSON(
                    id: id, timestamp: row.string("timestamp") ?? "", requestID: row.string("request_id"), service: row.string("service") ?? "",
                    actorRef: row.string("actor_ref") ?? "", actorType: row.string("actor_type") ?? "", subjectRef: row.string("subject_ref") ?? "",
                    action: row.string("action") ?? "", resourceType: row.string("resource_type") ?? "", resourceID: row.string("resource_id"),
                    purpose: row.string("purpose"), success: row.bool("success") ?? false)
                let expected = Self.rowHash(prevHash: prevHash, canonical: canonical)
                // Ids are consecutive from 1: a removed row shows as a gap.
                guard row.string("prev_hash") == prevHash, row.string("row_hash") == expected, id == afterID + 1 else {
                    return Verification(valid: false, rowsChecked: checked + 1, firstInvalidID: id, lastHash: prevHash)
                }
                prevHash = expected
                afterID = id
                checked += 1
            }
        }
        return Verification(valid: true, rowsChecked: checked, firstInvalidID: nil, lastHash: prevHash)
    }

    /// Keys sorted, no whitespace (ServiceKit's encoder writes objects in insertion order, so the
    /// keys are inserted sorted).
    static func canonicalJSON(
        id: Int64, timestamp: String, requestID: String?, service: String, actorRef: String, actorType: String, subjectRef: String,
        action: String, resourceType: String, resourceID: String?, purpose: String?, success: Bool
    ) -> [UInt8] {
        let fields: [(String, JSONValue)] = [
            ("action", .string(action)), ("actor_ref", .string(actorRef)), ("actor_type", .string(actorType)), ("id", .int(id)),
            ("purpose", JSONValue(purpose)), ("request_id", JSONValue(requestID)), ("resource_id", JSONValue(resourceID)),
            ("resource_type", .string(resourceType)), ("service", .string(service)), ("subject_ref", .string(subjectRef)),
            ("success", .bool(success)), ("timestamp", .string(timestamp)),
        ]
        return JSON.encode(.object(JSONObject(fields)))
    }

    static func rowHash(prevHash: String, canonical: [UInt8]) -> String {
        hex(SHA256.hash(data: Array((prevHash + "\n").utf8) + canonical))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { Hex.encode(bytes) }
}

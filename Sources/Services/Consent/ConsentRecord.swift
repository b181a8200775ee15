import ServiceKit
import Store

public enum ConsentStatus: String, Sendable {
    case active, revoked, expired
    /// Offered but never granted.
    case pending
}

public enum ConsentMethod: String, Sendable {
    case signup, explicit, emergency
}

/// What makes a record unique (02 §2): granting or revoking again updates the record with this key.
public struct ConsentKey: Sendable, Hashable {
    public var userID: String
    public var dataCategory: String
    public var purpose: String
    public var grantedTo: String
    /// The SOS event of an emergency override; nil for every other record.
    public var emergencyID: String?

    public init(userID: String, dataCategory: String, purpose: String, grantedTo: String = "self", emergencyID: String? = nil) {
        self.userID = userID
        self.dataCategory = dataCategory
        self.purpose = purpose
        self.grantedTo = grantedTo
        self.emergencyID = emergencyID
    }
}

/// One consent record as stored, with its status as evaluated when it was read.
public struct ConsentRecord: Sendable, Equatable {
    public var id: Int64
    public var key: ConsentKey
    public var grantedToID: String?
    public var status: ConsentStatus
    public var consentText: String?
    public var consentVersion: String
    public var consentMethod: ConsentMethod
    public var revocable: Bool
    /// Instants as the API writes them (`Instant.format`), which is also how they are stored.
    public var createdAt: String
    public var grantedAt: String?
    public var expiresAt: String?
    public var revokedAt: String?

    public var userID: String { key.userID }
    public var purpose: String { key.purpose }
    public var isActive: Bool { status == .active }

    /// The consent object of 02 §2, fields in the spec's order.
    public var json: JSONObject {
        [
            "id": .int(id), "user_id": .string(key.userID), "data_category": .string(key.dataCategory),
            "purpose": .string(key.purpose), "granted_to": .string(key.grantedTo), "granted_to_id": JSONValue(grantedToID),
            "status": .string(status.rawValue), "granted": .bool(isActive), "is_active": .bool(isActive),
            "consent_text": JSONValue(consentText), "consent_version": .string(consentVersion),
            "consent_method": .string(consentMethod.rawValue), "revocable": .bool(revocable),
            "created_at": .string(createdAt), "granted_at": JSONValue(grantedAt), "expires_at": JSONValue(expiresAt),
            "revoked_at": JSONValue(revokedAt), "emergency_id": JSONValue(key.emergencyID),
        ]
    }

    /// The order of listings (02 §4.3): newest `created_at` first, ties by higher id.
    public static func newestFirst(_ a: ConsentRecord, _ b: ConsentRecord) -> Bool {
        a.createdAt != b.createdAt ? a.createdAt > b.createdAt : a.id > b.id
    }

    /// Whether this record counts as `purpose` (§3.4), whatever its status.
    public func counts(as purpose: String) -> Bool {
        ConsentVocabulary.counts(dataCategory: key.dataCategory, purpose: key.purpose, grantedTo: key.grantedTo, as: purpose)
    }

    /// An active record whose expiry is at or before `now` is expired.
    func evaluated(at now: String) -> ConsentRecord {
        guard status == .active, let expiresAt, expiresAt <= now else { return self }
        var record = self
        record.status = .expired
        return record
    }

    static let columns =
        "id, user_id, data_category, purpose, granted_to, granted_to_id, status, consent_text, consent_version, "
        + "consent_method, revocable, created_at, granted_at, expires_at, revoked_at, emergency_id"

    init(row: Row) throws {
        guard let id = row.int64("id"), let userID = row.string("user_id"), let category = row.string("data_category"),
            let purpose = row.string("purpose"), let grantedTo = row.string("granted_to"),
            let status = row.string("status").flatMap(ConsentStatus.init(rawValue:)),
            let method = row.string("consent_method").flatMap(ConsentMethod.init(rawValue:)),
            let createdAt = row.string("created_at")
        else { throw ConsentStoreError.unreadableRecord }
        let emergencyID = row.string("emergency_id") ?? ""
        self.id = id
        self.key = ConsentKey(
            userID: userID, dataCategory: category, purpose: purpose, grantedTo: grantedTo,
            emergencyID: emergencyID.isEmpty ? nil : emergencyID)
        self.grantedToID = row.string("granted_to_id")
        self.status = status
        self.consentText = row.string("consent_text")
        self.consentVersion = row.string("consent_version") ?? "1.0"
        self.consentMethod = method
        self.revocable = row.bool("revocable") ?? true
        self.createdAt = createdAt
        self.grantedAt = row.string("granted_at")
        self.expiresAt = row.string("expires_at")
        self.revokedAt = row.string("revoked_at")
    }
}

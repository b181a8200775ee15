import ServiceKit
import Store

/// A record to create as it is (signup consents, seeded accounts).
public struct NewConsent: Sendable {
    public var key: ConsentKey
    public var status: ConsentStatus
    public var consentText: String?
    public var method: ConsentMethod
    public var revocable: Bool
    public var grantedToID: String?
    /// Milliseconds since the epoch; nil = no expiry.
    public var expiresAt: Int64?
    public var clientIP: String?

    public init(
        key: ConsentKey, status: ConsentStatus, consentText: String?, method: ConsentMethod, revocable: Bool,
        grantedToID: String? = nil, expiresAt: Int64? = nil, clientIP: String? = nil
    ) {
        self.key = key
        self.status = status
        self.consentText = consentText
        self.method = method
        self.revocable = revocable
        self.grantedToID = grantedToID
        self.expiresAt = expiresAt
        self.clientIP = clientIP
    }
}

/// A grant by key (02 §4.1, mental-health screen, emergency overrides): the record with that key
/// becomes active, or is created when there is none.
public struct ConsentGrant: Sendable {
    /// Replaces the stored text when given.
    public var consentText: String?
    /// Replaces the stored recipient id when given.
    public var grantedToID: String?
    public var expiresInDays: Int?
    /// Used only when the record is created.
    public var method: ConsentMethod
    /// Used only when the record is created.
    public var revocable: Bool
    public var clientIP: String?

    public init(
        consentText: String? = nil, grantedToID: String? = nil, expiresInDays: Int? = nil, method: ConsentMethod = .explicit,
        revocable: Bool = true, clientIP: String? = nil
    ) {
        self.consentText = consentText
        self.grantedToID = grantedToID
        self.expiresInDays = expiresInDays
        self.method = method
        self.revocable = revocable
        self.clientIP = clientIP
    }
}

/// A change to one record by id (`PUT /auth/consents/{id}`, 01-auth §2.13 steps 3–6).
public struct ConsentChange: Sendable {
    public var granted: Bool
    public var consentText: String?
    /// Applies when granting; nil = no expiry.
    public var expiresInDays: Int?
    public var clientIP: String?

    public init(granted: Bool, consentText: String? = nil, expiresInDays: Int? = nil, clientIP: String? = nil) {
        self.granted = granted
        self.consentText = consentText
        self.expiresInDays = expiresInDays
        self.clientIP = clientIP
    }
}

/// A change the consent rules forbid; `message` is the 400 text of 01-auth §2.13.
public struct ConsentRefusal: Error, Sendable, Equatable {
    public let message: String

    public init(message: String) {
        self.message = message
    }

    static func notRevocable(_ record: ConsentRecord) -> ConsentRefusal {
        ConsentVocabulary.mandatoryPurposes.contains(record.purpose)
            ? ConsentRefusal(message: "Cannot revoke mandatory consent: \(record.purpose)")
            : ConsentRefusal(message: "This consent cannot be revoked")
    }
}

/// The consent record store shared by the whole system (02 §2–§3), over any database executor:
/// the `Store` itself, or the executor of a transaction the caller opened.
///
/// Every read evaluates expiry: an active record whose `expires_at` has passed is returned as
/// `expired` and stored so. Times are taken as milliseconds since the epoch so tests can move them.
public struct ConsentRecords: Sendable {
    let db: any DatabaseExecutor
    /// Where `consent_expired` rows go when a read is the first to see a record expired (02 §6.2);
    /// nil stores the expiry without a row.
    let audit: (any TransactionalAuditSink)?

    public init(_ db: any DatabaseExecutor, audit: (any TransactionalAuditSink)? = nil) {
        self.db = db
        self.audit = audit
    }

    public static func migrate(_ store: any Store) async throws {
        try await store.migrate(service: "consent", ConsentSchema.migrations)
    }

    static let select = "SELECT \(ConsentRecord.columns) FROM consents"

    // MARK: Reads

    /// The user's records, ordered by id.
    public func records(userID: String, now: Int64 = Instant.nowMilliseconds()) async throws -> [ConsentRecord] {
        try await read("\(Self.select) WHERE user_id = ? ORDER BY id", [.text(userID)], now: now)
    }

    /// Records of several users at once, each list ordered by id (for user directories).
    public func records(userIDs: [String], now: Int64 = Instant.nowMilliseconds()) async throws -> [String: [ConsentRecord]] {
        guard !userIDs.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: userIDs.count).joined(separator: ", ")
        let records = try await read(
            "\(Self.select) WHERE user_id IN (\(marks)) ORDER BY id", userIDs.map { .text($0) }, now: now)
        return Dictionary(grouping: records, by: \.userID)
    }

    /// The record with this id when it belongs to `userID`.
    public func record(id: Int64, userID: String, now: Int64 = Instant.nowMilliseconds()) async throws -> ConsentRecord? {
        try await read("\(Self.select) WHERE id = ? AND user_id = ?", [.integer(id), .text(userID)], now: now).first
    }

    public func record(key: ConsentKey, now: Int64 = Instant.nowMilliseconds()) async throws -> ConsentRecord? {
        try await read(
            "\(Self.select) WHERE user_id = ? AND data_category = ? AND purpose = ? AND granted_to = ? AND emergency_id = ?",
            Self.keyValues(key), now: now
        ).first
    }

    /// Whether the user holds `purpose` (§3.4): one of their records counts as it and is active.
    public func holds(userID: String, purpose: String, now: Int64 = Instant.nowMilliseconds()) async throws -> Bool {
        let purposes = ConsentVocabulary.candidatePurposes(for: purpose)
        let marks = Array(repeating: "?", count: purposes.count).joined(separator: ", ")
        let records = try await read(
            "\(Self.select) WHERE user_id = ? AND purpose IN (\(marks))", [.text(userID)] + purposes.map { .text($0) }, now: now)
        return records.contains { $0.isActive && $0.counts(as: purpose) }
    }

    /// Runs a select, evaluates expiry, and stores the records that expired since the last read.
    func read(_ sql: String, _ params: [SQLValue], now: Int64) async throws -> [ConsentRecord] {
        let instant = Instant.format(milliseconds: now)
        var newlyExpired: [ConsentRecord] = []
        let records = try await db.query(sql, params).map { row in
            let stored = try ConsentRecord(row: row)
            let record = stored.evaluated(at: instant)
            if record.status != stored.status { newlyExpired.append(record) }
            return record
        }
        if !newlyExpired.isEmpty { try await storeExpiry(of: newlyExpired, at: instant) }
        return records
    }

    /// Stores the expiry a read observed. With an audit sink, the reader that actually changes a
    /// record (there may be several at once) also writes its `consent_expired` row, in the same
    /// transaction, so each expiry is logged once.
    func storeExpiry(of records: [ConsentRecord], at instant: String) async throws {
        // The guards keep a grant that landed since the select from being overwritten.
        let update = "UPDATE consents SET status = 'expired', updated_at = ? WHERE id = ? AND status = 'active' AND expires_at <= ?"
        guard let audit else {
            for record in records { try await db.execute(update, [.text(instant), .integer(record.id), .text(instant)]) }
            return
        }
        let write: @Sendable (any DatabaseExecutor) async throws -> Void = { tx in
            for record in records {
                let changed = try await tx.execute(update, [.text(instant), .integer(record.id), .text(instant)]).changes
                guard changed == 1 else { continue }
                try await audit.record(
                    AuditEvent(
                        service: "consent", action: "consent_expired", resourceType: "consent", resourceID: String(record.id),
                        userID: record.userID, actorType: "system", purpose: "system", consentID: record.id),
                    in: tx)
            }
        }
        if let store = db as? any Store {
            try await store.transaction(write)
        } else {
            try await write(db)
        }
    }

    // MARK: Writes

    /// Creates a record; a record with the same key must not exist (the unique key refuses it).
    @discardableResult
    public func insert(_ new: NewConsent, now: Int64 = Instant.nowMilliseconds()) async throws -> ConsentRecord {
        let instant = Instant.format(milliseconds: now)
        let result = try await db.execute(
            """
            INSERT INTO consents (user_id, data_category, purpose, granted_to, emergency_id, granted_to_id, status,
                consent_text, consent_version, consent_method, revocable, created_at, granted_at, expires_at, client_ip, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, '1.0', ?, ?, ?, ?, ?, ?, ?)
            """,
            Self.keyValues(new.key) + [
                SQLValue(new.grantedToID), .text(new.status.rawValue), SQLValue(new.consentText), .text(new.method.rawValue),
                .integer(new.revocable ? 1 : 0), .text(instant), new.status == .active ? .text(instant) : .null,
                SQLValue(new.expiresAt.map(Instant.format(milliseconds:))), SQLValue(new.clientIP), .text(instant),
            ])
        return try await reread(id: result.lastInsertID, now: now)
    }

    /// Grants by key: the existing record becomes active (granted now, new expiry, not revoked;
    /// text and recipient id replaced when given), or a new active record is created.
    @discardableResult
    public func grant(_ key: ConsentKey, _ grant: ConsentGrant, now: Int64 = Instant.nowMilliseconds()) async throws -> ConsentRecord {
        let expiresAt = grant.expiresInDays.map { now + Int64($0) * 86_400_000 }
        guard let existing = try await record(key: key, now: now) else {
            return try await insert(
                NewConsent(
                    key: key, status: .active, consentText: grant.consentText, method: grant.method, revocable: grant.revocable,
                    grantedToID: grant.grantedToID, expiresAt: expiresAt, clientIP: grant.clientIP),
                now: now)
        }
        return try await activate(existing, consentText: grant.consentText, grantedToID: grant.grantedToID, expiresAt: expiresAt, clientIP: grant.clientIP, now: now)
    }

    /// Grants or revokes the user's record `id`; nil when there is no such record of theirs.
    /// Revoking a record that is not revocable throws `ConsentRefusal`.
    public func update(id: Int64, userID: String, _ change: ConsentChange, now: Int64 = Instant.nowMilliseconds()) async throws -> ConsentRecord? {
        guard let record = try await record(id: id, userID: userID, now: now) else { return nil }
        return try await apply(change, to: record, now: now)
    }

    /// Grants or revokes a record already read; throws `ConsentRefusal` for a revocation of a
    /// record that is not revocable.
    public func apply(_ change: ConsentChange, to record: ConsentRecord, now: Int64 = Instant.nowMilliseconds()) async throws -> ConsentRecord {
        if change.granted {
            let expiresAt = change.expiresInDays.map { now + Int64($0) * 86_400_000 }
            return try await activate(record, consentText: change.consentText, grantedToID: nil, expiresAt: expiresAt, clientIP: change.clientIP, now: now)
        }
        guard record.revocable else { throw ConsentRefusal.notRevocable(record) }
        return try await revoke(record, consentText: change.consentText, clientIP: change.clientIP, now: now)
    }

    /// Revokes a record whatever its `revocable` flag (callers that honour the flag check it
    /// first). An already revoked record keeps its `revoked_at`.
    @discardableResult
    public func revoke(_ record: ConsentRecord, consentText: String? = nil, clientIP: String? = nil, now: Int64 = Instant.nowMilliseconds()) async throws -> ConsentRecord {
        let instant = Instant.format(milliseconds: now)
        try await db.execute(
            """
            UPDATE consents SET revoked_at = CASE WHEN status = 'revoked' THEN revoked_at ELSE ? END, status = 'revoked',
                consent_text = COALESCE(?, consent_text), client_ip = COALESCE(?, client_ip), updated_at = ?
            WHERE id = ?
            """,
            [.text(instant), SQLValue(consentText), SQLValue(clientIP), .text(instant), .integer(record.id)])
        return try await reread(id: record.id, now: now)
    }

    func activate(
        _ record: ConsentRecord, consentText: String?, grantedToID: String?, expiresAt: Int64?, clientIP: String?, now: Int64
    ) async throws -> ConsentRecord {
        let instant = Instant.format(milliseconds: now)
        try await db.execute(
            """
            UPDATE consents SET status = 'active', granted_at = ?, expires_at = ?, revoked_at = NULL,
                consent_text = COALESCE(?, consent_text), granted_to_id = COALESCE(?, granted_to_id),
                client_ip = COALESCE(?, client_ip), updated_at = ?
            WHERE id = ?
            """,
            [.text(instant), SQLValue(expiresAt.map(Instant.format(milliseconds:))), SQLValue(consentText), SQLValue(grantedToID),
             SQLValue(clientIP), .text(instant), .integer(record.id)])
        return try await reread(id: record.id, now: now)
    }

    /// Deletes every record of the user, emergency overrides included (erasure, 02 §4.6).
    public func deleteAll(userID: String) async throws -> Int {
        try await db.execute("DELETE FROM consents WHERE user_id = ?", [.text(userID)]).changes
    }

    func reread(id: Int64, now: Int64) async throws -> ConsentRecord {
        guard let record = try await read("\(Self.select) WHERE id = ?", [.integer(id)], now: now).first else {
            throw ConsentStoreError.lostWrite
        }
        return record
    }

    static func keyValues(_ key: ConsentKey) -> [SQLValue] {
        [.text(key.userID), .text(key.dataCategory), .text(key.purpose), .text(key.grantedTo), .text(key.emergencyID ?? "")]
    }

}

extension ConsentRecords: ConsentChecker {
    /// The gateway's consent policy (00-conventions §2.6, 02 §3.4).
    public func hasConsent(userID: String, purpose: String) async throws -> Bool {
        try await holds(userID: userID, purpose: purpose)
    }
}

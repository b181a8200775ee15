import ServiceKit
import Store

/// What a correction request asks to change (02 §4.7); every field is optional.
struct Correction: Sendable {
    var field: String?
    var currentValue: String?
    var correctedValue: String?
    var reason: String?
}

/// Requests of the right to correction: stored with status `received`, exported with the user's
/// data and erased with it. They are not applied automatically.
struct CorrectionRequests: DataRightsParticipant {
    let dataKey = "correction_requests"

    static let migrations = [
        """
        CREATE TABLE correction_requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ticket_id TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL,
            field TEXT,
            current_value TEXT,
            corrected_value TEXT,
            reason TEXT,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX correction_requests_user ON correction_requests (user_id, id)",
    ]

    static func migrate(_ store: any Store) async throws {
        try await store.migrate(service: "correction_requests", migrations)
    }

    /// Stores the request inside `db` (a write transaction, so the ticket id stays free until the
    /// insert) and returns its ticket id.
    func create(_ correction: Correction, userID: String, in db: any DatabaseExecutor, now: Int64 = Instant.nowMilliseconds()) async throws
        -> String
    {
        let base = Self.ticketBase(userID: userID, now: now)
        var ticket = base
        var suffix = 1
        while try await db.one("SELECT 1 AS taken FROM correction_requests WHERE ticket_id = ?", [.text(ticket)]) != nil {
            suffix += 1
            ticket = "\(base)-\(suffix)"
        }
        try await db.execute(
            """
            INSERT INTO correction_requests (ticket_id, user_id, field, current_value, corrected_value, reason, status, created_at)
            VALUES (?, ?, ?, ?, ?, ?, 'received', ?)
            """,
            [
                .text(ticket), .text(userID), SQLValue(correction.field), SQLValue(correction.currentValue),
                SQLValue(correction.correctedValue), SQLValue(correction.reason), .text(Instant.format(milliseconds: now)),
            ])
        return ticket
    }

    /// `CORR-<first 8 characters of the user id>-<YYYYmmddHHMMSS in UTC>`.
    static func ticketBase(userID: String, now: Int64) -> String {
        let digits = Instant.format(milliseconds: now).prefix(19).filter(\.isNumber)
        return "CORR-\(userID.prefix(8))-\(digits)"
    }

    func exportData(userID: String, from executor: any DatabaseExecutor) async throws -> JSONValue {
        let rows = try await executor.query(
            "SELECT ticket_id, field, current_value, corrected_value, reason, status, created_at FROM correction_requests WHERE user_id = ? ORDER BY id",
            [.text(userID)])
        return .array(rows.map { .object($0.json) })
    }

    func eraseData(userID: String, in transaction: any StoreTransaction) async throws -> Int {
        try await transaction.execute("DELETE FROM correction_requests WHERE user_id = ?", [.text(userID)]).changes
    }
}

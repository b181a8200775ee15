import Store

/// The one consent table of the whole system (02 §2). Other services read it through
/// `ConsentRecords`; a writer outside Swift (the SOS Lua service) must keep its conventions:
/// instants as `Instant.format` text (`time.iso()` in Lua), `emergency_id` '' when there is none
/// (so the unique key treats "no event" as one value), `revocable` 0/1.
enum ConsentSchema {
    /// One statement per migration, so any `Store` backend can apply it as a single statement.
    static let migrations = [
        """
        CREATE TABLE consents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id TEXT NOT NULL,
            data_category TEXT NOT NULL,
            purpose TEXT NOT NULL,
            granted_to TEXT NOT NULL DEFAULT 'self',
            granted_to_id TEXT,
            emergency_id TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            consent_text TEXT,
            consent_version TEXT NOT NULL DEFAULT '1.0',
            consent_method TEXT NOT NULL,
            revocable INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            granted_at TEXT,
            expires_at TEXT,
            revoked_at TEXT,
            client_ip TEXT,
            updated_at TEXT NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX consents_key ON consents (user_id, data_category, purpose, granted_to, emergency_id)",
    ]
}

/// Failures of the consent record store that are not database errors.
public enum ConsentStoreError: Error, Sendable {
    case unreadableRecord
    /// The row just written could not be read back.
    case lostWrite
}

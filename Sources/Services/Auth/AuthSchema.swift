/// The auth service's tables. Instants shown to clients (`created_at`) are `Instant.format`
/// text; token and code times are Unix seconds (as in the JWT claims), BIGINT for PostgreSQL.
/// One statement per migration, so any `Store` backend can apply each as a single statement.
enum AuthSchema {
    static let migrations = [
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            phone_number TEXT NOT NULL UNIQUE,
            age INTEGER,
            gender TEXT,
            blood_group TEXT,
            allergies TEXT NOT NULL DEFAULT '[]',
            conditions TEXT NOT NULL DEFAULT '[]',
            emergency_contact TEXT,
            emergency_phone TEXT,
            role TEXT NOT NULL DEFAULT 'patient',
            is_active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE user_preferences (
            user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
            language TEXT NOT NULL DEFAULT 'en',
            emergency_enabled INTEGER NOT NULL DEFAULT 1,
            medicine_reminders INTEGER NOT NULL DEFAULT 1,
            notification_enabled INTEGER NOT NULL DEFAULT 1,
            dark_mode INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE auth_tokens (
            jti TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL,
            issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT,
            last_used_at BIGINT,
            device_info TEXT,
            client_ip TEXT
        )
        """,
        "CREATE INDEX auth_tokens_user ON auth_tokens (user_id)",
        """
        CREATE TABLE otp_codes (
            phone_number TEXT PRIMARY KEY,
            code_hash TEXT NOT NULL,
            salt TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            failed_attempts INTEGER NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL
        )
        """,
    ]
}

import ServiceKit
import Store

/// A stored triage session row.
struct TriageSessionRecord: Sendable {
    var id: String
    /// The user the session belongs to; nil for an anonymous session (its id is the only key).
    var ownerID: String?
    var status: String
    var age: Int?
    var duration: String?
    var severity: String?
    var finalOutput: JSONValue?
    var createdMs: Int64
    var updatedMs: Int64
}

struct TriageMessageRecord: Sendable {
    var id: Int64
    var sender: String
    var content: String
    var createdMs: Int64
}

struct TriageObservationRecord: Sendable {
    var id: Int64
    var source: String
    var data: JSONValue
    var createdMs: Int64
}

/// SQL access to triage sessions, their messages and photo observations. Every method takes the
/// executor to run on, so a whole triage step can run in one transaction. Rows are keyed by
/// session id and carry the owner's user id, so a user's sessions can be exported and erased.
struct TriageSessionRepository: Sendable {
    /// Anonymous sessions are deleted this long after their last change (03-diagnostics §1).
    static let anonymousLifetimeMs: Int64 = 24 * 60 * 60 * 1000

    static let migrations = [
        """
        CREATE TABLE triage_sessions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            owner_id TEXT,
            status TEXT NOT NULL,
            language TEXT NOT NULL DEFAULT 'en',
            age INTEGER,
            duration TEXT,
            severity TEXT,
            final_output TEXT,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        );
        CREATE INDEX triage_sessions_owner ON triage_sessions (owner_id, updated_ms);
        CREATE TABLE triage_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES triage_sessions (id) ON DELETE CASCADE,
            sender TEXT NOT NULL,
            content TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        );
        CREATE INDEX triage_messages_session ON triage_messages (session_id, id);
        CREATE TABLE triage_observations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES triage_sessions (id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            observation_data TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        );
        CREATE INDEX triage_observations_session ON triage_observations (session_id, id);
        """
    ]

    /// Milliseconds since the epoch; injectable so tests can age sessions.
    var now: @Sendable () -> Int64 = { Instant.nowMilliseconds() }

    // MARK: Sessions

    /// The session if `accessor` may see it: an owned session only by its owner, an anonymous one
    /// by anyone holding the id until it expires. Nil otherwise, as if it did not exist.
    func visibleSession(id: String, accessor: String?, on db: any DatabaseExecutor) async throws -> TriageSessionRecord? {
        guard let row = try await db.one("SELECT * FROM triage_sessions WHERE id = ?", [.text(id)]) else { return nil }
        let record = Self.session(from: row)
        if let owner = record.ownerID {
            return owner == accessor ? record : nil
        }
        return record.updatedMs + Self.anonymousLifetimeMs > now() ? record : nil
    }

    func createSession(id: String, ownerID: String?, age: Int?, duration: String?, severity: String?, on db: any DatabaseExecutor) async throws {
        let time = now()
        try await db.execute(
            """
            INSERT INTO triage_sessions (id, owner_id, status, language, age, duration, severity, final_output, created_ms, updated_ms)
            VALUES (?, ?, 'collecting', 'en', ?, ?, ?, NULL, ?, ?)
            """,
            [.text(id), SQLValue(ownerID), SQLValue(age), SQLValue(duration), SQLValue(severity), .integer(time), .integer(time)])
    }

    /// Sets the fields that were given (nil leaves a field as it is).
    func updateDetails(id: String, age: Int?, duration: String?, severity: String?, on db: any DatabaseExecutor) async throws {
        try await db.execute(
            """
            UPDATE triage_sessions SET age = COALESCE(?, age), duration = COALESCE(?, duration),
                severity = COALESCE(?, severity), updated_ms = ? WHERE id = ?
            """,
            [SQLValue(age), SQLValue(duration), SQLValue(severity), .integer(now()), .text(id)])
    }

    /// Records the status of the latest response; a completed step also stores its output.
    func recordOutcome(id: String, finalOutput: JSONObject?, on db: any DatabaseExecutor) async throws {
        if let finalOutput {
            try await db.execute(
                "UPDATE triage_sessions SET status = 'completed', final_output = ?, updated_ms = ? WHERE id = ?",
                [.text(JSON.encodeString(.object(finalOutput))), .integer(now()), .text(id)])
        } else {
            try await db.execute(
                "UPDATE triage_sessions SET status = 'collecting', updated_ms = ? WHERE id = ?", [.integer(now()), .text(id)])
        }
    }

    func deleteSession(id: String, on db: any DatabaseExecutor) async throws {
        try await db.execute("DELETE FROM triage_messages WHERE session_id = ?", [.text(id)])
        try await db.execute("DELETE FROM triage_observations WHERE session_id = ?", [.text(id)])
        try await db.execute("DELETE FROM triage_sessions WHERE id = ?", [.text(id)])
    }

    /// Deletes anonymous sessions whose last change is older than the lifetime.
    @discardableResult
    func purgeExpiredAnonymous(on db: any DatabaseExecutor) async throws -> Int {
        let cutoff = SQLValue.integer(now() - Self.anonymousLifetimeMs)
        let expired = "SELECT id FROM triage_sessions WHERE owner_id IS NULL AND updated_ms <= ?"
        try await db.execute("DELETE FROM triage_messages WHERE session_id IN (\(expired))", [cutoff])
        try await db.execute("DELETE FROM triage_observations WHERE session_id IN (\(expired))", [cutoff])
        return try await db.execute("DELETE FROM triage_sessions WHERE owner_id IS NULL AND updated_ms <= ?", [cutoff]).changes
    }

    /// Ids of the sessions a user owns, in creation order (for export and erasure).
    func sessionIDs(ownerID: String, on db: any DatabaseExecutor) async throws -> [String] {
        try await db.query("SELECT id FROM triage_sessions WHERE owner_id = ? ORDER BY seq", [.text(ownerID)])
            .compactMap { $0.string("id") }
    }

    // MARK: Messages and observations

    func addMessage(sessionID: String, sender: String, content: String, on db: any DatabaseExecutor) async throws {
        try await db.execute(
            "INSERT INTO triage_messages (session_id, sender, content, created_ms) VALUES (?, ?, ?, ?)",
            [.text(sessionID), .text(sender), .text(content), .integer(now())])
    }

    func messages(sessionID: String, on db: any DatabaseExecutor) async throws -> [TriageMessageRecord] {
        try await db.query("SELECT id, sender, content, created_ms FROM triage_messages WHERE session_id = ? ORDER BY id", [.text(sessionID)])
            .map { row in
                TriageMessageRecord(
                    id: row.int64("id") ?? 0, sender: row.string("sender") ?? "", content: row.string("content") ?? "",
                    createdMs: row.int64("created_ms") ?? 0)
            }
    }

    func addObservation(sessionID: String, observation: VisionObservation, on db: any DatabaseExecutor) async throws {
        try await db.execute(
            "INSERT INTO triage_observations (session_id, source, observation_data, created_ms) VALUES (?, 'vision', ?, ?)",
            [.text(sessionID), .text(JSON.encodeString(.object(observation.json))), .integer(now())])
    }

    func observations(sessionID: String, on db: any DatabaseExecutor) async throws -> [TriageObservationRecord] {
        try await db.query(
            "SELECT id, source, observation_data, created_ms FROM triage_observations WHERE session_id = ? ORDER BY id", [.text(sessionID)]
        ).map { row in
            TriageObservationRecord(
                id: row.int64("id") ?? 0, source: row.string("source") ?? "",
                data: (try? JSON.decode(row.string("observation_data") ?? "")) ?? .null, createdMs: row.int64("created_ms") ?? 0)
        }
    }

    /// What the triage rules need to know about a session.
    func state(of session: TriageSessionRecord, on db: any DatabaseExecutor) async throws -> TriageState {
        let messages = try await messages(sessionID: session.id, on: db)
        let observations = try await observations(sessionID: session.id, on: db)
        return TriageState(
            userTexts: messages.filter { $0.sender == "user" }.map(\.content),
            observations: observations.compactMap { VisionObservation(json: $0.data) },
            duration: session.duration,
            questionCount: messages.count { $0.sender == "ai" })
    }

    private static func session(from row: Row) -> TriageSessionRecord {
        TriageSessionRecord(
            id: row.string("id") ?? "",
            ownerID: row.string("owner_id"),
            status: row.string("status") ?? "collecting",
            age: row.int("age"),
            duration: row.string("duration"),
            severity: row.string("severity"),
            finalOutput: row.string("final_output").flatMap { try? JSON.decode($0) },
            createdMs: row.int64("created_ms") ?? 0,
            updatedMs: row.int64("updated_ms") ?? 0)
    }
}

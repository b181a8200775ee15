import ServiceKit
import Store
import Testing

@Suite struct MigrationTests {
    static let authV1 = "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE)"
    static let authV2 = """
        CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));
        CREATE INDEX sessions_user ON sessions (user_id);
        """
    static let authV3 = "ALTER TABLE users ADD COLUMN name TEXT"

    @Test func migrationsAreAppliedOnceAcrossRestarts() async throws {
        try await withTemporaryStore { store, path in
            try await store.migrate(service: "auth", [Self.authV1, Self.authV2])
            try await store.migrate(service: "auth", [Self.authV1, Self.authV2])  // a second start: no-op
            try await store.execute("INSERT INTO users (email) VALUES ('a@example.com')")
            try await store.execute("INSERT INTO sessions (id, user_id) VALUES ('s1', 1)")

            // A restart with one more migration applies only that one.
            let restarted = try SQLiteStore(path: path)
            try await restarted.migrate(service: "auth", [Self.authV1, Self.authV2, Self.authV3])
            try await restarted.execute("UPDATE users SET name = 'Asha'")

            let recorded = try await restarted.query(
                "SELECT service, version, applied_at FROM schema_migrations ORDER BY version")
            #expect(recorded.map { $0.int("version") } == [1, 2, 3])
            #expect(recorded.allSatisfy { $0.string("service") == "auth" })
            #expect(recorded.allSatisfy { Instant.parse($0.string("applied_at") ?? "") != nil })
            #expect(try await restarted.query("SELECT id FROM users").count == 1)  // data survived
        }
    }

    @Test func versionsArePerService() async throws {
        try await withTemporaryStore { store, _ in
            try await store.migrate(service: "auth", [Self.authV1])
            try await store.migrate(service: "consent", ["CREATE TABLE consents (id INTEGER PRIMARY KEY)"])
            let rows = try await store.query("SELECT service, version FROM schema_migrations ORDER BY service")
            #expect(rows.map { "\($0.string("service")!)#\($0.int("version")!)" } == ["auth#1", "consent#1"])
        }
    }

    @Test func concurrentMigrateCallsApplyOnce() async throws {
        try await withTemporaryStore { store, path in
            let other = try SQLiteStore(path: path)
            async let first: Void = store.migrate(service: "auth", [Self.authV1, Self.authV2, Self.authV3])
            async let second: Void = other.migrate(service: "auth", [Self.authV1, Self.authV2, Self.authV3])
            _ = try await (first, second)
            #expect(try await store.query("SELECT version FROM schema_migrations").count == 3)
        }
    }

    @Test func failingMigrationIsNotRecordedAndLeavesNoTrace() async throws {
        try await withTemporaryStore { store, _ in
            let broken = "CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1)"
            let error = await #expect(throws: StoreError.self) {
                try await store.migrate(service: "auth", [Self.authV1, broken])
            }
            #expect(error?.message == "migration 2 of auth failed: no such table: no_such_table")
            let versions = try await store.query("SELECT version FROM schema_migrations WHERE service = 'auth'")
            #expect(versions.map { $0.int("version") } == [1])
            #expect(try await store.query("SELECT name FROM sqlite_master WHERE name = 'half_done'").isEmpty)
            // Fixed and rerun, it lands as version 2.
            try await store.migrate(service: "auth", [Self.authV1, "CREATE TABLE half_done (id INTEGER)"])
            #expect(try await store.query("SELECT version FROM schema_migrations").count == 2)
        }
    }
}

import Foundation
import ServiceKit
import Store
import Testing

/// Executor details beyond SQLiteStoreTests: conversions, routing of writes, error kinds.
@Suite struct StoreExecutorTests {
    static let usersTable = """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            email TEXT NOT NULL UNIQUE,
            name TEXT,
            score REAL,
            avatar BLOB,
            active INTEGER NOT NULL DEFAULT 1
        )
        """

    @Test func rowConversionsAndJSON() async throws {
        try await withTemporaryStore { store, _ in
            let row = try #require(
                try await store.one(
                    "SELECT 7 AS n, 2.0 AS whole, 2.5 AS half, 'hi' AS s, NULL AS empty, x'DEADBEEF' AS b, 0 AS flag"))
            #expect(row.int("whole") == 2)  // an integral real reads as an int
            #expect(row.int("half") == nil)
            #expect(row.double("n") == 7)
            #expect(row.bool("flag") == false)
            #expect(row.string("n") == "7")  // numbers read as text too
            let json = row.json
            #expect(json.keys == ["n", "whole", "half", "s", "empty", "b", "flag"])
            #expect(json["n"] == .int(7))
            #expect(json["half"] == .double(2.5))
            #expect(json["s"] == .string("hi"))
            #expect(json["empty"] == .null)
            #expect(json["b"] == .string("3q2+7w=="))
            #expect(JSON.encodeString(.object(json)) == #"{"n":7,"whole":2.0,"half":2.5,"s":"hi","empty":null,"b":"3q2+7w==","flag":0}"#)
        }
    }

    @Test func wrongParameterCountIsAStoreError() async throws {
        try await withTemporaryStore { store, _ in
            await #expect(throws: StoreError.self) {
                try await store.query("SELECT ? + ?", 1)
            }
        }
    }

    @Test func insertReturningGoesToTheWriter() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute(Self.usersTable)
            let row = try await store.one("INSERT INTO users (email) VALUES (?) RETURNING id, email", "r@example.com")
            #expect(row?.int("id") == 1)
            #expect(row?.string("email") == "r@example.com")
            let rows = try await store.query(
                "INSERT INTO users (email) VALUES (?), (?) RETURNING id", "s@example.com", "t@example.com")
            #expect(rows.map { $0.int("id") } == [2, 3])
            // `one` on a write still runs it to the end.
            _ = try await store.one("DELETE FROM users RETURNING id")
            #expect(try await store.query("SELECT id FROM users").isEmpty)
        }
    }

    /// SQLite, not the SQL's first word, decides what is a write: a CTE can delete.
    @Test func writesBehindACommonTableExpressionGoToTheWriter() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute(Self.usersTable)
            try await store.execute("INSERT INTO users (email) VALUES ('old@example.com'), ('new@example.com')")
            let rows = try await store.query(
                "WITH stale AS (SELECT id FROM users WHERE email = ?) DELETE FROM users WHERE id IN (SELECT id FROM stale)",
                "old@example.com")
            #expect(rows.isEmpty)
            #expect(try await store.query("SELECT email FROM users").map { $0.string("email") } == ["new@example.com"])
            // A comment before a SELECT is still a read.
            #expect(try await store.query("-- the one left\nSELECT count(*) AS c FROM users")[0].int("c") == 1)
        }
    }

    @Test func createsParentFolders() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/nested/deeper/mysehat.sqlite"
            let store = try SQLiteStore(path: path)
            try await store.execute("CREATE TABLE t (x INTEGER)")
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(await store.ping())
        }
    }

    @Test func foreignKeysAreEnforced() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            try await store.execute(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id))")
            let error = await #expect(throws: StoreError.self) {
                try await store.execute("INSERT INTO child (parent_id) VALUES (?)", 42)
            }
            #expect(error?.kind == .foreignKeyViolation)
            #expect(error?.message == "FOREIGN KEY constraint failed")
            try await store.execute("INSERT INTO parent (id) VALUES (42)")
            try await store.execute("INSERT INTO child (parent_id) VALUES (?)", 42)
        }
    }

    @Test func errorsCarryTheSQLiteMessageOnly() async throws {
        try await withTemporaryStore { store, _ in
            let missing = await #expect(throws: StoreError.self) {
                try await store.query("SELECT * FROM no_such_table WHERE secret = ?", "hunter2-secret")
            }
            #expect(missing?.message == "no such table: no_such_table")
            #expect(missing?.kind == .other)

            try await store.execute(Self.usersTable)
            try await store.execute("INSERT INTO users (email) VALUES (?)", "dup@example.com")
            let duplicate = await #expect(throws: StoreError.self) {
                try await store.execute("INSERT INTO users (email, name) VALUES (?, ?)", "dup@example.com", "hunter2-secret")
            }
            #expect(duplicate?.kind == .uniqueViolation)
            #expect(duplicate?.message == "UNIQUE constraint failed: users.email")
            for error in [missing, duplicate].compactMap({ $0 }) {
                let text = "\(error) \(String(reflecting: error))"
                #expect(!text.contains("hunter2"))
                #expect(!text.contains("SELECT"))
                #expect(!text.contains("INSERT"))
            }

            let syntax = await #expect(throws: StoreError.self) {
                try await store.execute("INSERTT INTO users VALUES (?)", "hunter2-secret")
            }
            #expect(syntax?.message.contains("syntax error") == true)
            #expect(syntax?.message.contains("hunter2") == false)
        }
    }

    @Test func pingAnswersAndCloseStopsTheStore() async throws {
        try await withTemporaryStore { store, _ in
            #expect(await store.ping())
            try store.close()
            #expect(await store.ping() == false)
        }
    }
}

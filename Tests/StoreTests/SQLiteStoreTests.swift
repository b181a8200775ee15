import Foundation
import Store
import Testing

@Suite("SQLite store")
struct SQLiteStoreTests {
    static func makeStore() throws -> (SQLiteStore, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        let store = try SQLiteStore(path: directory + "/db/mysehat.sqlite")
        return (store, directory)
    }

    @Test func crudWithBoundParameters() async throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await store.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, body TEXT, score REAL, data BLOB)")
        let injection = "x'); DROP TABLE notes; --"
        let inserted = try await store.execute("INSERT INTO notes (owner, body, score, data) VALUES (?, ?, ?, ?)", "1", .text(injection), 2.5, .blob([0, 1, 2]))
        #expect(inserted.changes == 1)
        #expect(inserted.lastInsertID == 1)
        let row = try #require(try await store.one("SELECT * FROM notes WHERE id = ?", .integer(inserted.lastInsertID)))
        #expect(row.string("body") == injection)
        #expect(row.double("score") == 2.5)
        #expect(row.bytes("data") == [0, 1, 2])
        #expect(row.json["owner"] == .string("1"))
        #expect(row.columns == ["id", "owner", "body", "score", "data"])
        let updated = try await store.execute("UPDATE notes SET body = ? WHERE owner = ?", "changed", "1")
        #expect(updated.changes == 1)
        #expect(try await store.query("SELECT * FROM notes").count == 1)
        let returned = try await store.query("INSERT INTO notes (owner) VALUES (?) RETURNING id", "2")
        #expect(returned.first?.int("id") == 2)
    }

    @Test func transactionRollsBackOnThrow() async throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await store.execute("CREATE TABLE t (v INTEGER)")
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await store.transaction { tx in
                try await tx.execute("INSERT INTO t (v) VALUES (?)", [.integer(1)])
                #expect(try await tx.query("SELECT v FROM t", []).count == 1)
                throw Boom()
            }
        }
        #expect(try await store.query("SELECT v FROM t").isEmpty)
        // The store is usable afterwards (the lock was released).
        try await store.execute("INSERT INTO t (v) VALUES (?)", 2)
        #expect(try await store.query("SELECT v FROM t").count == 1)
    }

    @Test func concurrentTransactionsSerialise() async throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await store.execute("CREATE TABLE counter (n INTEGER)")
        try await store.execute("INSERT INTO counter (n) VALUES (0)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await store.transaction { tx in
                        let n = try await tx.one("SELECT n FROM counter", [])?.int("n") ?? 0
                        await Task.yield()
                        try await tx.execute("UPDATE counter SET n = ?", [.integer(Int64(n + 1))])
                    }
                }
                group.addTask { _ = try await store.query("SELECT n FROM counter") }
            }
            try await group.waitForAll()
        }
        #expect(try await store.one("SELECT n FROM counter")?.int("n") == 50)
    }

    @Test func migrationsApplyOnceAcrossRestarts() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let migrations = ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN y TEXT; CREATE INDEX a_y ON a (y)"]
        do {
            let store = try SQLiteStore(path: directory + "/m.sqlite")
            try await store.migrate(service: "svc", migrations)
            try await store.migrate(service: "svc", migrations)
        }
        let store = try SQLiteStore(path: directory + "/m.sqlite")
        try await store.migrate(service: "svc", migrations + ["ALTER TABLE a ADD COLUMN z TEXT"])
        let versions = try await store.query("SELECT version FROM schema_migrations WHERE service = ? ORDER BY version", "svc")
        #expect(versions.compactMap { $0.int("version") } == [1, 2, 3])
        try await store.execute("INSERT INTO a (x, y, z) VALUES (1, 'b', 'c')")
    }

    @Test func walForeignKeysAndCleanErrors() async throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try await store.one("PRAGMA journal_mode")?.string("journal_mode") == "wal")
        try await store.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        try await store.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id))")
        do {
            try await store.execute("INSERT INTO child (parent_id) VALUES (?)", 99)
            Issue.record("foreign key not enforced")
        } catch let error as StoreError {
            #expect(error.message.contains("FOREIGN KEY"))
        }
        do {
            _ = try await store.query("SELECT nope FROM parent WHERE id = ?", .text("secret-value"))
            Issue.record("bad SQL accepted")
        } catch let error as StoreError {
            #expect(error.message.contains("no such column"))
            #expect(!error.message.contains("secret-value"))
        }
        #expect(await store.ping())
    }
}

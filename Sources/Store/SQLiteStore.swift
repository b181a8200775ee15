import Foundation
import GRDB
import Synchronization

/// The SQLite store: one file in the data folder, WAL mode, foreign keys on, a busy timeout.
/// Reads run on the pool's readers and never wait for writers; writes are serialised by an async
/// lock so a transaction can stay open across awaits without another writer slipping in.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    let lock = WriteLock()
    public let path: String

    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        // Our own lock guarantees a transaction's statements are not interleaved with other writes,
        // which is what lets a transaction span several accesses.
        configuration.allowsUnsafeTransactions = true
        configuration.maximumReaderCount = 4
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError.from(error)
        }
    }

    // MARK: DatabaseExecutor

    public func query(_ sql: String, _ params: [SQLValue]) async throws -> [Row] {
        let arguments = StatementArguments(params.map(\.databaseValue))
        if Self.isRead(sql) {
            do {
                return try await pool.read { db in try Self.fetch(db, sql: sql, arguments: arguments) }
            } catch {
                throw StoreError.from(error)
            }
        }
        // INSERT ... RETURNING and the like write: they take the lock like any write.
        await lock.acquire()
        do {
            let rows = try await pool.writeWithoutTransaction { db in try Self.fetch(db, sql: sql, arguments: arguments) }
            await lock.release()
            return rows
        } catch {
            await lock.release()
            throw StoreError.from(error)
        }
    }

    @discardableResult
    public func execute(_ sql: String, _ params: [SQLValue]) async throws -> ExecResult {
        await lock.acquire()
        do {
            let result = try await pool.writeWithoutTransaction { db in try Self.run(db, sql: sql, params: params) }
            await lock.release()
            return result
        } catch {
            await lock.release()
            throw StoreError.from(error)
        }
    }

    // MARK: Transactions

    public func begin() async throws -> any StoreTransaction {
        await lock.acquire()
        do {
            try await pool.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        } catch {
            await lock.release()
            throw StoreError.from(error)
        }
        return SQLiteTransaction(store: self)
    }

    public func migrate(service: String, _ migrations: [String]) async throws {
        try await execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
              service TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
              PRIMARY KEY (service, version))
            """)
        for (index, sql) in migrations.enumerated() {
            let version = Int64(index + 1)
            try await transaction { tx in
                guard try await tx.one("SELECT 1 FROM schema_migrations WHERE service = ? AND version = ?", [.text(service), .integer(version)]) == nil
                else { return }
                try await tx.execute(sql, [])
                try await tx.execute(
                    "INSERT INTO schema_migrations (service, version, applied_at) VALUES (?, ?, ?)",
                    [.text(service), .integer(version), .text(ISO8601DateFormatter().string(from: Date()))])
            }
        }
    }

    public func ping() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    // MARK: Helpers

    static func isRead(_ sql: String) -> Bool {
        let head = sql.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" }.prefix(7).uppercased()
        guard head.hasPrefix("SELECT") || head.hasPrefix("WITH") || head.hasPrefix("PRAGMA") else { return false }
        return !sql.uppercased().contains("RETURNING")
    }

    static func fetch(_ db: Database, sql: String, arguments: StatementArguments) throws -> [Row] {
        let statement = try db.makeStatement(sql: sql)
        statement.arguments = arguments
        let columns = statement.columnNames
        return try GRDB.Row.fetchAll(statement).map { row in
            Row(columns: columns, values: (0..<columns.count).map { SQLValue(row[$0] as DatabaseValue) })
        }
    }

    /// Runs one statement, or a script of several when there are no parameters (migrations).
    static func run(_ db: Database, sql: String, params: [SQLValue]) throws -> ExecResult {
        if params.isEmpty {
            try db.execute(sql: sql)
        } else {
            try db.execute(sql: sql, arguments: StatementArguments(params.map(\.databaseValue)))
        }
        return ExecResult(changes: db.changesCount, lastInsertID: db.lastInsertedRowID)
    }
}

/// An open SQLite transaction holding the store's write lock.
final class SQLiteTransaction: StoreTransaction {
    let store: SQLiteStore
    private let finished = Atomic<Bool>(false)

    init(store: SQLiteStore) {
        self.store = store
    }

    func query(_ sql: String, _ params: [SQLValue]) async throws -> [Row] {
        try checkOpen()
        let arguments = StatementArguments(params.map(\.databaseValue))
        do {
            // On the writer connection: the transaction sees its own writes.
            return try await store.pool.writeWithoutTransaction { db in try SQLiteStore.fetch(db, sql: sql, arguments: arguments) }
        } catch {
            throw StoreError.from(error)
        }
    }

    func execute(_ sql: String, _ params: [SQLValue]) async throws -> ExecResult {
        try checkOpen()
        do {
            return try await store.pool.writeWithoutTransaction { db in try SQLiteStore.run(db, sql: sql, params: params) }
        } catch {
            throw StoreError.from(error)
        }
    }

    func commit() async throws {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { throw StoreError("transaction already finished") }
        do {
            try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        } catch {
            // A failed COMMIT leaves SQLite in the transaction: roll back so the lock can be reused.
            Self.rollbackBlocking(store.pool)
            await store.lock.release()
            throw StoreError.from(error)
        }
        await store.lock.release()
    }

    func rollback() async {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Synchronous on purpose: an async database access would refuse to run in a cancelled
        // task, and a rollback must run precisely then.
        Self.rollbackBlocking(store.pool)
        await store.lock.release()
    }

    static func rollbackBlocking(_ pool: DatabasePool) {
        try? pool.writeWithoutTransaction { db in
            if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") }
        }
    }

    private func checkOpen() throws {
        if finished.load(ordering: .acquiring) { throw StoreError("transaction already finished") }
    }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let i): i.databaseValue
        case .real(let d): d.databaseValue
        case .text(let s): s.databaseValue
        case .blob(let b): Data(b).databaseValue
        }
    }

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let i): self = .integer(i)
        case .double(let d): self = .real(d)
        case .string(let s): self = .text(s)
        case .blob(let data): self = .blob(Array(data))
        }
    }
}

extension StoreError {
    /// SQLite's own message, never the SQL or its arguments.
    static func from(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError { return StoreError(error.message ?? "database error (code \(error.resultCode.rawValue))") }
        if error is CancellationError { return StoreError("cancelled") }
        return StoreError("database error")
    }
}

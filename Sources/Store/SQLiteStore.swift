import Foundation
import GRDB
import Logging

/// The SQLite store: one file in WAL mode, foreign keys on, a 5 s busy timeout.
///
/// Reads outside a transaction run on the pool's reader connections and never wait for writes. All
/// writes, plain `execute` and transactions alike, queue behind one async FIFO lock and run on the
/// writer connection, so a transaction may await between its statements (a Lua script does) without
/// another write slipping in, and concurrent transactions never meet "database is locked".
public final class SQLiteStore: Store {
    public let path: String
    public let statementInspector: StatementInspector
    private let pool: DatabasePool
    private let writeLock = AsyncFIFOLock()
    private let logger: Logger

    public convenience init(path: String) throws {
        try self.init(path: path, logger: Logger(label: "mysehat.store"))
    }

    public init(path: String, logger: Logger) throws {
        self.path = path
        self.logger = logger
        self.statementInspector = StatementInspector(path: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw StoreError("cannot create the database folder \(folder.path): \(error.localizedDescription)")
        }
        var configuration = Configuration()
        configuration.label = "mysehat.store"
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        // Our transactions span several writer accesses (BEGIN, statements, COMMIT), guarded by writeLock.
        configuration.allowsUnsafeTransactions = true
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw SQLiteStatements.storeError(error)
        }
    }

    /// Closes every connection; later calls fail.
    public func close() throws {
        do { try pool.close() } catch { throw SQLiteStatements.storeError(error) }
    }

    // MARK: DatabaseExecutor

    public func query(_ sql: String, _ params: [SQLValue]) async throws -> [Row] {
        try await read(sql, params, maxRows: nil)
    }

    public func one(_ sql: String, _ params: [SQLValue]) async throws -> Row? {
        try await read(sql, params, maxRows: 1).first
    }

    @discardableResult
    public func execute(_ sql: String, _ params: [SQLValue]) async throws -> ExecResult {
        if let session = joinedSession() { return try await session.execute(sql, params) }
        return try await withWriter { try await $0.execute(sql, params) }
    }

    // MARK: Store

    /// Inside another transaction's body (on the same task) this becomes a SAVEPOINT of it.
    public func transaction<T: Sendable>(
        _ body: @Sendable (any DatabaseExecutor) async throws -> T
    ) async throws -> T {
        if let session = joinedSession() { return try await session.savepoint(body) }
        let transaction = try await openTransaction()
        do {
            let value = try await CurrentWriterSession.$value.withValue(transaction.session) {
                try await body(transaction)
            }
            try await transaction.commit()
            return value
        } catch {
            await transaction.rollback()  // a no-op when a failed commit already rolled back
            throw error
        }
    }

    public func begin() async throws -> any StoreTransaction {
        try await openTransaction()
    }

    public func migrate(
        service: String, _ migrations: [String], allowing: (@Sendable (StatementAccess) throws -> Void)?
    ) async throws {
        try await SchemaMigrations.apply(migrations, service: service, to: self, allowing: allowing, logger: logger)
    }

    public func ping() async -> Bool {
        let answer = try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
        return answer == 1
    }

    // MARK: Routing

    private func read(_ sql: String, _ params: [SQLValue], maxRows: Int?) async throws -> [Row] {
        if let session = joinedSession() { return try await session.query(sql, params, maxRows: maxRows) }
        do {
            return try await pool.read { db in
                try SQLiteStatements.query(db, sql, params, onReader: true, maxRows: maxRows)
            }
        } catch is SQLiteStatements.NeedsWriter {
            return try await withWriter { try await $0.query(sql, params, maxRows: maxRows) }
        } catch {
            throw SQLiteStatements.storeError(error)
        }
    }

    /// Runs one write access with the write lock held.
    private func withWriter<T: Sendable>(_ body: (WriterSession) async throws -> T) async throws -> T {
        try await writeLock.withLock {
            let session = WriterSession(pool: pool, owner: ObjectIdentifier(self))
            defer { session.close() }
            return try await body(session)
        }
    }

    /// Takes the write lock and opens BEGIN IMMEDIATE; the transaction releases the lock when it ends.
    private func openTransaction() async throws -> SQLiteTransaction {
        try await writeLock.lock()
        let session = WriterSession(pool: pool, owner: ObjectIdentifier(self))
        do {
            try await session.begin()
        } catch {
            session.close()
            writeLock.unlock()
            throw error
        }
        return SQLiteTransaction(session: session, lock: writeLock)
    }

    /// The open transaction of this store that the calling task runs inside, if any. A transaction
    /// body that calls the store itself instead of its executor then joins the transaction instead
    /// of waiting forever for the lock its own transaction holds.
    private func joinedSession() -> WriterSession? {
        guard let session = CurrentWriterSession.value, session.owner == ObjectIdentifier(self), session.isOpen
        else { return nil }
        return session
    }
}

private enum CurrentWriterSession {
    @TaskLocal static var value: WriterSession?
}

import GRDB
import Synchronization

/// Runs statements on the pool's single writer connection for a caller that holds the store's write
/// lock, so a transaction can await between statements while no other write interleaves.
///
/// A session is closed when its lock is released; one that leaked out of a transaction body refuses to
/// run rather than write outside the lock.
final class WriterSession: DatabaseExecutor {
    private let pool: DatabasePool
    let owner: ObjectIdentifier

    private struct State {
        var isOpen = true
        var savepointDepth = 0
    }

    private let state = Mutex(State())

    init(pool: DatabasePool, owner: ObjectIdentifier) {
        self.pool = pool
        self.owner = owner
    }

    var isOpen: Bool { state.withLock { $0.isOpen } }

    func close() { state.withLock { $0.isOpen = false } }

    func query(_ sql: String, _ params: [SQLValue]) async throws -> [Row] {
        try await query(sql, params, maxRows: nil)
    }

    func one(_ sql: String, _ params: [SQLValue]) async throws -> Row? {
        try await query(sql, params, maxRows: 1).first
    }

    func query(_ sql: String, _ params: [SQLValue], maxRows: Int?) async throws -> [Row] {
        try await write { db in try SQLiteStatements.query(db, sql, params, onReader: false, maxRows: maxRows) }
    }

    @discardableResult
    func execute(_ sql: String, _ params: [SQLValue]) async throws -> ExecResult {
        try await write { db in try SQLiteStatements.execute(db, sql, params) }
    }

    // MARK: Transactions

    func begin() async throws {
        try await write { db in
            // A rollback that failed (I/O error) leaves the connection inside a transaction; clear it
            // rather than fail every later transaction with "cannot start a transaction within a transaction".
            if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") }
            try db.execute(sql: "BEGIN IMMEDIATE")
        }
    }

    func commit() async throws {
        try await write { db in try db.execute(sql: "COMMIT") }
    }

    /// Rolls back whatever is open, even when the task is cancelled: GRDB refuses to start a database
    /// access for a cancelled task, so the rollback runs in a task of its own.
    func rollback() async {
        await uncancellable { db in
            // SQLite may already have rolled back (an interrupted statement, a full disk).
            if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") }
        }
    }

    /// Runs body inside a SAVEPOINT of the open transaction: a nested `transaction` call.
    func savepoint<T: Sendable>(_ body: @Sendable (any DatabaseExecutor) async throws -> T) async throws -> T {
        let name = state.withLock { state in
            state.savepointDepth += 1
            return "mysehat_savepoint_\(state.savepointDepth)"
        }
        defer { state.withLock { $0.savepointDepth -= 1 } }
        try await execute("SAVEPOINT \(name)", [])
        do {
            let value = try await body(self)
            try await execute("RELEASE SAVEPOINT \(name)", [])
            return value
        } catch {
            await uncancellable { db in
                if db.isInsideTransaction {
                    try db.execute(sql: "ROLLBACK TO SAVEPOINT \(name)")
                    try db.execute(sql: "RELEASE SAVEPOINT \(name)")
                }
            }
            throw error
        }
    }

    // MARK: Access

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        guard isOpen else { throw StoreError("transaction already finished: use the executor only inside its body") }
        do {
            return try await pool.writeWithoutTransaction(body)
        } catch {
            throw SQLiteStatements.storeError(error)
        }
    }

    private func uncancellable(_ body: @escaping @Sendable (Database) throws -> Void) async {
        let pool = self.pool
        await Task { try? await pool.writeWithoutTransaction(body) }.value
    }
}

import Synchronization

/// An open SQLite transaction: a writer session plus the store's write lock, held until commit or
/// rollback. Every other write of the store waits until then.
final class SQLiteTransaction: StoreTransaction {
    let session: WriterSession
    private let lock: AsyncFIFOLock
    private let finished = Atomic<Bool>(false)

    init(session: WriterSession, lock: AsyncFIFOLock) {
        self.session = session
        self.lock = lock
    }

    deinit {
        // Dropped while open, it would hold the write lock forever: roll back and let go.
        guard !finished.load(ordering: .acquiring) else { return }
        let session = session
        let lock = lock
        Task {
            await session.rollback()
            session.close()
            lock.unlock()
        }
    }

    func query(_ sql: String, _ params: [SQLValue]) async throws -> [Row] {
        try await session.query(sql, params)
    }

    func one(_ sql: String, _ params: [SQLValue]) async throws -> Row? {
        try await session.one(sql, params)
    }

    @discardableResult
    func execute(_ sql: String, _ params: [SQLValue]) async throws -> ExecResult {
        try await session.execute(sql, params)
    }

    func commit() async throws {
        guard claimEnd() else { throw StoreError("transaction already finished") }
        defer { release() }
        do {
            try await session.commit()
        } catch {
            await session.rollback()
            throw error
        }
    }

    func rollback() async {
        guard claimEnd() else { return }
        await session.rollback()
        release()
    }

    /// True for the one caller that gets to end the transaction.
    private func claimEnd() -> Bool {
        !finished.exchange(true, ordering: .acquiringAndReleasing)
    }

    private func release() {
        session.close()
        lock.unlock()
    }
}

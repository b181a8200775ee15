import Foundation
import Store
import Testing

@Suite struct TransactionTests {
    static let counterTable = "CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"

    @Test func commitReturnsTheBodyValue() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            let id = try await store.transaction { db in
                try await db.execute("INSERT INTO t (x) VALUES (?)", 1)
                try await db.execute("INSERT INTO t (x) VALUES (?)", 2)
                return try await db.one("SELECT sum(x) AS s FROM t")?.int("s")
            }
            #expect(id == 3)
            #expect(try await store.query("SELECT x FROM t").count == 2)
        }
    }

    @Test func failedStatementRollsBackTheWholeTransaction() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER UNIQUE)")
            await #expect(throws: StoreError.self) {
                try await store.transaction { db in
                    try await db.execute("INSERT INTO t (x) VALUES (1)")
                    try await db.execute("INSERT INTO t (x) VALUES (1)")
                }
            }
            #expect(try await store.query("SELECT x FROM t").isEmpty)
        }
    }

    /// Read-modify-write with an await in the middle: without serialisation some increments would
    /// be lost or fail with "database is locked".
    @Test func transactionsAndPlainWritesSerialise() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute(Self.counterTable)
            try await store.execute("INSERT INTO counter (id, value) VALUES (1, 0)")
            let workers = 40
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        if worker % 4 == 0 {
                            // Plain writes queue behind the same lock.
                            try await store.execute("INSERT INTO counter (value) VALUES (?)", .integer(Int64(worker)))
                            return
                        }
                        try await store.transaction { db in
                            let current = try await db.one("SELECT value FROM counter WHERE id = 1")?.int("value") ?? -1
                            try await Task.sleep(for: .milliseconds(2))
                            try await db.execute("UPDATE counter SET value = ? WHERE id = 1", .integer(Int64(current + 1)))
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.one("SELECT value FROM counter WHERE id = 1")?.int("value") == 30)
            #expect(try await store.one("SELECT count(*) AS c FROM counter")?.int("c") == 11)
        }
    }

    /// Two stores on one file stand for two processes: the second waits out the busy timeout
    /// instead of failing with "database is locked".
    @Test func secondConnectionWaitsForTheWriteLock() async throws {
        try await withTemporaryStore { store, path in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            let other = try SQLiteStore(path: path)
            let started = Date()
            async let holder: Void = store.transaction { db in
                try await db.execute("INSERT INTO t (x) VALUES (1)")
                try await Task.sleep(for: .milliseconds(300))
            }
            try await Task.sleep(for: .milliseconds(50))
            try await other.execute("INSERT INTO t (x) VALUES (2)")
            try await holder
            #expect(Date().timeIntervalSince(started) >= 0.25)
            #expect(try await other.query("SELECT x FROM t ORDER BY x").map { $0.int("x") } == [1, 2])
        }
    }

    /// A read outside the transaction neither waits for it nor sees its uncommitted rows.
    @Test func readsDoNotWaitForAnOpenTransaction() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            try await store.execute("INSERT INTO t (x) VALUES (1)")
            let (inserted, insertedSignal) = AsyncStream<Void>.makeStream()
            let (release, releaseSignal) = AsyncStream<Void>.makeStream()
            async let writer: Void = store.transaction { db in
                try await db.execute("INSERT INTO t (x) VALUES (2)")
                insertedSignal.yield()
                for await _ in release { break }
            }
            for await _ in inserted { break }
            let during = try await store.query("SELECT x FROM t")
            #expect(during.count == 1)
            releaseSignal.yield()
            try await writer
            #expect(try await store.query("SELECT x FROM t").count == 2)
        }
    }

    @Test func storeCallsInsideTheBodyJoinTheTransaction() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            await #expect(throws: Boom()) {
                try await store.transaction { _ in
                    try await store.execute("INSERT INTO t (x) VALUES (1)")  // would deadlock if not joined
                    #expect(try await store.query("SELECT x FROM t").count == 1)  // sees its own write
                    throw Boom()
                }
            }
            #expect(try await store.query("SELECT x FROM t").isEmpty)
        }
    }

    @Test func nestedTransactionIsASavepoint() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            try await store.transaction { db in
                try await db.execute("INSERT INTO t (x) VALUES (1)")
                try? await store.transaction { inner in
                    try await inner.execute("INSERT INTO t (x) VALUES (2)")
                    throw Boom()
                }
                _ = try await store.transaction { inner in
                    try await inner.execute("INSERT INTO t (x) VALUES (3)")
                }
            }
            #expect(try await store.query("SELECT x FROM t ORDER BY x").map { $0.int("x") } == [1, 3])
        }
    }

    @Test func leakedExecutorRefusesToRun() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            let leaked = try await store.transaction { db in db }
            let error = await #expect(throws: StoreError.self) {
                try await leaked.execute("INSERT INTO t (x) VALUES (1)")
            }
            #expect(error?.message.contains("transaction already finished") == true)
            #expect(try await store.query("SELECT x FROM t").isEmpty)
        }
    }

    @Test func cancelledTransactionRollsBackAndReleasesTheLock() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            let (inserted, insertedSignal) = AsyncStream<Void>.makeStream()
            let task = Task {
                try await store.transaction { db in
                    try await db.execute("INSERT INTO t (x) VALUES (1)")
                    insertedSignal.yield()
                    try await Task.sleep(for: .seconds(30))
                }
            }
            for await _ in inserted { break }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(try await store.query("SELECT x FROM t").isEmpty)
            try await store.execute("INSERT INTO t (x) VALUES (2)")
            #expect(try await store.query("SELECT x FROM t").count == 1)
        }
    }

    @Test func cancelledWaiterLeavesTheQueue() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            let (holding, holdingSignal) = AsyncStream<Void>.makeStream()
            let (release, releaseSignal) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await store.transaction { db in
                    holdingSignal.yield()
                    for await _ in release { break }
                    try await db.execute("INSERT INTO t (x) VALUES (1)")
                }
            }
            for await _ in holding { break }
            let waiter = Task { try await store.execute("INSERT INTO t (x) VALUES (99)") }
            try await Task.sleep(for: .milliseconds(50))
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            releaseSignal.yield()
            try await holder.value
            try await store.execute("INSERT INTO t (x) VALUES (2)")
            #expect(try await store.query("SELECT x FROM t ORDER BY x").map { $0.int("x") } == [1, 2])
        }
    }

    // MARK: begin / commit / rollback

    @Test func begunTransactionHoldsTheWriteLockUntilCommit() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            let transaction = try await store.begin()
            try await transaction.execute("INSERT INTO t (x) VALUES (1)")
            let waiting = Task { try await store.execute("INSERT INTO t (x) VALUES (2)") }
            try await Task.sleep(for: .milliseconds(100))
            // The plain write is still queued, and readers do not see the open transaction.
            #expect(try await store.query("SELECT x FROM t").isEmpty)
            try await transaction.commit()
            _ = try await waiting.value
            #expect(try await store.query("SELECT x FROM t ORDER BY rowid").map { $0.int("x") } == [1, 2])

            let error = await #expect(throws: StoreError.self) { try await transaction.commit() }
            #expect(error?.message == "transaction already finished")
            await #expect(throws: StoreError.self) { try await transaction.execute("INSERT INTO t (x) VALUES (3)") }
        }
    }

    @Test func begunTransactionRollsBack() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            let transaction = try await store.begin()
            try await transaction.execute("INSERT INTO t (x) VALUES (1)")
            #expect(try await transaction.query("SELECT x FROM t").count == 1)
            await transaction.rollback()
            await transaction.rollback()  // a second rollback is harmless
            #expect(try await store.query("SELECT x FROM t").isEmpty)
            try await store.execute("INSERT INTO t (x) VALUES (2)")
        }
    }

    @Test func droppedTransactionRollsBackAndFreesTheLock() async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute("CREATE TABLE t (x INTEGER)")
            do {
                let forgotten = try await store.begin()
                try await forgotten.execute("INSERT INTO t (x) VALUES (1)")
            }
            try await store.execute("INSERT INTO t (x) VALUES (2)")  // would wait forever if the lock leaked
            #expect(try await store.query("SELECT x FROM t").map { $0.int("x") } == [2])
        }
    }
}

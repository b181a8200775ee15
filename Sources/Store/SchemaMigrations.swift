import Logging
import ServiceKit

/// Applies each service's numbered schema migrations once, recording them in `schema_migrations`.
/// Written against `Store` in portable SQL so every backend shares it.
enum SchemaMigrations {
    static let createTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            service TEXT NOT NULL,
            version INTEGER NOT NULL,
            applied_at TEXT NOT NULL,
            PRIMARY KEY (service, version)
        )
        """

    static func apply(
        _ migrations: [String], service: String, to store: some Store, allowing: (@Sendable (StatementAccess) throws -> Void)?,
        logger: Logger
    ) async throws {
        try await store.execute(createTable)
        let applied = try await store.query("SELECT version FROM schema_migrations WHERE service = ?", .text(service))
        let appliedVersions = Set(applied.compactMap { $0.int("version") })
        for (index, sql) in migrations.enumerated() where !appliedVersions.contains(index + 1) {
            let version = index + 1
            if let allowing {
                // The schema of the versions before this one is committed, so the inspection sees it.
                do {
                    try allowing(try store.statementInspector.inspectMigration(sql))
                } catch {
                    throw StoreError("migration \(version) of \(service) refused: \(error)")
                }
            }
            let didApply: Bool
            do {
                didApply = try await store.transaction { db in
                    // Another process may have applied it since the read above; under the write lock of
                    // BEGIN IMMEDIATE this check is final.
                    let done = try await db.one(
                        "SELECT 1 FROM schema_migrations WHERE service = ? AND version = ?",
                        .text(service), .integer(Int64(version)))
                    if done != nil { return false }
                    try await db.execute(sql)
                    try await db.execute(
                        "INSERT INTO schema_migrations (service, version, applied_at) VALUES (?, ?, ?)",
                        .text(service), .integer(Int64(version)), .text(Instant.now()))
                    return true
                }
            } catch let error as StoreError {
                throw StoreError("migration \(version) of \(service) failed: \(error.message)", kind: error.kind)
            }
            if didApply {
                logger.info("applied schema migration", metadata: ["service": "\(service)", "version": "\(version)"])
            }
        }
    }
}

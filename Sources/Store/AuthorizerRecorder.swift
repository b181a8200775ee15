import GRDBSQLite

/// Collects what SQLite's authorizer reports while statements are prepared. It never refuses: it
/// only records, and the caller judges the whole `StatementAccess` afterwards.
final class AuthorizerRecorder {
    private(set) var access = StatementAccess()
    /// Whether the statement being prepared reported anything, to spot statements that change the
    /// database without naming a table (`VACUUM`), which the authorizer does not report.
    private(set) var statementReported = false
    /// An `ALTER TABLE ... RENAME TO` was prepared. The authorizer names only the old table, so
    /// the inspector checks the new name itself (or refuses the statement where it cannot).
    private(set) var renamesTable = false
    /// Indexes the statement being prepared creates: SQLite reports building one as a REINDEX.
    private var indexesCreatedByStatement: Set<String> = []

    /// The tables SQLite itself reads and writes for DDL and AUTOINCREMENT; nobody's data.
    private static let internalTables: Set<String> = [
        "sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema", "sqlite_sequence",
    ]

    /// Installs this recorder as the connection's authorizer; the connection must not outlive it
    /// without `uninstall`.
    func install(on connection: OpaquePointer) {
        sqlite3_set_authorizer(
            connection,
            { context, action, first, second, _, _ in
                guard let context else { return SQLITE_DENY }
                let recorder = Unmanaged<AuthorizerRecorder>.fromOpaque(context).takeUnretainedValue()
                recorder.record(action, first.map { String(cString: $0) }, second.map { String(cString: $0) })
                return SQLITE_OK
            },
            Unmanaged.passUnretained(self).toOpaque())
    }

    static func uninstall(from connection: OpaquePointer) {
        sqlite3_set_authorizer(connection, nil, nil)
    }

    func startStatement() {
        statementReported = false
        indexesCreatedByStatement = []
    }

    /// A schema object that appeared when a migration statement ran on the scratch copy.
    func recordAppeared(_ change: SchemaChange) {
        access.schemaChanges.insert(change)
    }

    /// A statement the inspector cannot fully judge without running it.
    func recordUncheckable(_ action: String) {
        access.forbiddenActions.insert(action)
    }

    /// For a prepared statement that compiles to a vacuum (`VACUUM`, `VACUUM INTO`), which the
    /// authorizer does not report.
    func recordUnreportedWrite() {
        access.forbiddenActions.insert("VACUUM")
    }

    private func record(_ action: Int32, _ first: String?, _ second: String?) {
        let first = first?.lowercased() ?? ""
        let second = second?.lowercased() ?? ""
        var reported = true
        // SQLite's own bookkeeping (sqlite_master, and sqlite_sequence it creates for AUTOINCREMENT).
        if Self.internalTables.contains(first) { return }
        switch action {
        case SQLITE_READ:
            access.tablesRead.insert(first)
        case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE:
            access.tablesWritten.insert(first)
        case SQLITE_CREATE_TABLE, SQLITE_CREATE_TEMP_TABLE, SQLITE_CREATE_VTABLE:
            access.schemaChanges.insert(SchemaChange(.create, .table, name: first, table: first))
        case SQLITE_DROP_TABLE, SQLITE_DROP_TEMP_TABLE, SQLITE_DROP_VTABLE:
            access.schemaChanges.insert(SchemaChange(.drop, .table, name: first, table: first))
        case SQLITE_CREATE_INDEX, SQLITE_CREATE_TEMP_INDEX:
            indexesCreatedByStatement.insert(first)
            // A UNIQUE or PRIMARY KEY constraint's index is part of its table: report it by the table's name.
            let name = first.hasPrefix("sqlite_autoindex_") ? second : first
            access.schemaChanges.insert(SchemaChange(.create, .index, name: name, table: second))
        case SQLITE_REINDEX where indexesCreatedByStatement.contains(first):
            break  // filling the index this CREATE INDEX makes
        case SQLITE_DROP_INDEX, SQLITE_DROP_TEMP_INDEX:
            access.schemaChanges.insert(SchemaChange(.drop, .index, name: first, table: second))
        case SQLITE_CREATE_TRIGGER, SQLITE_CREATE_TEMP_TRIGGER:
            access.schemaChanges.insert(SchemaChange(.create, .trigger, name: first, table: second))
        case SQLITE_DROP_TRIGGER, SQLITE_DROP_TEMP_TRIGGER:
            access.schemaChanges.insert(SchemaChange(.drop, .trigger, name: first, table: second))
        case SQLITE_CREATE_VIEW, SQLITE_CREATE_TEMP_VIEW:
            access.schemaChanges.insert(SchemaChange(.create, .view, name: first, table: first))
        case SQLITE_DROP_VIEW, SQLITE_DROP_TEMP_VIEW:
            access.schemaChanges.insert(SchemaChange(.drop, .view, name: first, table: first))
        case SQLITE_ALTER_TABLE:
            // The first argument is the database name, the second the table.
            access.schemaChanges.insert(SchemaChange(.alter, .table, name: second, table: second))
        case SQLITE_ATTACH: access.forbiddenActions.insert("ATTACH")
        case SQLITE_DETACH: access.forbiddenActions.insert("DETACH")
        case SQLITE_PRAGMA: access.forbiddenActions.insert("PRAGMA")
        case SQLITE_TRANSACTION: access.forbiddenActions.insert("BEGIN/COMMIT/ROLLBACK")
        case SQLITE_SAVEPOINT: access.forbiddenActions.insert("SAVEPOINT")
        case SQLITE_ANALYZE: access.forbiddenActions.insert("ANALYZE")
        case SQLITE_REINDEX: access.forbiddenActions.insert("REINDEX")
        case SQLITE_FUNCTION where second == "load_extension": access.forbiddenActions.insert("load_extension()")
        case SQLITE_FUNCTION where second == "sqlite_rename_table": renamesTable = true
        default:
            reported = false  // SELECT, RECURSIVE and ordinary functions touch nothing by themselves
        }
        if reported { statementReported = true }
    }
}

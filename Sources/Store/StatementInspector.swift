import GRDBSQLite
import Synchronization

/// Reports what SQL would touch without running it: SQLite's compiler prepares the text on a
/// separate read-only connection to the store's file with an authorizer that records every table,
/// schema object and special statement it is asked about (`AuthorizerRecorder`). Nothing parses
/// SQL text here, so views, triggers, CTEs and subqueries are resolved exactly as a real run would.
///
/// A text of several statements is inspected statement by statement (following the tail pointer);
/// the result covers all of them. A text that does not prepare throws SQLite's message, the same
/// error the real run would raise.
///
/// The store's own GRDB connections are untouched: GRDB keeps its own authorizer on them.
public final class StatementInspector: Sendable {
    /// The database file; `:memory:` and empty paths have no file a second connection could open.
    public let path: String
    /// Opened on first use and kept; one statement at a time, because the authorizer's context is
    /// per connection.
    private let connection = Mutex<InspectorConnection?>(nil)

    public init(path: String) {
        self.path = path
    }

    deinit {
        connection.withLock { $0?.close() }
    }

    /// What `sql` would read, write, create or drop on the store's database.
    public func inspect(_ sql: String) throws(StoreError) -> StatementAccess {
        try connection.withLock { (slot: inout InspectorConnection?) throws(StoreError) -> StatementAccess in
            let database = try opened(&slot)
            try database.refreshSchema()
            let recorder = AuthorizerRecorder()
            try StatementWalk.each(in: sql, on: database.handle, recorder: recorder) { _ in true }
            if recorder.renamesTable { recorder.recordUncheckable("ALTER TABLE ... RENAME TO outside a migration") }
            return recorder.access
        }
    }

    /// What migration script `sql` would touch, when the committed schema is the starting point.
    ///
    /// A migration usually uses what it creates (`CREATE TABLE t ...; CREATE INDEX ... ON t`), and
    /// a later statement does not prepare until the earlier one ran. So the script is prepared and
    /// run statement by statement on a scratch in-memory database holding a copy of the store's
    /// schema and no rows; a statement with a forbidden action is never run, even there. Every
    /// object a statement leaves behind that was not there before counts as created by it, which
    /// is how the new name of `ALTER TABLE ... RENAME TO` is checked.
    public func inspectMigration(_ sql: String) throws(StoreError) -> StatementAccess {
        let schema = try connection.withLock { (slot: inout InspectorConnection?) throws(StoreError) -> [String] in
            try opened(&slot).schema()
        }
        let scratch = try InspectorConnection.scratch(schema: schema)
        defer { scratch.close() }
        let recorder = AuthorizerRecorder()
        try StatementWalk.each(in: sql, on: scratch.handle, recorder: recorder) { statement throws(StoreError) in
            guard recorder.access.forbiddenActions.isEmpty else { return false }
            let before = try scratch.schemaObjects()
            try scratch.run(statement)
            for object in try scratch.schemaObjects().subtracting(before) { recorder.recordAppeared(object) }
            return true
        }
        return recorder.access
    }

    private func opened(_ slot: inout InspectorConnection?) throws(StoreError) -> InspectorConnection {
        if let connection = slot { return connection }
        let connection = try InspectorConnection.readOnly(path: path)
        slot = connection
        return connection
    }
}

/// One raw sqlite3 connection, configured like GRDB configures the store's.
struct InspectorConnection {
    let handle: OpaquePointer

    static func readOnly(path: String) throws(StoreError) -> InspectorConnection {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file::memory:") else {
            throw StoreError("table access cannot be checked on an in-memory database: a second connection cannot see it")
        }
        return try open(path, flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX)
    }

    /// An empty in-memory database holding `schema` (best effort: an object that does not
    /// replay is left out, and a migration that needs it then fails to prepare, so fails closed).
    static func scratch(schema: [String]) throws(StoreError) -> InspectorConnection {
        let connection = try open(":memory:", flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX)
        for sql in schema {
            _ = sqlite3_exec(connection.handle, sql, nil, nil, nil)
        }
        return connection
    }

    private static func open(_ path: String, flags: Int32) throws(StoreError) -> InspectorConnection {
        var handle: OpaquePointer?
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open the database"
            sqlite3_close_v2(handle)
            throw StoreError("statement inspector: \(message)")
        }
        // The store's connections (GRDB) treat "x" as an identifier only; prepare the same way.
        _disableDoubleQuotedStringLiterals(handle)
        sqlite3_busy_timeout(handle, 5000)
        return InspectorConnection(handle: handle)
    }

    func close() {
        sqlite3_close_v2(handle)
    }

    /// Makes sure the schema SQLite compiles against is the committed one. Preparing alone does not
    /// always notice another connection's change (a trigger's body naming a table created since is
    /// compiled against the cached schema and fails); running a statement checks the schema cookie
    /// and reloads the schema when it moved.
    func refreshSchema() throws(StoreError) {
        try eachRow(of: "SELECT 1 FROM sqlite_schema LIMIT 1") { _ in }
    }

    /// The CREATE statements of every table, index, trigger and view, in creation order.
    func schema() throws(StoreError) -> [String] {
        var statements: [String] = []
        try eachRow(of: "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid") { row in
            statements.append(Self.text(row, 0))
        }
        return statements
    }

    /// Every table, index, trigger and view, as created (an index of a constraint under its table's name).
    func schemaObjects() throws(StoreError) -> Set<SchemaChange> {
        var objects: Set<SchemaChange> = []
        try eachRow(of: "SELECT type, lower(name), lower(tbl_name) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'") { row in
            guard let kind = SchemaChange.Kind(rawValue: Self.text(row, 0)) else { return }
            let name = Self.text(row, 1)
            objects.insert(SchemaChange(.create, kind, name: name, table: kind == .view ? name : Self.text(row, 2)))
        }
        return objects
    }

    /// Steps a prepared statement to the end, handing each result row to `row`.
    func run(_ statement: OpaquePointer, row: (OpaquePointer) -> Void = { _ in }) throws(StoreError) {
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw lastError() }
            row(statement)
        }
    }

    private func eachRow(of sql: String, _ row: (OpaquePointer) -> Void) throws(StoreError) {
        try StatementWalk.each(in: sql, on: handle, recorder: nil) { statement throws(StoreError) in
            try run(statement, row: row)
            return true
        }
    }

    private static func text(_ row: OpaquePointer, _ column: Int32) -> String {
        sqlite3_column_text(row, column).map { String(cString: $0) } ?? ""
    }

    func lastError() -> StoreError {
        StoreError(String(cString: sqlite3_errmsg(handle)))
    }
}

/// Prepares each statement of an SQL text in turn.
enum StatementWalk {
    /// Calls `body` with each prepared statement until it returns false; whitespace and comments
    /// between statements prepare to nothing and are skipped. The recorder listens only while a
    /// statement prepares: running one (on the scratch copy) makes SQLite parse its own schema
    /// statements, which are not the caller's. A statement that changes the database without the
    /// authorizer hearing of it and compiles to SQLite's Vacuum instruction is recorded as `VACUUM`.
    static func each(
        in sql: String, on connection: OpaquePointer, recorder: AuthorizerRecorder?,
        _ body: (OpaquePointer) throws(StoreError) -> Bool
    ) throws(StoreError) {
        let utf8 = Array(sql.utf8CString)
        try utf8.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<CChar>) throws(StoreError) in
            guard var cursor = buffer.baseAddress else { return }
            while cursor.pointee != 0 {
                var statement: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                recorder?.startStatement()
                recorder?.install(on: connection)
                let status = sqlite3_prepare_v2(connection, cursor, -1, &statement, &tail)
                AuthorizerRecorder.uninstall(from: connection)
                guard status == SQLITE_OK else {
                    sqlite3_finalize(statement)
                    throw StoreError(String(cString: sqlite3_errmsg(connection)))
                }
                if let statement {
                    defer { sqlite3_finalize(statement) }
                    if let recorder, !recorder.statementReported, sqlite3_stmt_readonly(statement) == 0,
                        compilesToVacuum(statement, on: connection)
                    {
                        recorder.recordUnreportedWrite()
                    }
                    guard try body(statement) else { return }
                }
                guard let tail, tail != cursor else { return }
                cursor = tail
            }
        }
    }

    /// Whether the program SQLite compiled for `statement` holds a Vacuum instruction: the only
    /// write the authorizer is not asked about (`DROP TABLE IF EXISTS` of nothing also writes
    /// nothing it is asked about, and is harmless). Asks the compiler with `EXPLAIN` of the
    /// statement's own text; when that fails, answers yes, so the statement is refused.
    private static func compilesToVacuum(_ statement: OpaquePointer, on connection: OpaquePointer) -> Bool {
        guard let text = sqlite3_sql(statement) else { return true }
        var program: OpaquePointer?
        defer { sqlite3_finalize(program) }
        guard sqlite3_prepare_v2(connection, "EXPLAIN " + String(cString: text), -1, &program, nil) == SQLITE_OK, let program
        else { return true }
        while sqlite3_step(program) == SQLITE_ROW {
            if let opcode = sqlite3_column_text(program, 1), String(cString: opcode) == "Vacuum" { return true }
        }
        return false
    }
}

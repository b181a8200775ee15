import Foundation
import GRDB

/// Runs one call's SQL on a GRDB connection and converts values both ways.
enum SQLiteStatements {
    /// Thrown on a reader for a statement that writes (`INSERT ... RETURNING`): the store reruns it on
    /// the writer.
    struct NeedsWriter: Error {}

    static func query(
        _ db: Database, _ sql: String, _ params: [SQLValue], onReader: Bool, maxRows: Int? = nil
    ) throws -> [Row] {
        let statement = try db.cachedStatement(sql: sql)
        if onReader && !statement.isReadonly { throw NeedsWriter() }
        let columns = statement.columnNames
        let cursor = try GRDB.Row.fetchCursor(statement, arguments: arguments(params))
        // A write (`INSERT ... RETURNING`) is always stepped to the end, whatever the caller reads.
        let limit = statement.isReadonly ? (maxRows ?? .max) : .max
        var rows: [Row] = []
        while rows.count < limit, let row = try cursor.next() {
            rows.append(Row(columns: columns, values: row.databaseValues.map(SQLValue.init)))
        }
        return rows
    }

    /// Runs one statement or a script of several (a migration); parameters are consumed in order.
    static func execute(_ db: Database, _ sql: String, _ params: [SQLValue]) throws -> ExecResult {
        let before = db.totalChangesCount
        try db.execute(sql: sql, arguments: arguments(params))
        return ExecResult(changes: db.totalChangesCount - before, lastInsertID: db.lastInsertedRowID)
    }

    static func arguments(_ params: [SQLValue]) -> StatementArguments {
        StatementArguments(params.map(\.databaseValue))
    }

    /// The store's error for anything GRDB throws: the SQLite message only. GRDB's own description
    /// appends the SQL and, with public statement arguments, the values; neither belongs in a log.
    static func storeError(_ error: any Error) -> any Error {
        switch error {
        case is CancellationError, is StoreError:
            return error
        case let error as DatabaseError:
            return StoreError(error.message ?? "SQLite error \(error.resultCode.rawValue)", kind: kind(of: error))
        default:
            return StoreError(String(describing: error))
        }
    }

    private static func kind(of error: DatabaseError) -> StoreError.Kind {
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY: return .uniqueViolation
        case .SQLITE_CONSTRAINT_FOREIGNKEY: return .foreignKeyViolation
        default: break
        }
        switch error.resultCode {
        case .SQLITE_CONSTRAINT: return .constraintViolation
        case .SQLITE_BUSY, .SQLITE_LOCKED: return .busy
        default: return .other
        }
    }
}

extension SQLValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let real): self = .real(real)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob([UInt8](data))
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let integer): integer.databaseValue
        case .real(let real): real.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }
}

import Foundation
import ServiceKit

/// One value bound to, or read from, an SQL statement.
///
/// Booleans have no storage class of their own in SQLite: `true`/`false` literals become integers 1/0.
public enum SQLValue: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByNilLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral
{
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }
}

extension SQLValue {
    // Optional-taking initialisers so callers can bind nullable columns without a switch.
    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    public init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    public init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    public init(_ value: Double?) { self = value.map { .real($0) } ?? .null }
    public init(_ value: Bool?) { self = value.map { .integer($0 ? 1 : 0) } ?? .null }
    public init(_ value: [UInt8]?) { self = value.map { .blob($0) } ?? .null }

    public var isNull: Bool { self == .null }
}

/// One result row, columns in select order.
public struct Row: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        precondition(columns.count == values.count, "a row needs one value per column")
        self.columns = columns
        self.values = values
    }

    /// The value of `column`, or nil when the row has no such column. An exact match wins; otherwise the
    /// match ignores case, as SQL identifiers do (PostgreSQL folds unquoted aliases to lower case).
    public subscript(_ column: String) -> SQLValue? {
        if let index = columns.firstIndex(of: column) { return values[index] }
        let lowered = column.lowercased()
        if let index = columns.firstIndex(where: { $0.lowercased() == lowered }) { return values[index] }
        return nil
    }

    public func string(_ column: String) -> String? {
        if case .text(let value) = self[column] { return value }
        return nil
    }

    public func int64(_ column: String) -> Int64? {
        switch self[column] {
        case .integer(let value): value
        case .real(let value): Int64(exactly: value)
        default: nil
        }
    }

    public func int(_ column: String) -> Int? {
        int64(column).flatMap { Int(exactly: $0) }
    }

    public func double(_ column: String) -> Double? {
        switch self[column] {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    /// Integers read as booleans (0 is false), the way SQLite stores them.
    public func bool(_ column: String) -> Bool? {
        int64(column).map { $0 != 0 }
    }

    public func bytes(_ column: String) -> [UInt8]? {
        switch self[column] {
        case .blob(let value): value
        case .text(let value): Array(value.utf8)
        default: nil
        }
    }

    /// The row as a JSON object: text -> string, integer -> int, real -> double, null -> null,
    /// blob -> base64 string.
    public var json: JSONObject {
        var object = JSONObject()
        for (column, value) in zip(columns, values) {
            object[column] = value.json
        }
        return object
    }
}

extension SQLValue {
    var json: JSONValue {
        switch self {
        case .null: .null
        case .integer(let value): .int(value)
        case .real(let value): .double(value)
        case .text(let value): .string(value)
        case .blob(let value): .string(Data(value).base64EncodedString())
        }
    }
}

/// What a write statement did.
public struct ExecResult: Sendable {
    /// Rows inserted, updated or deleted by the statement(s); 0 for schema statements.
    public let changes: Int
    /// The row id of the most recent successful INSERT on the connection (SQLite semantics).
    public let lastInsertID: Int64

    public init(changes: Int, lastInsertID: Int64) {
        self.changes = changes
        self.lastInsertID = lastInsertID
    }
}

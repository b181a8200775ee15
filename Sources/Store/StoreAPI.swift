import ServiceKit

/// A value bound to a `?` placeholder or read from a column.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }

    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    public init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    public init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    public init(_ value: Double?) { self = value.map { .real($0) } ?? .null }
    public init(_ value: Bool?) { self = value.map { .integer($0 ? 1 : 0) } ?? .null }
}

/// One result row; columns in select order.
public struct Row: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ column: String) -> SQLValue? {
        guard let index = columns.firstIndex(of: column) else { return nil }
        return values[index]
    }

    public func string(_ column: String) -> String? {
        switch self[column] {
        case .text(let s): s
        case .integer(let i): String(i)
        case .real(let d): String(d)
        default: nil
        }
    }

    public func int64(_ column: String) -> Int64? {
        switch self[column] {
        case .integer(let i): i
        case .real(let d): Int64(exactly: d)
        case .text(let s): Int64(s)
        default: nil
        }
    }

    public func int(_ column: String) -> Int? { int64(column).flatMap { Int(exactly: $0) } }

    public func double(_ column: String) -> Double? {
        switch self[column] {
        case .integer(let i): Double(i)
        case .real(let d): d
        case .text(let s): Double(s)
        default: nil
        }
    }

    public func bool(_ column: String) -> Bool? { int64(column).map { $0 != 0 } }

    public func bytes(_ column: String) -> [UInt8]? {
        switch self[column] {
        case .blob(let b): b
        case .text(let s): Array(s.utf8)
        default: nil
        }
    }

    /// text -> string, integer -> int, real -> double, null -> null, blob -> base64 string.
    public var json: JSONObject {
        var object = JSONObject()
        for (column, value) in zip(columns, values) {
            switch value {
            case .null: object[column] = .null
            case .integer(let i): object[column] = .int(i)
            case .real(let d): object[column] = .double(d)
            case .text(let s): object[column] = .string(s)
            case .blob(let b): object[column] = .string(Base64.encode(b))
            }
        }
        return object
    }
}

public struct ExecResult: Sendable {
    public let changes: Int
    public let lastInsertID: Int64

    public init(changes: Int, lastInsertID: Int64) {
        self.changes = changes
        self.lastInsertID = lastInsertID
    }
}

/// Something that runs SQL: the store itself, or an open transaction.
public protocol DatabaseExecutor: Sendable {
    func query(_ sql: String, _ params: [SQLValue]) async throws -> [Row]
    func one(_ sql: String, _ params: [SQLValue]) async throws -> Row?
    @discardableResult func execute(_ sql: String, _ params: [SQLValue]) async throws -> ExecResult
}

extension DatabaseExecutor {
    public func query(_ sql: String, _ params: SQLValue...) async throws -> [Row] { try await query(sql, params) }
    public func one(_ sql: String, _ params: SQLValue...) async throws -> Row? { try await one(sql, params) }
    @discardableResult public func execute(_ sql: String, _ params: SQLValue...) async throws -> ExecResult { try await execute(sql, params) }

    public func one(_ sql: String, _ params: [SQLValue]) async throws -> Row? {
        try await query(sql, params).first
    }
}

/// A transaction that stays open across awaits (e.g. while a Lua script runs between statements).
/// Every write of the store waits until it commits or rolls back.
public protocol StoreTransaction: DatabaseExecutor {
    func commit() async throws
    func rollback() async
}

/// The database behind every service, Swift and Lua alike. SQLite today; the protocol keeps
/// PostgreSQL possible without touching services (SQL uses `?` placeholders, always bound).
public protocol Store: DatabaseExecutor {
    /// Runs `body` in one transaction; rolls back when it throws (or the task is cancelled).
    func transaction<T: Sendable>(_ body: @Sendable (any DatabaseExecutor) async throws -> T) async throws -> T
    /// Opens a transaction the caller must commit or roll back.
    func begin() async throws -> any StoreTransaction
    /// Applies `migrations[i]` as version i+1 of `service`, each once, recorded in schema_migrations.
    /// When `allowing` is given, each migration still to apply is first inspected and must pass it
    /// (it throws to refuse), so a sandboxed service cannot migrate tables it does not own.
    func migrate(service: String, _ migrations: [String], allowing: (@Sendable (StatementAccess) throws -> Void)?) async throws
    /// Reports what SQL would touch, without running it.
    var statementInspector: StatementInspector { get }
    /// A trivial query, for health checks.
    func ping() async -> Bool
}

extension Store {
    public func migrate(service: String, _ migrations: [String]) async throws {
        try await migrate(service: service, migrations, allowing: nil)
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any DatabaseExecutor) async throws -> T) async throws -> T {
        let transaction = try await begin()
        do {
            let result = try await body(transaction)
            try await transaction.commit()
            return result
        } catch {
            await transaction.rollback()
            throw error
        }
    }
}

/// A database failure with SQLite's message: no SQL text, no parameters.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure, for callers that answer differently (a duplicate is a 409, not a 500).
    public enum Kind: Sendable, Equatable {
        case uniqueViolation
        case foreignKeyViolation
        case constraintViolation
        /// The database stayed locked by another process past the busy timeout.
        case busy
        case other
    }

    public let message: String
    public let kind: Kind

    public init(_ message: String, kind: Kind = .other) {
        self.message = message
        self.kind = kind
    }

    public var description: String { message }
}

/// An audit sink that can write its row inside the caller's transaction, so a change and its
/// audit row commit (or roll back) together.
public protocol TransactionalAuditSink: AuditSink {
    func record(_ event: AuditEvent, in executor: any DatabaseExecutor) async throws
}

/// A service's part of the user's rights: what it holds about a user, and erasing it inside the
/// erasure's single transaction.
public protocol DataRightsParticipant: Sendable {
    /// The key of this service's part in the export's `data` object (e.g. `diagnostics`).
    var dataKey: String { get }
    /// The key of this service's count in the erasure's `records_deleted` (usually `dataKey`).
    var erasureKey: String { get }
    func exportData(userID: String, from executor: any DatabaseExecutor) async throws -> JSONValue
    /// Deletes the user's data; returns the number of records deleted.
    func eraseData(userID: String, in transaction: any StoreTransaction) async throws -> Int
}

extension DataRightsParticipant {
    public var erasureKey: String { dataKey }
}

/// Emergency override consents (02 §8) for services that open and end them (SOS), written in
/// the caller's transaction through the one consent store.
public protocol EmergencyOverrides: Sendable {
    /// Creates the override of event `emergencyID`, expiring at `expiresAt` (milliseconds since the
    /// epoch); returns its id and expiry (RFC 3339).
    func open(userID: String, emergencyID: String, grantedToID: String?, expiresAt: Int64, clientIP: String?, on executor: any DatabaseExecutor)
        async throws -> (id: Int64, expiresAt: String)
    /// Revokes the override of exactly that event; returns how many records changed.
    func end(userID: String, emergencyID: String, on executor: any DatabaseExecutor) async throws -> Int
    /// `active`, `expired` or `revoked` (also for a record that does not exist), expiry evaluated now.
    func state(consentID: Int64, on executor: any DatabaseExecutor) async throws -> String
}

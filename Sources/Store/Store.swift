/// Runs SQL with `?` placeholders; parameters are always bound, never spliced into the text.
public protocol DatabaseExecutor: Sendable {
    func query(_ sql: String, _ params: [SQLValue]) async throws -> [Row]
    func one(_ sql: String, _ params: [SQLValue]) async throws -> Row?
    @discardableResult func execute(_ sql: String, _ params: [SQLValue]) async throws -> ExecResult
}

extension DatabaseExecutor {
    public func query(_ sql: String, _ params: SQLValue...) async throws -> [Row] {
        try await query(sql, params)
    }

    public func one(_ sql: String, _ params: SQLValue...) async throws -> Row? {
        try await one(sql, params)
    }

    @discardableResult
    public func execute(_ sql: String, _ params: SQLValue...) async throws -> ExecResult {
        try await execute(sql, params)
    }
}

/// A database the services own tables in.
public protocol Store: DatabaseExecutor {
    /// Runs body in one transaction (BEGIN IMMEDIATE ... COMMIT, rollback on throw). Async body.
    @discardableResult
    func transaction<T: Sendable>(_ body: @Sendable (any DatabaseExecutor) async throws -> T) async throws -> T
    /// Applies migrations[i] as version i+1 for `service`, recorded in schema_migrations.
    func migrate(service: String, _ migrations: [String]) async throws
    func ping() async -> Bool
}

/// A database failure, with the database's own message: no SQL text, no parameters.
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

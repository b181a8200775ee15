/// What an SQL text would touch, as SQLite's own compiler reports it while preparing (see
/// `StatementInspector`). Names are lower-cased: SQLite names are case-insensitive.
public struct StatementAccess: Sendable, Equatable {
    /// Tables whose columns a statement reads, including through views, subqueries and triggers.
    public var tablesRead: Set<String> = []
    /// Tables a statement inserts into, updates or deletes from, including through triggers.
    public var tablesWritten: Set<String> = []
    /// Tables, indexes, triggers and views created, dropped or altered.
    public var schemaChanges: Set<SchemaChange> = []
    /// Statements that reach past the tables: `ATTACH`, `PRAGMA`, `BEGIN`, `load_extension()`, ...
    public var forbiddenActions: Set<String> = []

    public init() {}
}

/// One schema object created, dropped or altered, with the table it belongs to.
public struct SchemaChange: Sendable, Hashable, CustomStringConvertible {
    public enum Action: String, Sendable {
        case create, drop, alter
    }

    public enum Kind: String, Sendable {
        case table, index, trigger, view
    }

    public let action: Action
    public let kind: Kind
    /// The object's own name (for a table or view, the same as `table`).
    public let name: String
    /// The table an index or trigger is on; the table or view itself otherwise.
    public let table: String

    public init(_ action: Action, _ kind: Kind, name: String, table: String) {
        self.action = action
        self.kind = kind
        self.name = name
        self.table = table
    }

    /// `create index 'x' on table 'y'`, `drop table 'y'`, for messages.
    public var description: String {
        switch kind {
        case .index, .trigger: "\(action.rawValue) \(kind.rawValue) '\(name)' on table '\(table)'"
        case .table, .view: "\(action.rawValue) \(kind.rawValue) '\(name)'"
        }
    }
}

import Store

/// Whether one Lua service may run what a statement touches. Default deny: the service reads,
/// writes, creates, alters and drops its own tables (named like the service, or starting with its
/// name and `_`; `-` in the name reads as `_`) and the indexes, triggers and views on them; it
/// reads and writes the tables it was granted; nothing else, and never ATTACH, PRAGMA,
/// transaction statements, `load_extension()` and the like.
public struct TableAccessRule: Sendable {
    public let service: String
    public let grants: TableGrants
    /// The service's table name (lower-case, `-` as `_`); its other tables start with it and `_`.
    let ownName: String

    public init(service: String, grants: TableGrants) {
        self.service = service
        self.grants = grants
        self.ownName = String(service.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    func owns(_ table: String) -> Bool {
        (table == ownName || table.hasPrefix(ownName + "_")) && !TableGrants.swiftServiceTables.contains(table)
    }

    func mayWrite(_ table: String) -> Bool {
        !TableGrants.neverWritable.contains(table) && (owns(table) || grants.write.contains(table))
    }

    func mayRead(_ table: String) -> Bool {
        owns(table) || grants.read.contains(table) || mayWrite(table)
    }

    /// Throws the first thing `access` does that the service may not do.
    public func check(_ access: StatementAccess) throws(TableAccessRefusal) {
        if let action = access.forbiddenActions.sorted().first {
            throw refusal("may not use \(action) (no Lua service may)")
        }
        let foreignChange = access.schemaChanges
            .filter { !owns($0.table) || !owns($0.name) }
            .sorted { $0.description < $1.description }.first
        if let change = foreignChange {
            throw refusal(
                "may not \(change.description) (a service creates, alters and drops only its own tables, "
                    + "named '\(ownName)' or '\(ownName)_...', and what is on them, named the same way)")
        }
        if let table = access.tablesWritten.sorted().first(where: { !mayWrite($0) }) {
            if TableGrants.neverWritable.contains(table) {
                throw refusal("may not write table '\(table)' (no Lua service may; audit and consent have their own primitives)")
            }
            throw refusal("may not write table '\(table)' (grant it in \(grantExample("write", table)))")
        }
        if let table = access.tablesRead.sorted().first(where: { !mayRead($0) }) {
            throw refusal("may not read table '\(table)' (grant it in \(grantExample("read", table)))")
        }
    }

    /// Applies the service's migrations to `store`, each refused unless this rule allows it.
    public func migrate(_ migrations: [String], on store: any Store) async throws {
        try await store.migrate(service: service, migrations, allowing: { access in try check(access) })
    }

    private func refusal(_ what: String) -> TableAccessRefusal {
        TableAccessRefusal(message: "service '\(service)' \(what)")
    }

    private func grantExample(_ kind: String, _ table: String) -> String {
        "service(\"\(service)\", { tables = { \(kind) = { \"\(table)\" } } })"
    }
}

/// Why a Lua service may not run a statement.
public struct TableAccessRefusal: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The tables a Lua service may use beyond its own, as declared in
/// `service(name, { tables = { read = { ... }, write = { ... } } })`; fixed when the config loads.
/// Names are lower-cased (SQLite names are case-insensitive).
public struct TableGrants: Sendable, Equatable {
    public var read: Set<String>
    public var write: Set<String>

    public init(read: Set<String> = [], write: Set<String> = []) {
        self.read = read
        self.write = write
    }

    /// Tables no Lua service may write, even when it declares them: audit and consent records go
    /// through their own primitives, tokens and codes belong to auth, and the migration ledger to
    /// the store. Declaring one of them under `write` is a load error.
    public static let neverWritable: Set<String> = ["audit_log", "consents", "auth_tokens", "otp_codes", "schema_migrations"]

    /// The Swift services' tables. No Lua service owns one by its name, whatever the service is
    /// called (a Lua service named `auth` must not own `auth_tokens`); reading or writing them
    /// needs a grant. Add a table here when a Swift service creates a new one.
    public static let swiftServiceTables: Set<String> = [
        "schema_migrations", "audit_log", "audit_settings", "auth_tokens", "consents", "correction_requests", "otp_codes",
        "triage_messages", "triage_observations", "triage_sessions", "user_preferences", "users",
    ]
}

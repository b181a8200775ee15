import Foundation
import Gateway
import LuaRuntime
import ServiceKit
import Store
import Testing
import TestSupport

/// `notes` owns notes_*; its migrations also leave a view over users and a trigger that writes
/// shop's table, which must not work as a way around the rule. `/notes/try/<case>` runs one
/// statement under pcall and answers the error, so tests can read it.
private func notesService(grants: String = "") -> String {
    """
    local s = service("notes"\(grants))
    s:migrate{
      "CREATE TABLE notes_items (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL); CREATE TABLE notes_tags (item_id INTEGER, tag TEXT); CREATE INDEX notes_tags_item ON notes_tags (item_id)",
      "CREATE VIEW notes_phones AS SELECT phone FROM users",
      "CREATE TABLE notes_mirror (body TEXT); CREATE TRIGGER notes_mirror_leak AFTER INSERT ON notes_mirror BEGIN INSERT INTO shop_orders (item) VALUES (new.body); END",
    }
    s:post("/own", function(req)
      local id = db.exec("INSERT INTO notes_items (body) VALUES (?)", "milk").last_id
      db.exec("INSERT INTO notes_tags (item_id, tag) VALUES (?, ?)", id, "food")
      return 200, { rows = db.query("SELECT i.body, t.tag FROM notes_items i JOIN notes_tags t ON t.item_id = i.id WHERE i.id = ?", id) }
    end)
    local cases = {
      users = "SELECT phone FROM users WHERE id = 1",
      join = "SELECT i.body, o.item FROM notes_items i JOIN shop_orders o ON o.id = i.id",
      subquery = "SELECT body FROM notes_items WHERE id IN (SELECT id FROM shop_orders)",
      cte = "WITH o AS (SELECT item FROM shop_orders) SELECT item FROM o",
      view = "SELECT phone FROM notes_phones",
      trigger = "INSERT INTO notes_mirror (body) VALUES ('leak')",
      audit = "INSERT INTO audit_log (action) VALUES ('forged')",
      attach = "ATTACH DATABASE ':memory:' AS other",
      pragma = "PRAGMA table_info(users)",
      begin = "BEGIN",
      extension = "SELECT load_extension('/tmp/nothing.so')",
    }
    s:get("/try/{case}", function(req)
      local sql = cases[req.params.case]
      local ok, err = pcall(db.exec, sql)
      if ok then return 200, { ok = true } end
      return 403, { error = tostring(err) }
    end)
    s:get("/try-in-transaction", function(req)
      local ok, err = pcall(db.transaction, function() return db.one(cases.users) end)
      if ok then return 200, { ok = true } end
      return 403, { error = tostring(err) }
    end)
    return s
    """
}

private let shopService = """
local s = service("shop", { tables = { read = { "users" } } })
s.tables = { write = { "users", "audit_log" } }  -- grants are fixed by service(); this changes nothing
s:migrate{ "CREATE TABLE shop_orders (id INTEGER PRIMARY KEY, item TEXT)" }
s:get("/user", function(req) return 200, db.one("SELECT phone FROM users WHERE id = 1") end)
s:post("/user", function(req)
  local ok, err = pcall(db.exec, "UPDATE users SET phone = '0' WHERE id = 1")
  if ok then return 200, { ok = true } end
  return 403, { error = tostring(err) }
end)
s:get("/crash", function(req) return 200, db.query("SELECT body FROM notes_items") end)
s:get("/ok", function(req) return 200, { orders = #db.query("SELECT id FROM shop_orders") } end)
return s
"""

private let routes = """
return {
  { prefix = "/notes", service = "lua:notes", timeout = 5 },
  { prefix = "/shop", service = "lua:shop", timeout = 5 },
}
"""

/// A gateway over a real SQLite file that already holds two Swift-side tables (users, audit_log).
private struct GrantsHarness {
    let folder: TestConfigFolder
    let store: SQLiteStore

    init(files: [String: String]) async throws {
        folder = try TestConfigFolder(files: ["routes/main.lua": routes].merging(files) { _, new in new })
        store = try SQLiteStore(path: folder.path + "/data/mysehat.sqlite")
        try await store.execute(
            """
            CREATE TABLE users (id INTEGER PRIMARY KEY, phone TEXT);
            CREATE TABLE audit_log (id INTEGER PRIMARY KEY, action TEXT);
            INSERT INTO users (id, phone) VALUES (1, '+91 98765 43210');
            """)
    }

    func start() async throws -> TestGateway {
        var primitives = LuaPrimitives()
        primitives.addDatabase(store)
        return try await TestGateway.start(
            configDirectory: folder.path, upstream: NoUpstream(), luaPrimitives: primitives, store: store, logLevel: .critical)
    }

    /// Starts the gateway over `files`, runs `body`, stops it and removes the folder.
    static func run(files: [String: String], _ body: (TestGateway, GrantsHarness) async throws -> Void) async throws {
        let harness = try await GrantsHarness(files: files)
        defer { harness.folder.remove() }
        let gateway = try await harness.start()
        do {
            try await body(gateway, harness)
        } catch {
            await gateway.stop()
            throw error
        }
        await gateway.stop()
    }

    /// The load error of a config over `files` (nil when it loaded).
    static func loadError(files: [String: String]) async throws -> ConfigError? {
        let harness = try await GrantsHarness(files: files)
        defer { harness.folder.remove() }
        do {
            try await harness.start().stop()
            return nil
        } catch let error as ConfigError {
            return error
        }
    }
}

@Suite("Lua table grants")
struct LuaTableGrantsTests {
    static let files = ["services/notes.lua": notesService(), "services/shop.lua": shopService]

    @Test func ownTablesWork() async throws {
        try await GrantsHarness.run(files: Self.files) { gateway, harness throws in
            let answer = try await gateway.request(.POST, "/notes/own")
            #expect(answer.status == 200)
            #expect(answer.json?["rows"]?.arrayValue?.first?["tag"]?.stringValue == "food")
        }
    }

    @Test func foreignTablesNeedAGrantAndAReadGrantDoesNotWrite() async throws {
        try await GrantsHarness.run(files: Self.files) { gateway, harness throws in
            let denied = try await gateway.request(.GET, "/notes/try/users")
            #expect(denied.status == 403)
            #expect(
                denied.json?["error"]?.stringValue?.hasSuffix(
                    "db: service 'notes' may not read table 'users' (grant it in service(\"notes\", { tables = { read = { \"users\" } } }))") == true)
            let granted = try await gateway.request(.GET, "/shop/user")
            #expect(granted.status == 200)
            #expect(granted.json?["phone"]?.stringValue == "+91 98765 43210")
            let write = try await gateway.request(.POST, "/shop/user")
            #expect(write.json?["error"]?.stringValue?.contains("service 'shop' may not write table 'users'") == true)
            #expect(try await harness.store.one("SELECT phone FROM users WHERE id = 1")?.string("phone") == "+91 98765 43210")
        }
    }

    @Test func joinsSubqueriesCTEsViewsAndTriggersAreNoWayAround() async throws {
        try await GrantsHarness.run(files: Self.files) { gateway, harness throws in
            let expected = [
                "join": "may not read table 'shop_orders'", "subquery": "may not read table 'shop_orders'",
                "cte": "may not read table 'shop_orders'", "view": "may not read table 'users'",
                "trigger": "may not write table 'shop_orders'", "audit": "may not write table 'audit_log' (no Lua service may",
            ]
            for (name, message) in expected {
                let answer = try await gateway.request(.GET, "/notes/try/" + name)
                #expect(answer.status == 403, "\(name)")
                #expect(answer.json?["error"]?.stringValue?.contains(message) == true, "\(name): \(answer.json?["error"]?.stringValue ?? "")")
            }
            #expect(try await harness.store.query("SELECT id FROM shop_orders").isEmpty)
            #expect(try await harness.store.query("SELECT id FROM audit_log").isEmpty)
            let inTransaction = try await gateway.request(.GET, "/notes/try-in-transaction")
            #expect(inTransaction.json?["error"]?.stringValue?.contains("may not read table 'users'") == true)
        }
    }

    @Test func attachPragmaTransactionsAndExtensionsAreRefused() async throws {
        try await GrantsHarness.run(files: Self.files) { gateway, harness throws in
            let expected = ["attach": "ATTACH", "pragma": "PRAGMA", "begin": "BEGIN/COMMIT/ROLLBACK", "extension": "load_extension()"]
            for (name, action) in expected {
                let answer = try await gateway.request(.GET, "/notes/try/" + name)
                #expect(answer.json?["error"]?.stringValue?.contains("service 'notes' may not use \(action)") == true, "\(name)")
            }
        }
    }

    @Test func aDenialFailsOneRequestWhileAnotherServiceAnswers() async throws {
        try await GrantsHarness.run(files: Self.files) { gateway, harness throws in
            async let crashed = gateway.request(.GET, "/shop/crash")
            async let fine = gateway.request(.POST, "/notes/own")
            #expect(try await crashed.status == 500)
            #expect(try await fine.status == 200)
            #expect(try await gateway.request(.GET, "/shop/ok").status == 200)
        }
    }

    @Test func aReloadThatAddsAGrantAllowsTheSameSQL() async throws {
        try await GrantsHarness.run(files: Self.files) { gateway, harness throws in
            #expect(try await gateway.request(.GET, "/notes/try/users").status == 403)
            try harness.folder.write("services/notes.lua", notesService(grants: ", { tables = { read = { \"users\" } } }"))
            #expect(try await ReloadTests.eventually { try await gateway.request(.GET, "/notes/try/users").status == 200 })
        }
    }

    @Test func aWriteGrantOnAProtectedTableOrABadOptionIsALoadError() async throws {
        let cases = [
            "local s = service(\"x\", { tables = { write = { \"audit_log\" } } })\nreturn s":
                "x.lua:1: table 'audit_log' cannot be granted for writing to a Lua service",
            "local s = service(\"x\", { tables = { raed = { \"users\" } } })\nreturn s":
                "x.lua:1: unknown key 'raed' in tables (use read or write)",
            "local s = service(\"x\", { tables = { read = { 42 } } })\nreturn s":
                "x.lua:1: tables.read must be a list of table names (strings)",
            "local s = service(\"x\", { table = {} })\nreturn s": "x.lua:1: unknown service option 'table'",
        ]
        for (source, message) in cases {
            let error = try await GrantsHarness.loadError(files: ["services/x.lua": source])
            #expect(error?.description.contains(message) == true, "\(String(describing: error))")
        }
    }

    @Test func aMigrationOnAForeignTableKeepsTheServiceFromLoading() async throws {
        let sources = [
            "CREATE TABLE users_copy (id INTEGER)": "may not create table 'users_copy'",
            "CREATE INDEX x_phone ON users (phone)": "may not create index 'x_phone' on table 'users'",
            "CREATE TABLE x_items (id INTEGER); INSERT INTO x_items SELECT id FROM users": "may not read table 'users'",
            "PRAGMA journal_mode = DELETE": "may not use PRAGMA",
            "CREATE TABLE x_a (id INTEGER); ALTER TABLE x_a RENAME TO users_a": "may not create table 'users_a'",
        ]
        for (migration, message) in sources {
            let service = "local s = service(\"x\")\ns:migrate{ \"\(migration)\" }\nreturn s"
            let error = try await GrantsHarness.loadError(files: Self.files.merging(["services/x.lua": service]) { _, new in new })
            #expect(error?.description.contains("migration 1 of x refused: service 'x' \(message)") == true, "\(String(describing: error))")
        }
    }
}

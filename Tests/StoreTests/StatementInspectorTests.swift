import Store
import Testing

@Suite struct StatementInspectorTests {
    static let schema = """
        CREATE TABLE users (id INTEGER PRIMARY KEY, phone TEXT);
        CREATE TABLE notes_items (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER, body TEXT);
        CREATE TABLE audit_log (id INTEGER PRIMARY KEY, action TEXT);
        CREATE VIEW notes_people AS SELECT phone FROM users;
        CREATE TRIGGER notes_items_audit AFTER INSERT ON notes_items BEGIN INSERT INTO audit_log (action) VALUES ('x'); END;
        """

    /// A store on a real file holding `schema`, and its inspector.
    private func withInspector(_ body: (StatementInspector, SQLiteStore) async throws -> Void) async throws {
        try await withTemporaryStore { store, _ in
            try await store.execute(Self.schema)
            try await body(store.statementInspector, store)
        }
    }

    @Test func readsAndWritesAreReportedPerTable() async throws {
        try await withInspector { inspector, _ throws in
            let select = try inspector.inspect("SELECT n.body, u.phone FROM notes_items n JOIN users u ON u.id = n.user_id")
            #expect(select.tablesRead == ["notes_items", "users"])
            #expect(select.tablesWritten.isEmpty)
            let subquery = try inspector.inspect("SELECT body FROM notes_items WHERE user_id IN (SELECT id FROM users)")
            #expect(subquery.tablesRead == ["notes_items", "users"])
            let cte = try inspector.inspect("WITH p AS (SELECT phone FROM users) SELECT * FROM p")
            #expect(cte.tablesRead == ["users"])
            let update = try inspector.inspect("UPDATE notes_items SET body = ? WHERE id = ?")
            #expect(update.tablesWritten == ["notes_items"])
        }
    }

    @Test func viewsAndTriggersReportTheTablesBehindThem() async throws {
        try await withInspector { inspector, _ throws in
            // Reading a view reads the view and the tables behind it.
            #expect(try inspector.inspect("SELECT * FROM notes_people").tablesRead == ["notes_people", "users"])
            let insert = try inspector.inspect("INSERT INTO notes_items (body) VALUES ('a')")
            #expect(insert.tablesWritten == ["notes_items", "audit_log"])
        }
    }

    @Test func schemaChangesNameTheirTable() async throws {
        try await withInspector { inspector, _ throws in
            let index = try inspector.inspect("CREATE INDEX notes_by_user ON users (phone)")
            #expect(index.schemaChanges == [SchemaChange(.create, .index, name: "notes_by_user", table: "users")])
            let alter = try inspector.inspect("ALTER TABLE Users ADD COLUMN x TEXT")
            #expect(alter.schemaChanges == [SchemaChange(.alter, .table, name: "users", table: "users")])
            let drop = try inspector.inspect("DROP VIEW notes_people")
            #expect(drop.schemaChanges == [SchemaChange(.drop, .view, name: "notes_people", table: "notes_people")])
            // Internal bookkeeping (sqlite_master) is not reported; nothing ran.
            #expect(try inspector.inspect("CREATE TABLE other (id INTEGER)").tablesWritten.isEmpty)
            #expect(try inspector.inspect("SELECT name FROM sqlite_master WHERE name = 'other'").tablesRead.isEmpty)
        }
    }

    @Test func specialStatementsAreForbiddenActions() async throws {
        try await withInspector { inspector, _ throws in
            #expect(try inspector.inspect("ATTACH DATABASE '/tmp/x.sqlite' AS x").forbiddenActions == ["ATTACH"])
            #expect(try inspector.inspect("PRAGMA table_info(users)").forbiddenActions == ["PRAGMA"])
            #expect(try inspector.inspect("BEGIN").forbiddenActions == ["BEGIN/COMMIT/ROLLBACK"])
            #expect(try inspector.inspect("SAVEPOINT a").forbiddenActions == ["SAVEPOINT"])
            #expect(try inspector.inspect("SELECT load_extension('x')").forbiddenActions == ["load_extension()"])
            #expect(try inspector.inspect("VACUUM").forbiddenActions == ["VACUUM"])
            #expect(try inspector.inspect("VACUUM INTO '/tmp/copy.sqlite'").forbiddenActions == ["VACUUM"])
            // Statements that end up touching nothing are not mistaken for VACUUM.
            #expect(try inspector.inspect("DROP TABLE IF EXISTS notes_nothing").forbiddenActions.isEmpty)
            #expect(try inspector.inspect("CREATE TABLE IF NOT EXISTS notes_items (id INTEGER)").forbiddenActions.isEmpty)
            #expect(try inspector.inspect("DROP INDEX IF EXISTS notes_nothing_index").forbiddenActions.isEmpty)
        }
    }

    @Test func everyStatementOfAScriptIsInspectedAndNothingRuns() async throws {
        try await withInspector { inspector, store throws in
            let script = try inspector.inspect("SELECT 1 FROM notes_items; DELETE FROM users; -- done")
            #expect(script.tablesRead == ["notes_items"])
            #expect(script.tablesWritten == ["users"])
            try await store.execute("INSERT INTO users (phone) VALUES ('1')")
            _ = try inspector.inspect("DELETE FROM users")
            #expect(try await store.query("SELECT id FROM users").count == 1)
        }
    }

    @Test func aStatementThatDoesNotPrepareThrowsSQLitesMessage() async throws {
        try await withInspector { inspector, _ throws in
            #expect(throws: StoreError.self) { try inspector.inspect("SELECT * FROM no_such_table") }
            do {
                _ = try inspector.inspect("SELECT nope FROM users")
            } catch let error as StoreError {
                #expect(error.message == "no such column: nope")
            }
        }
    }

    @Test func tablesCreatedAfterTheInspectorOpenedAreSeen() async throws {
        try await withInspector { inspector, store throws in
            _ = try inspector.inspect("SELECT 1 FROM users")  // opens the inspector's connection
            try await store.execute("CREATE TABLE later (id INTEGER)")
            #expect(try inspector.inspect("SELECT id FROM later").tablesRead == ["later"])
        }
    }

    @Test func aTriggerBodyNamingATableCreatedLaterIsCompiledAgainstTheNewSchema() async throws {
        try await withInspector { inspector, store throws in
            try await store.execute("CREATE TRIGGER notes_items_copy AFTER DELETE ON notes_items BEGIN INSERT INTO later (id) VALUES (old.id); END")
            _ = try inspector.inspect("SELECT 1 FROM users")  // the inspector caches the schema without `later`
            try await store.execute("CREATE TABLE later (id INTEGER)")
            #expect(try inspector.inspect("DELETE FROM notes_items").tablesWritten == ["notes_items", "later"])
        }
    }

    @Test func migrationScriptsSeeWhatTheirEarlierStatementsCreate() async throws {
        try await withInspector { inspector, store throws in
            let migration = """
                CREATE TABLE notes_tags (id INTEGER PRIMARY KEY, tag TEXT);
                CREATE INDEX notes_tags_tag ON notes_tags (tag);
                INSERT INTO notes_tags (tag) SELECT phone FROM users;
                """
            let access = try inspector.inspectMigration(migration)
            #expect(access.tablesRead.contains("users"))
            #expect(access.tablesWritten == ["notes_tags"])
            #expect(access.schemaChanges.contains(SchemaChange(.create, .index, name: "notes_tags_tag", table: "notes_tags")))
            // Only the scratch copy ran it.
            #expect(try await store.query("SELECT name FROM sqlite_master WHERE name = 'notes_tags'").isEmpty)
            // A rename is checked by the name the table has afterwards; outside a migration it is refused.
            let rename = try inspector.inspectMigration("ALTER TABLE notes_items RENAME TO users_items")
            #expect(rename.schemaChanges.contains(SchemaChange(.create, .table, name: "users_items", table: "users_items")))
            #expect(try inspector.inspect("ALTER TABLE notes_items RENAME TO users_items").forbiddenActions.count == 1)
            // A forbidden statement is not run, even on the scratch copy.
            #expect(try inspector.inspectMigration("ATTACH DATABASE '/tmp/never.sqlite' AS x").forbiddenActions == ["ATTACH"])
        }
    }

    @Test func anInMemoryDatabaseFailsClosed() {
        #expect(throws: StoreError.self) { try StatementInspector(path: ":memory:").inspect("SELECT 1") }
    }
}

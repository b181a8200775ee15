import CLua
import CLuaShim
import ServiceKit
import Store

extension LuaPrimitives {
    /// `db.query(sql, ...)` -> rows, `db.one(sql, ...)` -> row or nil, `db.exec(sql, ...)` ->
    /// `{changes, last_id}`, `db.transaction(fn)`. Parameters are always bound; SQL NULL reads as
    /// `json.null`. SQL errors raise Lua errors with SQLite's message. Each statement is first
    /// checked against the calling service's table rules (`TableAccessGuard`).
    public mutating func addDatabase(_ store: any Store) {
        databaseStore = store
        set("db", .module([
            "query": .function { stack, context in Self.run(stack, context, store: store, mode: .rows) },
            "one": .function { stack, context in Self.run(stack, context, store: store, mode: .one) },
            "exec": .function { stack, context in Self.run(stack, context, store: store, mode: .exec) },
            "begin": .function { _, context in
                guard let run = context.running else { return .raise("db.transaction can only run while handling a request") }
                guard run.transaction.current == nil else { return .raise("db.transaction cannot be nested") }
                let slot = run.transaction
                return .yield {
                    do {
                        slot.set(try await store.begin())
                        return .values([])
                    } catch {
                        return .raise("db.transaction: \(error)")
                    }
                }
            },
            "finish": .function { stack, context in
                guard let run = context.running, let transaction = run.transaction.take() else { return .values(0) }
                let commit = stack.bool(at: 1)
                return .yield {
                    if commit {
                        do { try await transaction.commit() } catch { return .raise("db.transaction: commit failed: \(error)") }
                    } else {
                        await transaction.rollback()
                    }
                    return .values([])
                }
            },
        ]))
    }

    enum QueryMode {
        case rows, one, exec
    }

    static func run(_ stack: LuaStack, _ context: LuaStateContext, store: any Store, mode: QueryMode) -> HostReturn {
        guard let sql = stack.string(at: 1) else { return .raise("the first argument must be an SQL string") }
        // Default deny: the statement must touch only what the calling service may (see TableAccessRule).
        guard let tableAccess = context.tableAccess else { return .raise("db: the program is not loaded yet") }
        if let refusal = tableAccess.refusal(service: context.running?.serviceName ?? "", sql: sql) { return .raise(refusal) }
        var params: [SQLValue] = []
        if stack.top >= 2 {
            for index in 2...stack.top {
                switch stack.type(at: index) {
                case LUA_TNIL: params.append(.null)
                case LUA_TBOOLEAN: params.append(.integer(stack.bool(at: index) ? 1 : 0))
                case LUA_TNUMBER:
                    if let integer = stack.integer(at: index), mysehat_isinteger(stack.L, index) != 0 {
                        params.append(.integer(integer))
                    } else {
                        params.append(.real(stack.number(at: index) ?? 0))
                    }
                case LUA_TSTRING: params.append(.text(stack.string(at: index) ?? ""))
                case LUA_TLIGHTUSERDATA where lua_touserdata(stack.L, index) == nil: params.append(.null)
                default:
                    return .raise("parameter \(index - 1) must be a string, number, boolean or nil (got \(stack.describe(at: index)))")
                }
            }
        }
        let executor: any DatabaseExecutor = context.running?.transaction.current ?? store
        let bound = params
        return .yield {
            do {
                switch mode {
                case .rows:
                    let rows = try await executor.query(sql, bound)
                    return .values([.array(rows.map(Self.luaRow))])
                case .one:
                    guard let row = try await executor.one(sql, bound) else { return .values([.nil]) }
                    return .values([Self.luaRow(row)])
                case .exec:
                    let result = try await executor.execute(sql, bound)
                    return .values([.table([("changes", .integer(Int64(result.changes))), ("last_id", .integer(result.lastInsertID))])])
                }
            } catch {
                return .raise("SQL error: \(error)")
            }
        }
    }

    static func luaRow(_ row: Row) -> LuaValue {
        .table(zip(row.columns, row.values).map { column, value in
            let lua: LuaValue
            switch value {
            case .null: lua = .json(.null)
            case .integer(let i): lua = .integer(i)
            case .real(let d): lua = .number(d)
            case .text(let s): lua = .string(s)
            case .blob(let b): lua = .bytes(b)
            }
            return (column, lua)
        })
    }
}

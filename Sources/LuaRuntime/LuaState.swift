import CLua
import CLuaShim
import Logging
import ServiceKit

/// One `lua_State` with the sandbox, the loaded program and the request driver.
///
/// Not thread-safe: a `LuaWorker` actor owns it and is the only caller.
final class LuaState {
    let L: OpaquePointer
    let context: LuaStateContext
    let limits: LuaLimits
    private var budget: UnsafeMutablePointer<mysehat_budget> { mysehat_budget_of(L) }

    // Registry references into the prelude's tables.
    private var servicesRef: Int32 = LUA_NOREF
    /// The prelude's private `granted_tables` (service name -> { read = {...}, write = {...} }).
    private var grantedTablesRef: Int32 = LUA_NOREF
    private var newEnvRef: Int32 = LUA_NOREF
    private var requestMetatableRef: Int32 = LUA_NOREF
    /// Handler functions by service name and route index.
    private var handlerRefs: [String: [Int32]] = [:]
    private var healthRefs: [String: Int32] = [:]
    /// `service:every` functions by service name, in declaration order.
    private var jobRefs: [String: [Int32]] = [:]
    /// `on_export` / `on_erase` functions, by "service/hook".
    private var rightsRefs: [String: Int32] = [:]
    /// Instruction budgets services set with `service(name, { instructions = N })`.
    private var instructionBudgets: [String: Int64] = [:]
    /// The value each route/policy file returned.
    private var fileResultRefs: [String: Int32] = [:]

    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    init(limits: LuaLimits, primitives: LuaPrimitives, logger: Logger) throws {
        mysehat_set_host(hostDispatch)
        guard let L = mysehat_newstate(limits.memoryLimit) else { throw SetupError(description: "cannot create a Lua state") }
        self.L = L
        self.limits = limits
        self.context = LuaStateContext(logger: logger, primitives: primitives)
        mysehat_budget_of(L).pointee.host_context = Unmanaged.passUnretained(context).toOpaque()
        try runPrelude()
    }

    deinit {
        mysehat_close(L)
    }

    private var stack: LuaStack { LuaStack(L) }

    // MARK: Setup

    private func register(_ function: @escaping HostFunction) {
        let id = Int32(context.functions.count)
        context.functions.append(function)
        mysehat_push_host_function(L, id)
    }

    private func runPrelude() throws {
        luaL_openlibs(L)
        // The array metatable lives in the registry so Swift can find it.
        luaL_newmetatable(L, LuaJSON.arrayMetatableKey)
        stack.pop()

        let code = Prelude.source
        let status = loadChunk(code, name: "=prelude")
        guard status == LUA_OK else { throw SetupError(description: "prelude: \(stack.describe(at: -1))") }

        // Argument 1: the host table.
        stack.newTable()
        let hostIndex = stack.top
        for (name, function) in BuiltinFunctions.all {
            register(function)
            stack.setField(hostIndex, name)
        }
        lua_pushlightuserdata(L, nil)
        stack.setField(hostIndex, "json_null")
        mysehat_getmetatable_named(L, LuaJSON.arrayMetatableKey)
        stack.setField(hostIndex, "json_array_mt")
        stack.newTable()
        for (position, table) in TableGrants.neverWritable.sorted().enumerated() {
            stack.pushString(table)
            lua_rawseti(L, -2, lua_Integer(position + 1))
        }
        stack.setField(hostIndex, "never_writable_tables")
        stack.newTable()
        for (name, primitive) in context.primitives.globals {
            push(primitive)
            stack.setField(-2, name)
        }
        stack.setField(hostIndex, "extra")
        // Argument 2: the host-yield tag.
        mysehat_push_host_yield_tag(L)

        guard mysehat_pcall(L, 2, 1) == LUA_OK else { throw SetupError(description: "prelude: \(stack.describe(at: -1))") }
        stack.getField(-1, "services")
        servicesRef = mysehat_ref(L)
        stack.getField(-1, "granted_tables")
        grantedTablesRef = mysehat_ref(L)
        stack.getField(-1, "new_env")
        newEnvRef = mysehat_ref(L)
        stack.getField(-1, "request_mt")
        requestMetatableRef = mysehat_ref(L)
        stack.pop()
        // Drop the unsafe globals the prelude captured what it needed from.
        for name in ["io", "debug", "package", "require", "dofile", "loadfile", "collectgarbage"] {
            lua_pushnil(L)
            lua_setglobal(L, name)
        }
        _ = mysehat_gc_collect(L)
    }

    private func loadChunk(_ code: String, name: String) -> Int32 {
        var code = code
        return code.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { mysehat_load_chunk(L, $0.baseAddress, $0.count, name) }
        }
    }

    private func push(_ primitive: LuaPrimitive) {
        switch primitive.kind {
        case .function(let body):
            register(body)
        case .module(let members):
            stack.newTable()
            for (name, member) in members {
                push(member)
                stack.setField(-2, name)
            }
        }
    }

    // MARK: Loading

    /// Runs every file in order, each in its own environment over the sandbox base.
    func load(_ files: [LuaSourceFile]) throws(LuaLoadError) -> LuaLoadReport {
        var results: [(file: String, role: LuaSourceFile.Role, value: JSONValue)] = []
        for file in files where file.role == .module {
            context.modules[file.path] = file.code
        }
        for file in files where file.role != .module {
            context.currentFile = file.path
            defer { context.currentFile = "" }
            let status = loadChunk(file.code, name: "@" + file.path)
            guard status == LUA_OK else {
                let message = stack.describe(at: -1)
                stack.pop()
                throw LuaLoadError.parse(message, defaultFile: file.path)
            }
            // _ENV of the chunk: a fresh environment.
            mysehat_getref(L, newEnvRef)
            guard mysehat_pcall(L, 0, 1) == LUA_OK else {
                let message = stack.describe(at: -1)
                stack.pop(2)
                throw LuaLoadError.parse(message, defaultFile: file.path)
            }
            _ = lua_setupvalue(L, -2, 1)
            armBudget(instructions: limits.instructionBudget, deadline: mysehat_monotonic_ns() + 2_000_000_000)
            let runStatus = mysehat_pcall(L, 0, 1)
            let kill = disarmBudget()
            if let kill {
                stack.pop()
                _ = mysehat_gc_collect(L)
                throw LuaLoadError(file: file.path, line: nil, message: "loading exceeded the \(kill.rawValue)")
            }
            guard runStatus == LUA_OK else {
                let message = stack.describe(at: -1).split(separator: "\n").first.map(String.init) ?? ""
                stack.pop()
                throw LuaLoadError.parse(message, defaultFile: file.path)
            }
            switch file.role {
            case .route, .policy:
                do {
                    let value = try LuaJSON.value(at: -1, on: stack) { path in
                        .object(["__lua_function": .string(file.path), "path": .array(path)])
                    }
                    results.append((file.path, file.role, value))
                } catch {
                    stack.pop()
                    throw LuaLoadError(file: file.path, line: nil, message: "returned value: \(error)")
                }
                fileResultRefs[file.path] = mysehat_ref(L)
            case .service, .module:
                stack.pop()
            }
        }
        let services = try collectServices()
        if let store = context.primitives.databaseStore {
            context.tableAccess = TableAccessGuard(inspector: store.statementInspector, rules: services.map(\.tableAccessRule))
        }
        return LuaLoadReport(services: services, fileResults: results)
    }

    private func collectServices() throws(LuaLoadError) -> [LuaServiceDeclaration] {
        var declarations: [LuaServiceDeclaration] = []
        mysehat_getref(L, servicesRef)
        let servicesIndex = stack.top
        defer { stack.top = servicesIndex - 1 }
        lua_pushnil(L)
        while lua_next(L, servicesIndex) != 0 {
            let name = stack.string(at: -2) ?? ""
            let serviceIndex = stack.top
            stack.getField(serviceIndex, "file")
            let file = stack.string(at: -1) ?? ""
            stack.pop()
            var routes: [LuaServiceDeclaration.Route] = []
            var refs: [Int32] = []
            stack.getField(serviceIndex, "routes")
            let count = lua_rawlen(L, -1)
            for i in 0..<count {
                lua_rawgeti(L, -1, lua_Integer(i + 1))
                stack.getField(-1, "method")
                let method = stack.string(at: -1) ?? "GET"
                stack.pop()
                stack.getField(-1, "path")
                let path = stack.string(at: -1) ?? "/"
                stack.pop()
                var summary: String?
                if stack.getField(-1, "info") == LUA_TTABLE {
                    stack.getField(-1, "summary")
                    summary = stack.string(at: -1)
                    stack.pop()
                }
                stack.pop()
                stack.getField(-1, "fn")
                refs.append(mysehat_ref(L))
                stack.pop()
                routes.append(.init(method: method, path: path, summary: summary))
            }
            stack.pop()
            var migrations: [String] = []
            if stack.getField(serviceIndex, "migrations") == LUA_TTABLE {
                let count = lua_rawlen(L, -1)
                for i in 0..<count {
                    lua_rawgeti(L, -1, lua_Integer(i + 1))
                    if let sql = stack.string(at: -1) { migrations.append(sql) }
                    stack.pop()
                }
            }
            stack.pop()
            var hasHealth = false
            if stack.getField(serviceIndex, "health_check") == LUA_TFUNCTION {
                healthRefs[name] = mysehat_ref(L)
                hasHealth = true
            } else {
                stack.pop()
            }
            for hook in [LuaRightsHook.export, .erase] {
                if stack.getField(serviceIndex, hook.rawValue) == LUA_TFUNCTION {
                    rightsRefs[name + "/" + hook.rawValue] = mysehat_ref(L)
                } else {
                    stack.pop()
                }
            }
            var jobs: [Double] = []
            var jobFunctions: [Int32] = []
            if stack.getField(serviceIndex, "jobs") == LUA_TTABLE {
                for i in 0..<lua_rawlen(L, -1) {
                    lua_rawgeti(L, -1, lua_Integer(i + 1))
                    stack.getField(-1, "interval")
                    jobs.append(stack.number(at: -1) ?? 1)
                    stack.pop()
                    stack.getField(-1, "fn")
                    jobFunctions.append(mysehat_ref(L))
                    stack.pop()
                }
            }
            stack.pop()
            jobRefs[name] = jobFunctions
            let tableGrants = readTableGrants(of: name)
            if stack.getField(serviceIndex, "instructions") == LUA_TNUMBER, let budget = stack.integer(at: -1), budget > 0 {
                instructionBudgets[name] = budget
            }
            stack.pop()
            handlerRefs[name] = refs
            declarations.append(LuaServiceDeclaration(
                name: name, file: file, routes: routes, hasHealthCheck: hasHealth, migrations: migrations,
                hasExportHook: rightsRefs[name + "/export_hook"] != nil, hasEraseHook: rightsRefs[name + "/erase_hook"] != nil,
                jobIntervals: jobs, tableGrants: tableGrants))
            stack.pop()
        }
        declarations.sort { $0.name < $1.name }
        return declarations
    }

    /// The `tables` grants the prelude validated for the service (lower-case lists).
    private func readTableGrants(of service: String) -> TableGrants {
        var grants = TableGrants()
        mysehat_getref(L, grantedTablesRef)
        if stack.getField(-1, service) == LUA_TTABLE {
            grants.read = Set(stringList(field: "read", of: -1))
            grants.write = Set(stringList(field: "write", of: -1))
        }
        stack.pop(2)
        return grants
    }

    private func stringList(field: String, of tableIndex: Int32) -> [String] {
        var names: [String] = []
        if stack.getField(tableIndex, field) == LUA_TTABLE {
            for i in 0..<lua_rawlen(L, -1) {
                lua_rawgeti(L, -1, lua_Integer(i + 1))
                if let name = stack.string(at: -1) { names.append(name) }
                stack.pop()
            }
        }
        stack.pop()
        return names
    }

    // MARK: Budget

    private func armBudget(instructions: Int64, deadline: Int64) {
        let b = budget
        b.pointee.instructions = 0
        b.pointee.instruction_limit = instructions
        b.pointee.deadline_ns = deadline
        b.pointee.killed = 0
        b.pointee.mem_armed = 1
    }

    /// Disarms and reports a kill, if one happened.
    private func disarmBudget() -> LuaBudgetKill? {
        let b = budget
        b.pointee.mem_armed = 0
        switch b.pointee.killed {
        case 1: return .instructions
        case 2: return .memory
        case 3: return .deadline
        default: return nil
        }
    }

    // MARK: Requests

    enum Step {
        case finished(LuaOutcome)
        case waiting(@Sendable () async -> HostOutcome)
    }

    func hasHandler(service: String, route: Int) -> Bool {
        guard let refs = handlerRefs[service] else { return false }
        return refs.indices.contains(route)
    }

    /// Creates the request's coroutine with the handler and `req` on its stack.
    func start(service: String, route: Int, handlerName: String, request: LuaRequest) -> RequestRun? {
        guard let ref = handlerRefs[service]?[safe: route] else { return nil }
        return start(function: ref, serviceName: service, handlerName: handlerName, request: request)
    }

    /// A function a route or policy file returned (an access hook), by file and key path.
    func start(reference file: String, path: [JSONValue], request: LuaRequest) -> RequestRun? {
        guard let root = fileResultRefs[file] else { return nil }
        mysehat_getref(L, root)
        for key in path {
            guard stack.type(at: -1) == LUA_TTABLE else {
                stack.pop()
                return nil
            }
            switch key {
            case .string(let name): stack.getField(-1, name)
            case .int(let index): lua_rawgeti(L, -1, lua_Integer(index))
            default:
                stack.pop()
                return nil
            }
            mysehat_remove(L, -2)
        }
        guard stack.type(at: -1) == LUA_TFUNCTION else {
            stack.pop()
            return nil
        }
        let ref = mysehat_ref(L)
        let run = start(function: ref, serviceName: file, handlerName: "access", request: request)
        run.functionRef = ref
        return run
    }

    /// A rights hook, called with the user id; its first return value is the result.
    func startRightsHook(service: String, hook: LuaRightsHook, userID: String, request: LuaRequest) -> RequestRun? {
        guard let ref = rightsRefs[service + "/" + hook.rawValue] else { return nil }
        let thread = lua_newthread(L)!
        let threadRef = mysehat_ref(L)
        let run = RequestRun(request: request, serviceName: service, handlerName: hook.rawValue, thread: thread, threadRef: threadRef)
        run.returnsValue = true
        mysehat_getref(thread, ref)
        LuaStack(thread).pushString(userID)
        return run
    }

    /// The `index`th `service:every` job of a service.
    func startJob(service: String, index: Int, request: LuaRequest) -> RequestRun? {
        guard let ref = jobRefs[service]?[safe: index] else { return nil }
        let run = start(function: ref, serviceName: service, handlerName: "every", request: request)
        run.returnsValue = true
        return run
    }

    /// A function a finished run handed to `spawn`; the run owns (and finally releases) its reference.
    func startSpawned(_ ref: Int32, service: String, request: LuaRequest) -> RequestRun {
        let run = start(function: ref, serviceName: service, handlerName: "spawn", request: request)
        run.functionRef = ref
        run.returnsValue = true
        return run
    }

    /// Releases references nobody will run (the spawns of a run that failed).
    func release(_ refs: [Int32]) {
        for ref in refs { mysehat_unref(L, ref) }
    }

    func startHealthCheck(service: String, request: LuaRequest) -> RequestRun? {
        guard let ref = healthRefs[service] else { return nil }
        return start(function: ref, serviceName: service, handlerName: "health", request: request)
    }

    private func start(function ref: Int32, serviceName: String, handlerName: String, request: LuaRequest) -> RequestRun {
        let thread = lua_newthread(L)!
        let threadRef = mysehat_ref(L)
        let run = RequestRun(request: request, serviceName: serviceName, handlerName: handlerName, thread: thread, threadRef: threadRef)
        mysehat_getref(thread, ref)
        pushRequest(request, on: LuaStack(thread))
        return run
    }

    /// Resumes the coroutine until it finishes or waits on a host operation.
    func step(_ run: RequestRun, with input: HostOutcome?) -> Step {
        let thread = run.thread
        let threadStack = LuaStack(thread)
        var nargs: Int32 = 1
        if let input {
            switch input {
            case .values(let values):
                for value in values { push(value, on: threadStack) }
                nargs = Int32(values.count)
            case .raise(let message):
                mysehat_push_host_raise_marker(thread)
                threadStack.pushString(message)
                nargs = 2
            }
        }
        context.running = run
        armBudget(instructions: instructionBudgets[run.serviceName] ?? limits.instructionBudget, deadline: run.request.deadlineNanoseconds)
        budget.pointee.instructions = run.instructionsUsed
        var nresults: Int32 = 0
        let status = mysehat_resume(thread, L, nargs, &nresults)
        let kill = disarmBudget()
        run.instructionsUsed = budget.pointee.instructions
        context.running = nil

        if let kill {
            finish(run, collect: true)
            return .finished(.killed(kill))
        }
        switch status {
        case LUA_OK:
            let outcome = run.returnsValue ? readValue(from: threadStack, count: nresults) : readResponse(from: threadStack, count: nresults)
            finish(run, collect: false)
            return .finished(outcome)
        case LUA_YIELD:
            if nresults >= 1, mysehat_is_host_yield_tag(thread, -1) != 0, let pending = run.pending {
                run.pending = nil
                threadStack.pop(nresults)
                return .waiting(pending)
            }
            finish(run, collect: false)
            return .finished(.scriptError(message: "coroutine.yield called outside a coroutine the script created", traceback: ""))
        default:
            if let abort = run.abort {
                finish(run, collect: false)
                return .finished(.aborted(abort))
            }
            let message = threadStack.describe(at: -1)
            luaL_traceback(L, thread, nil, 0)
            let traceback = stack.describe(at: -1)
            stack.pop()
            finish(run, collect: status == LUA_ERRMEM)
            return .finished(.scriptError(message: message, traceback: traceback))
        }
    }

    /// Drops the coroutine. After a kill, collect at once: the garbage of a runaway script
    /// would otherwise stay until the collector's next cycle.
    func finish(_ run: RequestRun, collect: Bool) {
        _ = mysehat_reset_thread(run.thread)
        mysehat_unref(L, run.threadRef)
        if let ref = run.functionRef { mysehat_unref(L, ref) }
        if collect { _ = mysehat_gc_collect(L) }
    }

    var memoryInUse: Int { Int(budget.pointee.mem_used) }

    // MARK: Marshalling

    private func push(_ value: LuaValue, on stack: LuaStack) {
        switch value {
        case .nil: stack.pushNil()
        case .bool(let b): stack.pushBool(b)
        case .integer(let i): stack.pushInteger(i)
        case .number(let d): stack.pushNumber(d)
        case .string(let s): stack.pushString(s)
        case .bytes(let b): stack.pushBytes(b)
        case .json(let j): LuaJSON.push(j, on: stack)
        case .table(let fields):
            stack.newTable(recordCount: Int32(clamping: fields.count))
            for (key, item) in fields {
                push(item, on: stack)
                stack.setField(-2, key)
            }
        case .array(let items):
            stack.newTable(arrayCount: Int32(clamping: items.count))
            for (index, item) in items.enumerated() {
                push(item, on: stack)
                lua_rawseti(stack.L, -2, lua_Integer(index + 1))
            }
            _ = mysehat_getmetatable_named(stack.L, LuaJSON.arrayMetatableKey)
            lua_setmetatable(stack.L, -2)
        }
    }

    private func pushRequest(_ request: LuaRequest, on stack: LuaStack) {
        stack.newTable(recordCount: 12)
        stack.setString("method", request.method)
        stack.setString("path", request.path)
        stack.setString("request_id", request.requestID)
        stack.setString("ip", request.clientIP)
        stack.pushBytes(request.body)
        stack.setField(-2, "body")
        stack.newTable(recordCount: Int32(clamping: request.params.count))
        for (name, value) in request.params { stack.setString(name, value) }
        stack.setField(-2, "params")
        stack.newTable(recordCount: Int32(clamping: request.query.count))
        for item in request.query.reversed() { stack.setString(item.name, item.value) }  // first value wins
        stack.setField(-2, "query")
        stack.newTable(recordCount: Int32(clamping: request.headers.count))
        for header in request.headers { stack.setString(header.name, header.value) }
        stack.setField(-2, "headers")
        if let user = request.user {
            stack.newTable(recordCount: 2)
            stack.setString("id", user.id)
            stack.setString("role", user.role)
            stack.setField(-2, "user")
        }
        mysehat_getref(stack.L, requestMetatableRef)
        lua_setmetatable(stack.L, -2)
    }

    /// The first return value of a plain function call, as JSON.
    private func readValue(from stack: LuaStack, count: Int32) -> LuaOutcome {
        let base = stack.top - count
        defer { stack.top = base }
        guard count >= 1 else { return .response(LuaResponse(status: 200, body: .json(.null))) }
        do {
            return .response(LuaResponse(status: 200, body: .json(try LuaJSON.value(at: base + 1, on: stack))))
        } catch {
            return .scriptError(message: "return value: \(error)", traceback: "")
        }
    }

    /// `return status, body[, headers]`.
    private func readResponse(from stack: LuaStack, count: Int32) -> LuaOutcome {
        let base = stack.top - count
        if count == 0 || (count >= 1 && stack.type(at: base + 1) == LUA_TNIL) {
            // Nothing returned: only access hooks may do that (they let the request through).
            stack.top = base
            return .response(LuaResponse(status: 0, body: .none))
        }
        guard let status = stack.integer(at: base + 1), (100...599).contains(status) else {
            return .scriptError(message: "handler must return a status code (100-599) first", traceback: "")
        }
        var headers: [(String, String)] = []
        if count >= 3, stack.type(at: base + 3) == LUA_TTABLE {
            let index = base + 3
            lua_pushnil(stack.L)
            while lua_next(stack.L, index) != 0 {
                if stack.type(at: -2) == LUA_TSTRING, let name = stack.string(at: -2) {
                    let value = stack.type(at: -1) == LUA_TSTRING ? (stack.string(at: -1) ?? "") : stack.describe(at: -1)
                    headers.append((name, value))
                }
                stack.pop()
            }
        }
        var body: LuaResponse.Body = .none
        if count >= 2 {
            switch stack.type(at: base + 2) {
            case LUA_TNIL: body = .none
            case LUA_TSTRING: body = .bytes(stack.bytes(at: base + 2) ?? [])
            default:
                do {
                    body = .json(try LuaJSON.value(at: base + 2, on: stack))
                } catch {
                    stack.top = base
                    return .scriptError(message: "response body: \(error)", traceback: "")
                }
            }
        }
        stack.top = base
        return .response(LuaResponse(status: Int(status), headers: headers, body: body))
    }
}

extension Array {
    subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}

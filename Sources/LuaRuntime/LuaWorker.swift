import CLuaShim
import Logging
import ServiceKit
import Store

/// An actor that owns one Lua state. Requests run as coroutines; while one waits on a host
/// operation (database, HTTP, sleep) the actor serves others, which is what actor reentrancy buys.
public actor LuaWorker {
    private let state: LuaState
    public nonisolated let index: Int

    /// Builds a state and loads the program into it.
    public init(index: Int, files: [LuaSourceFile], limits: LuaLimits, primitives: LuaPrimitives, logger: Logger) throws {
        self.index = index
        let state = try LuaState(limits: limits, primitives: primitives, logger: logger)
        self.state = state
        self.loadReport = try state.load(files)
    }

    /// What loading declared.
    public nonisolated let loadReport: LuaLoadReport

    /// Runs a handler of a Lua service to completion.
    public func handle(service: String, route: Int, handlerName: String, request: LuaRequest) async -> LuaOutcome {
        guard let run = state.start(service: service, route: route, handlerName: handlerName, request: request) else {
            return .aborted(.notFound)
        }
        return await drive(run)
    }

    /// Runs a function a route or policy file returned (an access hook); nil when it does not exist.
    public func callFunction(file: String, path: [JSONValue], request: LuaRequest) async -> LuaOutcome? {
        guard let run = state.start(reference: file, path: path, request: request) else { return nil }
        return await drive(run)
    }

    /// Runs a service's `on_export` (returns its data) or `on_erase` (inside `transaction`, whose
    /// owner commits or rolls back). nil when the service did not declare the hook.
    public func callRightsHook(
        service: String, hook: LuaRightsHook, userID: String, transaction: (any StoreTransaction)?, request: LuaRequest
    ) async -> LuaOutcome? {
        guard let run = state.startRightsHook(service: service, hook: hook, userID: userID, request: request) else { return nil }
        if let transaction {
            run.transaction.set(transaction)
            run.borrowsTransaction = true
        }
        return await drive(run)
    }

    /// Runs the service's health check, if it declared one.
    public func healthCheck(service: String, request: LuaRequest) async -> LuaOutcome? {
        guard let run = state.startHealthCheck(service: service, request: request) else { return nil }
        return await drive(run)
    }

    private func drive(_ run: RequestRun) async -> LuaOutcome {
        var input: HostOutcome?
        while true {
            switch state.step(run, with: input) {
            case .finished(let outcome):
                // A script that died (error, budget kill) inside db.transaction leaves it open;
                // a borrowed transaction belongs to the caller, who commits or rolls it back.
                if let transaction = run.transaction.take(), !run.borrowsTransaction { await transaction.rollback() }
                return outcome
            case .waiting(let operation):
                // The actor is free while the operation runs: other requests use the state.
                let deadline = run.request.deadlineNanoseconds
                let result = await Self.perform(operation, deadlineNanoseconds: deadline)
                guard let result else {
                    state.finish(run, collect: false)
                    if let transaction = run.transaction.take(), !run.borrowsTransaction { await transaction.rollback() }
                    return .killed(.deadline)
                }
                if Task.isCancelled {
                    state.finish(run, collect: false)
                    if let transaction = run.transaction.take(), !run.borrowsTransaction { await transaction.rollback() }
                    return .aborted(ServiceError(.init(code: 499, reasonPhrase: "Client Closed Request"), "Client closed the request"))
                }
                input = result
            }
        }
    }

    /// Runs a host operation; nil when the request's deadline passes first.
    private static func perform(_ operation: @escaping @Sendable () async -> HostOutcome, deadlineNanoseconds: Int64) async -> HostOutcome? {
        guard deadlineNanoseconds > 0 else { return await operation() }
        let remaining = deadlineNanoseconds - mysehat_monotonic_ns()
        guard remaining > 0 else { return nil }
        return await withTaskGroup(of: HostOutcome?.self) { group in
            group.addTask { await operation() }
            group.addTask {
                _ = await DeadlineWheel.shared.wait(.nanoseconds(remaining))
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }

    public var memoryInUse: Int { state.memoryInUse }
}

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

    /// Runs the `index`th `service:every` job of a service; nil when it does not exist. Failures
    /// are logged here (there is no client to answer).
    public func runJob(service: String, index: Int, request: LuaRequest) async -> LuaOutcome? {
        guard let run = state.startJob(service: service, index: index, request: request) else { return nil }
        let outcome = await drive(run)
        logFailure(outcome, of: run)
        return outcome
    }

    /// Time limit of a function handed to `spawn`, counted from when it starts.
    static let spawnTimeLimit: Duration = .seconds(60)

    /// Starts the functions a finished run handed to `spawn`, each as its own task on this worker,
    /// when the run answered; a run that failed drops them.
    private func startSpawned(by run: RequestRun, outcome: LuaOutcome?) {
        let refs = run.spawned
        run.spawned = []
        guard !refs.isEmpty else { return }
        guard case .response? = outcome else {
            state.release(refs)
            return
        }
        let service = run.serviceName
        let request = run.request
        for ref in refs {
            Task { await self.runSpawned(ref, service: service, request: request) }
        }
    }

    private func runSpawned(_ ref: Int32, service: String, request: LuaRequest) async {
        var request = request
        request.deadlineNanoseconds = LuaClock.deadline(after: Self.spawnTimeLimit)
        let run = state.startSpawned(ref, service: service, request: request)
        logFailure(await drive(run), of: run)
    }

    private func logFailure(_ outcome: LuaOutcome, of run: RequestRun) {
        let metadata: Logger.Metadata = [
            "service": .string(run.serviceName), "handler": .string(run.handlerName), "request_id": .string(run.request.requestID),
        ]
        switch outcome {
        case .response: break
        case .scriptError(let message, let traceback):
            state.context.logger.error("Lua \(run.handlerName) failed: \(message)", metadata: metadata.merging(["traceback": .string(traceback)]) { a, _ in a })
        case .killed(let kill):
            state.context.logger.error("Lua \(run.handlerName) killed: \(kill.rawValue) exceeded", metadata: metadata)
        case .aborted(let error):
            state.context.logger.error("Lua \(run.handlerName) aborted: \(error.status.code)", metadata: metadata)
        }
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
                startSpawned(by: run, outcome: outcome)
                return outcome
            case .waiting(let operation):
                // The actor is free while the operation runs: other requests use the state.
                let deadline = run.request.deadlineNanoseconds
                let result = await Self.perform(operation, deadlineNanoseconds: deadline)
                guard let result else {
                    startSpawned(by: run, outcome: nil)
                    state.finish(run, collect: false)
                    if let transaction = run.transaction.take(), !run.borrowsTransaction { await transaction.rollback() }
                    return .killed(.deadline)
                }
                if Task.isCancelled {
                    startSpawned(by: run, outcome: nil)
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

import Logging
import ServiceKit
import Synchronization

/// The Lua states of one configuration generation: one worker per core, each with the whole
/// program loaded, chosen round-robin per request.
public final class LuaWorkerPool: Sendable {
    public let workers: [LuaWorker]
    public let loadReport: LuaLoadReport
    private let nextIndex = Atomic<Int>(0)

    /// Builds `count` states from the same files. Loading is deterministic, so every worker holds
    /// the same services in the same order.
    public init(files: [LuaSourceFile], count: Int, limits: LuaLimits, primitives: LuaPrimitives, logger: Logger) throws {
        var workers: [LuaWorker] = []
        for index in 0..<max(1, count) {
            workers.append(try LuaWorker(index: index, files: files, limits: limits, primitives: primitives, logger: logger))
        }
        self.workers = workers
        self.loadReport = workers[0].loadReport
    }

    public func next() -> LuaWorker {
        let index = nextIndex.add(1, ordering: .relaxed).oldValue
        return workers[index % workers.count]
    }

    public func service(named name: String) -> LuaServiceDeclaration? {
        loadReport.services.first { $0.name == name }
    }
}

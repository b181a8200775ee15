import Logging

/// A supervised child process (see `UpstreamSupervisor`).
public protocol ChildProcessSupervisor: Sendable {
    func start() async throws
    func stop() async
    var isReady: Bool { get async }
}

/// Makes the supervisor for one upstream route's command.
public typealias ChildSupervisorFactory = @Sendable (_ name: String, _ command: SupervisedCommand, _ target: UpstreamTarget) -> any ChildProcessSupervisor

/// The children of the current configuration, keyed by what defines them, so a reload that keeps
/// a command keeps its process.
public actor SupervisorRegistry {
    struct Key: Hashable {
        let name: String
        let command: SupervisedCommand
        let host: String
        let port: Int
    }

    private let factory: ChildSupervisorFactory?
    private var running: [Key: any ChildProcessSupervisor] = [:]
    private let logger: Logger

    public init(factory: ChildSupervisorFactory?, logger: Logger) {
        self.factory = factory
        self.logger = logger
    }

    static func keys(of config: GatewayConfig) -> [Key: (SupervisedCommand, UpstreamTarget)] {
        var keys: [Key: (SupervisedCommand, UpstreamTarget)] = [:]
        for entry in config.routes.entries {
            if case .upstream(let target, let supervised?) = entry.target {
                keys[Key(name: target.name, command: supervised, host: target.host, port: target.port)] = (supervised, target)
            }
        }
        return keys
    }

    /// Starts (and waits for the health of) every child the configuration needs that is not
    /// running yet. Throws when one does not become ready.
    public func ensureRunning(for config: GatewayConfig) async throws {
        for (key, (command, target)) in Self.keys(of: config).sorted(by: { $0.key.name < $1.key.name }) where running[key] == nil {
            guard let factory else { continue }
            let supervisor = factory(key.name, command, target)
            try await supervisor.start()
            running[key] = supervisor
        }
    }

    public func stopUnused(keeping config: GatewayConfig) async {
        let needed = Set(Self.keys(of: config).keys)
        for (key, supervisor) in running where !needed.contains(key) {
            logger.info("stopping supervised upstream no route uses any more", metadata: ["service": .string(key.name)])
            await supervisor.stop()
            running[key] = nil
        }
    }

    public func stopAll() async {
        await withTaskGroup(of: Void.self) { group in
            for supervisor in running.values { group.addTask { await supervisor.stop() } }
        }
        running = [:]
    }

    /// (name, pid or status text) for the startup banner and `mysehat routes`.
    public var names: [String] { running.keys.map(\.name).sorted() }
}

import HTTPTypes
import HummingbirdCore
import Logging
import LuaRuntime
import NIOCore
import NIOPosix
import ServiceKit
import ServiceLifecycle
import Synchronization

/// Options of `mysehat serve`.
public struct ServeOptions: Sendable {
    public var host: String
    public var port: Int
    /// nil: no polling (SIGHUP still reloads).
    public var watchInterval: Duration?
    /// Handle SIGTERM/SIGINT (off in tests, which stop the server themselves).
    public var handleSignals: Bool

    public init(host: String = "0.0.0.0", port: Int = 8000, watchInterval: Duration? = .seconds(1), handleSignals: Bool = true) {
        self.host = host
        self.port = port
        self.watchInterval = watchInterval
        self.handleSignals = handleSignals
    }
}

/// The running gateway: the one public listener, the config reloader and the supervised children,
/// in one service group so shutdown stops accepting, finishes in-flight requests (bounded) and then
/// stops the children.
public final class GatewayServer: Sendable {
    public let runtime: GatewayRuntime
    private let group = Mutex<ServiceGroup?>(nil)
    public let reloader: ConfigReloader
    let supervisors: SupervisorRegistry
    let options: ServeOptions
    let logger: Logger

    /// Loads the configuration and starts supervised children (waiting for their health), so the
    /// server only opens once everything is ready.
    public static func prepare(
        loader: ConfigLoader, settings: GatewaySettings, identity: (any IdentityVerifier)?, consent: (any ConsentChecker)?,
        audit: (any AuditSink)? = nil, upstream: any UpstreamForwarder, supervisorFactory: ChildSupervisorFactory?, options: ServeOptions, logger: Logger
    ) async throws -> GatewayServer {
        let config = try await Task.detached { try loader.load(generation: 1) }.value
        try await loader.migrate(config)
        for warning in config.warnings { logger.warning("config: \(warning)") }
        let supervisors = SupervisorRegistry(factory: supervisorFactory, logger: logger)
        do {
            try await supervisors.ensureRunning(for: config)
        } catch {
            await supervisors.stopAll()
            throw error
        }
        let runtime = GatewayRuntime(
            initial: config, loader: loader, settings: settings, identity: identity, consent: consent, audit: audit, upstream: upstream,
            logger: logger)
        let reloader = ConfigReloader(runtime: runtime, supervisors: supervisors, logger: logger)
        return GatewayServer(runtime: runtime, reloader: reloader, supervisors: supervisors, options: options, logger: logger)
    }

    init(runtime: GatewayRuntime, reloader: ConfigReloader, supervisors: SupervisorRegistry, options: ServeOptions, logger: Logger) {
        self.runtime = runtime
        self.reloader = reloader
        self.supervisors = supervisors
        self.options = options
        self.logger = logger
    }

    /// Serves until shutdown. `onListening` receives the bound port once the listener is open.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let pipeline = RequestPipeline(runtime: runtime)
        var channelConfiguration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [MalformedRequestHandler()], idleTimeout: .seconds(75))
        channelConfiguration.httpDecoder = .init(maxHeaderFieldSize: 64 * 1024, maxHeaderListSize: 64 * 1024, maxHeaderFieldCount: 500)
        let server = try HTTPServerBuilder.http1(configuration: channelConfiguration).buildServer(
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil, backlog: 1024, reuseAddress: true),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            responder: { request, responseWriter, channel in
                let response = await pipeline.handle(request, remoteAddress: channel.remoteAddress)
                try await responseWriter.write(response: response.head, body: response.body)
            },
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? 0)
            })
        let runtime = self.runtime
        let background = BackgroundWork(
            reloader: reloader, supervisors: supervisors, watchInterval: options.watchInterval,
            jobs: LuaJobScheduler(currentPool: { runtime.config.lua }))
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: background),
                .init(service: server),
            ],
            gracefulShutdownSignals: options.handleSignals ? [.sigterm, .sigint] : [],
            cancellationSignals: [],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = runtime.settings.shutdownGrace
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfiguration)
        self.group.withLock { $0 = group }
        try await group.run()
    }

    /// Graceful shutdown, as SIGTERM does: stop accepting, finish in-flight requests, stop children.
    public func shutdown() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }
}

/// Watches the config folder and runs the Lua services' `every` jobs while the gateway runs;
/// stops the children when it shuts down (after the server, which the service group shuts down
/// first).
struct BackgroundWork: ServiceLifecycle.Service {
    let reloader: ConfigReloader
    let supervisors: SupervisorRegistry
    let watchInterval: Duration?
    let jobs: LuaJobScheduler

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await reloader.watch(interval: watchInterval) }
                group.addTask { await jobs.run() }
                await group.waitForAll()
            }
        }
        await supervisors.stopAll()
    }
}

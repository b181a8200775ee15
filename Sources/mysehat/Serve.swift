import ArgumentParser
import AsyncHTTPClient
import Foundation
import Gateway
import Logging
import NIOCore
import NIOPosix
import ServiceKit

/// `mysehat serve`: the gateway on one public port.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (the default command).")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Address to bind (the only public listener).")
    var host: String = "0.0.0.0"

    @Option(help: "Port to bind (default: $PORT or 8000).")
    var port: Int?

    @Option(help: "Seconds between checks of the config folder for changes (0 turns watching off; SIGHUP still reloads).")
    var watchInterval: Double = 1

    func run() async throws {
        let started = ContinuousClock.now
        let environment = ProcessInfo.processInfo.environment
        let port = self.port ?? environment["PORT"].flatMap(Int.init) ?? 8000
        let configDirectory = URL(fileURLWithPath: options.config).standardizedFileURL.path
        let composition: Composition
        do {
            composition = try await Composition.make(environment: environment, configDirectory: configDirectory)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let logger = composition.logger
        for service in composition.services { try await service.start() }

        let proxyClient = UpstreamProxy.makeHTTPClient()
        let upstream = UpstreamProxy(httpClient: proxyClient, logger: logger)
        let supervisorFactory: ChildSupervisorFactory = { name, command, target in
            var childEnvironment = environment.filter { !$0.key.hasPrefix("JWT_") && $0.key != "GROQ_API_KEY" && $0.key != "AUDIT_HMAC_KEY" }
            childEnvironment["PORT"] = String(target.port)
            for (key, value) in command.environment { childEnvironment[key] = value }
            return UpstreamSupervisor(
                name: name, command: command.command, workingDirectory: configDirectory, environment: childEnvironment,
                healthURL: "\(target.scheme)://\(target.host):\(target.port)\(command.healthPath)", logger: logger)
        }

        let banner = Banner(version: Version.current, production: composition.settings.production)
        banner.header(configDirectory: configDirectory, dataDirectory: composition.dataDirectory)
        let server: GatewayServer
        do {
            server = try await GatewayServer.prepare(
                loader: composition.loader(directory: configDirectory), settings: composition.settings, identity: composition.identity,
                consent: composition.consent, audit: composition.audit, upstream: upstream, supervisorFactory: supervisorFactory,
                options: ServeOptions(host: host, port: port, watchInterval: watchInterval > 0 ? .milliseconds(Int64(watchInterval * 1000)) : nil),
                logger: logger)
        } catch let error as ConfigError {
            for issue in error.issues { printError("error: \(issue)") }
            printError("The configuration is invalid; nothing was started. Run `mysehat check --config \(options.config)` for details.")
            try await proxyClient.shutdown()
            throw ExitCode(1)
        }
        composition.bindRights(to: server.runtime)
        banner.services(server.runtime.config)
        try await server.run { boundPort in
            banner.ready(host: host, port: boundPort, elapsed: ContinuousClock.now - started)
        }
        try await proxyClient.shutdown()
        logger.info("gateway stopped")
    }
}

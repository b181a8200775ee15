import Dispatch
import Foundation
import Logging
import ServiceKit

/// Reloads the configuration on SIGHUP and when a file under the config folder changes: loads and
/// validates off the request path, then swaps atomically. A broken file keeps the old generation,
/// and its error (with file and line) is logged and shown on /health.
public actor ConfigReloader {
    let runtime: GatewayRuntime
    let supervisors: SupervisorRegistry
    let logger: Logger
    private var generation: Int
    private var fingerprint: [String: Date] = [:]

    init(runtime: GatewayRuntime, supervisors: SupervisorRegistry, logger: Logger) {
        self.runtime = runtime
        self.supervisors = supervisors
        self.logger = logger
        self.generation = runtime.config.generation
        self.fingerprint = Self.fingerprint(of: runtime.loader.watchedFiles())
    }

    static func fingerprint(of files: [String]) -> [String: Date] {
        var result: [String: Date] = [:]
        for file in files {
            result[file] = (try? FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date) ?? .distantPast
        }
        return result
    }

    /// Whether files were added, removed or modified since the last look.
    func changed() -> Bool {
        let current = Self.fingerprint(of: runtime.loader.watchedFiles())
        guard current != fingerprint else { return false }
        fingerprint = current
        return true
    }

    /// Loads a new generation; on success starts its supervised children, swaps, and stops the
    /// children no route needs any more.
    @discardableResult
    public func reload(reason: String) async -> Bool {
        let next = generation + 1
        let loader = runtime.loader
        let result = await Task.detached {
            Result<GatewayConfig, ConfigError> { () throws(ConfigError) in try loader.load(generation: next) }
        }.value
        switch result {
        case .success(let config):
            do {
                try await loader.migrate(config)
                try await supervisors.ensureRunning(for: config)
            } catch {
                let message = "reload (\(reason)) failed: \(error)"
                logger.error("\(message)")
                runtime.recordFailure(message)
                return false
            }
            generation = next
            runtime.install(config)
            await supervisors.stopUnused(keeping: config)
            for warning in config.warnings { logger.warning("config: \(warning)") }
            logger.info("configuration reloaded", metadata: ["generation": .stringConvertible(next), "reason": .string(reason)])
            return true
        case .failure(let error):
            logger.error("reload (\(reason)) rejected; keeping generation \(generation): \(error)")
            runtime.recordFailure(error.description)
            return false
        }
    }

    /// Watches files (polling modification times) and SIGHUP until cancelled.
    func watch(interval: Duration?) async {
        let signals = AsyncStream<Void> { continuation in
            let source = SignalSource(SIGHUP) { continuation.yield() }
            continuation.onTermination = { _ in source.cancel() }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals { await self.reload(reason: "SIGHUP") }
            }
            group.addTask {
                guard let interval else {
                    // No polling: wait for cancellation.
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                    return
                }
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if await self.changed() {
                        // Let an editor finish writing before reading.
                        try? await Task.sleep(for: .milliseconds(150))
                        _ = await self.changed()
                        await self.reload(reason: "file change")
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

/// A Dispatch signal source; the default action of the signal is turned off while it exists.
final class SignalSource: @unchecked Sendable {
    // Dispatch sources are thread-safe; the type just is not marked Sendable.
    private let source: any DispatchSourceSignal

    init(_ number: Int32, handler: @escaping @Sendable () -> Void) {
        signal(number, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
    }

    func cancel() { source.cancel() }
}

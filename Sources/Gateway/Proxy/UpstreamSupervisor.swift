import AsyncHTTPClient
import Glibc
import Logging
import NIOCore

/// Runs the child process behind a `command` upstream (issue 2 item 6): starts it, waits until its
/// health URL answers 200, restarts it with exponential backoff whenever it exits, and stops it
/// with SIGTERM, then SIGKILL after a grace period.
///
/// Readiness is found by probing, never by sleeping a fixed time: the first probes follow each
/// other within milliseconds, then every 250 ms at most. Once ready, the child is probed every
/// `probeInterval`; `isReady` is false while a probe fails or the child is down.
public actor UpstreamSupervisor: ChildProcessSupervisor {
    /// Delays between an exit and the next start: `initialDelay`, doubling up to `maximumDelay`,
    /// back to `initialDelay` for a child that had been healthy for `resetAfterHealthy`.
    public struct RestartPolicy: Sendable {
        public var initialDelay: Duration
        public var maximumDelay: Duration
        public var resetAfterHealthy: Duration

        public init(initialDelay: Duration = .milliseconds(500), maximumDelay: Duration = .seconds(30), resetAfterHealthy: Duration = .seconds(60)) {
            self.initialDelay = initialDelay
            self.maximumDelay = maximumDelay
            self.resetAfterHealthy = resetAfterHealthy
        }
    }

    private let name: String
    private let command: [String]
    private let workingDirectory: String
    private let environment: [String: String]
    private let healthURL: String
    private let logger: Logger
    private let readyTimeout: Duration
    private let stopGracePeriod: Duration
    private let probeInterval: Duration
    private let restartPolicy: RestartPolicy

    private var child: ChildProcess?
    private var readyAt: ContinuousClock.Instant?
    private var lastProbeHealthy = false
    private var stopping = false
    private var supervision: Task<Void, Never>?
    /// How many times the child was started again after an exit.
    public private(set) var restarts = 0
    /// The wait before the latest restart.
    public private(set) var lastRestartDelay: Duration?

    /// - Parameters:
    ///   - environment: the child's whole environment (the caller decides what it inherits).
    ///   - workingDirectory: where the child runs; "" keeps the gateway's.
    public init(
        name: String, command: [String], workingDirectory: String, environment: [String: String], healthURL: String, logger: Logger,
        readyTimeout: Duration = .seconds(30), stopGracePeriod: Duration = .seconds(5), probeInterval: Duration = .seconds(5),
        restartPolicy: RestartPolicy = RestartPolicy()
    ) {
        self.name = name
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.healthURL = healthURL
        var logger = logger
        logger[metadataKey: "service"] = .string(name)
        self.logger = logger
        self.readyTimeout = readyTimeout
        self.stopGracePeriod = stopGracePeriod
        self.probeInterval = probeInterval
        self.restartPolicy = restartPolicy
    }

    /// Child running and its last health probe answered 200.
    public var isReady: Bool { child.map { !$0.hasExited } == true && lastProbeHealthy }

    /// The running child's process id.
    public var pid: Int32? { child.flatMap { $0.hasExited ? nil : $0.pid } }

    /// Starts the child and returns once it is healthy. Throws (with nothing left running) when it
    /// cannot be started, exits, or is not healthy within `readyTimeout`.
    public func start() async throws {
        guard supervision == nil else { return }
        stopping = false
        do {
            try await launch()
        } catch {
            await terminateChild()
            throw error
        }
        supervision = Task { await self.supervise() }
    }

    /// Stops the child (SIGTERM to its process group, SIGKILL after the grace period); no restart follows.
    public func stop() async {
        stopping = true
        supervision?.cancel()
        // The caller may be a cancelled task (shutdown); the grace period must still be honoured.
        await Task { await self.terminateChild() }.value
        await supervision?.value
        supervision = nil
        await Task { await self.terminateChild() }.value
        lastProbeHealthy = false
    }

    // MARK: Lifecycle

    private func launch() async throws {
        let started = ContinuousClock.now
        let child = try await ChildProcess.spawn(command: command, workingDirectory: workingDirectory, environment: environment, output: .logged(to: logger))
        self.child = child
        readyAt = nil
        lastProbeHealthy = false
        logger.info("upstream started", metadata: ["pid": .stringConvertible(child.pid), "command": .string(command.joined(separator: " "))])
        try await waitUntilHealthy(child)
        readyAt = .now
        lastProbeHealthy = true
        logger.info("upstream ready", metadata: ["pid": .stringConvertible(child.pid), "elapsed": .string("\(ContinuousClock.now - started)")])
    }

    private func waitUntilHealthy(_ child: ChildProcess) async throws {
        let deadline = ContinuousClock.now + readyTimeout
        var pause = Duration.milliseconds(10)
        while true {
            if stopping || Task.isCancelled { throw SupervisorError.stopped(service: name) }
            if let exit = child.exit { throw SupervisorError.exitedBeforeReady(service: name, exit: exit) }
            let remaining = deadline - .now
            if remaining <= .zero { throw SupervisorError.notReady(service: name, after: readyTimeout) }
            if await probe(timeout: min(remaining, .seconds(2))) { return }
            // Waiting on the exit rather than sleeping notices a crash at once.
            _ = await child.waitForExit(timeout: min(pause, max(deadline - .now, .zero)))
            pause = min(pause * 2, .milliseconds(250))
        }
    }

    private func supervise() async {
        var delay = restartPolicy.initialDelay
        while !stopping {
            if let child {
                let exit = await watch(child)
                if stopping { return }
                if let readyAt, ContinuousClock.now - readyAt >= restartPolicy.resetAfterHealthy { delay = restartPolicy.initialDelay }
                logger.warning("upstream exited (\(exit)); restarting in \(delay)", metadata: ["pid": .stringConvertible(child.pid)])
            }
            child = nil
            readyAt = nil
            lastProbeHealthy = false
            lastRestartDelay = delay
            try? await Task.sleep(for: delay)
            if stopping { return }
            delay = min(delay * 2, restartPolicy.maximumDelay)
            restarts += 1
            do {
                try await launch()
            } catch {
                logger.error("upstream restart failed: \(error)")
                await terminateChild()
            }
        }
    }

    /// Returns when `child` exits (nil when supervision is cancelled), probing its health meanwhile.
    private func watch(_ child: ChildProcess) async -> ChildExit {
        await withTaskGroup(of: ChildExit?.self) { group in
            group.addTask { await child.waitForExit() }
            group.addTask {
                await self.probePeriodically(child)
                return nil
            }
            var exit: ChildExit?
            while let result = await group.next() {
                if let result {
                    exit = result
                    break
                }
            }
            group.cancelAll()
            return exit ?? .unknown
        }
    }

    private func probePeriodically(_ child: ChildProcess) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: probeInterval)
            if Task.isCancelled || child.hasExited { return }
            let healthy = await probe(timeout: min(probeInterval, .seconds(2)))
            guard self.child === child, !child.hasExited else { return }
            if healthy != lastProbeHealthy {
                if healthy { logger.info("upstream healthy again") } else { logger.warning("upstream health probe failed") }
            }
            lastProbeHealthy = healthy
        }
    }

    private func terminateChild() async {
        guard let child else { return }
        defer { if self.child === child { self.child = nil } }
        guard !child.hasExited else { return }
        child.signal(SIGTERM)
        if await child.waitForExit(timeout: stopGracePeriod) == nil {
            logger.warning("upstream did not stop within \(stopGracePeriod); sending SIGKILL", metadata: ["pid": .stringConvertible(child.pid)])
            child.signal(SIGKILL)
            _ = await child.waitForExit(timeout: .seconds(5))
        }
        logger.info("upstream stopped", metadata: ["pid": .stringConvertible(child.pid), "exit": .string(child.exit?.description ?? "still running")])
    }

    private func probe(timeout: Duration) async -> Bool {
        let request = HTTPClientRequest(url: healthURL)
        do {
            let response = try await Self.probeClient.execute(request, timeout: TimeAmount(timeout), logger: nil)
            _ = try await response.body.collect(upTo: 1 << 20)
            return response.status == .ok
        } catch {
            return false
        }
    }

    /// Health probes need a refused connection to fail at once (a child that is still starting),
    /// which `HTTPClient.shared` does not do. Lives for the whole process, like `HTTPClient.shared`.
    private static let probeClient = UpstreamProxy.makeHTTPClient()
}

public enum SupervisorError: Error, CustomStringConvertible {
    case exitedBeforeReady(service: String, exit: ChildExit)
    case notReady(service: String, after: Duration)
    case stopped(service: String)

    public var description: String {
        switch self {
        case .exitedBeforeReady(let service, let exit): "upstream '\(service)' exited before it was healthy (\(exit))"
        case .notReady(let service, let after): "upstream '\(service)' was not healthy after \(after)"
        case .stopped(let service): "upstream '\(service)' was stopped while starting"
        }
    }
}

import Foundation
import Gateway
import Logging
import ServiceKit
import Synchronization
import Testing
import TestSupport

/// Log records kept in memory, to check what reached the gateway's log.
final class CapturedLog: Sendable {
    struct Record: Sendable {
        let message: String
        let metadata: [String: String]
    }

    private let records = Mutex<[Record]>([])

    var all: [Record] { records.withLock { $0 } }

    func append(_ record: Record) { records.withLock { $0.append(record) } }

    var logger: Logger {
        Logger(label: "supervisor-test") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            for (key, value) in event.metadata ?? [:] { merged[key] = value }
            log.append(Record(message: event.message.description, metadata: merged.mapValues { "\($0)" }))
        }
    }
}

/// A supervised copy of the fixture upstream on a port chosen in advance.
struct SupervisedFixture {
    let port: Int
    let supervisor: UpstreamSupervisor
    let log = CapturedLog()

    init(
        arguments: [String] = [], command: [String]? = nil, readyTimeout: Duration = .seconds(15), stopGracePeriod: Duration = .seconds(5),
        restartPolicy: UpstreamSupervisor.RestartPolicy = .init()
    ) {
        port = FreePort.next()
        let command = command ?? ["python3", PythonUpstream.scriptPath, String(port)] + arguments
        supervisor = UpstreamSupervisor(
            name: "fixture", command: command, workingDirectory: FileManager.default.temporaryDirectory.path,
            environment: ProcessInfo.processInfo.environment, healthURL: "http://127.0.0.1:\(port)/health", logger: log.logger,
            readyTimeout: readyTimeout, stopGracePeriod: stopGracePeriod, probeInterval: .milliseconds(200), restartPolicy: restartPolicy)
    }

    var healthURL: String { "http://127.0.0.1:\(port)/health" }

    /// The pid the running child reports, or nil when nothing answers.
    func childPID() async -> Int? {
        guard let response = try? await TestHTTP.request(.GET, healthURL, timeout: .seconds(2)), response.status == 200 else { return nil }
        return response.json?["pid"]?.intValue
    }

    /// Waits until a child other than `previous` answers its health check; returns its pid.
    func waitForNewChild(replacing previous: Int, timeout: Duration = .seconds(15)) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let pid = await childPID(), pid != previous { return pid }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Waits until nothing listens on the port any more.
    func waitUntilDown(timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await childPID() == nil { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

func processExists(_ pid: Int) -> Bool {
    kill(pid_t(pid), 0) == 0
}

@Suite("Upstream supervisor")
struct SupervisorTests {
    @Test func startReturnsOnlyOnceTheChildIsHealthy() async throws {
        let fixture = SupervisedFixture(arguments: ["--health-delay", "1.0"])
        let started = ContinuousClock.now
        try await fixture.supervisor.start()
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .seconds(1))
        #expect(elapsed < .seconds(8))
        #expect(await fixture.supervisor.isReady)
        #expect(await fixture.childPID() != nil)
        await fixture.supervisor.stop()
        #expect(await fixture.supervisor.isReady == false)
    }

    @Test func startFailsWhenTheChildNeverBecomesHealthyAndLeavesNothingRunning() async throws {
        let fixture = SupervisedFixture(arguments: ["--health-delay", "600"], readyTimeout: .seconds(1))
        let started = ContinuousClock.now
        await #expect(throws: SupervisorError.self) { try await fixture.supervisor.start() }
        // Bounded by the 1 s ready timeout plus stopping the child, not by its 600 s health delay;
        // generous because the suite runs in parallel on two cores.
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(await fixture.waitUntilDown())
        #expect(await fixture.supervisor.pid == nil)
    }

    @Test func startFailsAtOnceWhenTheChildExits() async throws {
        let fixture = SupervisedFixture(command: ["python3", "-c", "import sys; sys.exit(4)"])
        let started = ContinuousClock.now
        do {
            try await fixture.supervisor.start()
            Issue.record("start() succeeded")
        } catch SupervisorError.exitedBeforeReady(_, let exit) {
            #expect(exit == .exited(code: 4))
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func startFailsForACommandThatDoesNotExist() async throws {
        let fixture = SupervisedFixture(command: ["/nonexistent/upstream-binary"])
        await #expect(throws: (any Error).self) { try await fixture.supervisor.start() }
        #expect(await fixture.supervisor.isReady == false)
    }

    @Test func killedChildIsRestartedWithExponentialBackoff() async throws {
        let fixture = SupervisedFixture()
        try await fixture.supervisor.start()
        let first = try #require(await fixture.childPID())

        // Killed from outside: restarted after the initial 0.5 s.
        let killedAt = ContinuousClock.now
        #expect(kill(pid_t(first), SIGKILL) == 0)
        let second = try #require(await fixture.waitForNewChild(replacing: first))
        let firstGap = ContinuousClock.now - killedAt
        #expect(await fixture.supervisor.lastRestartDelay == .milliseconds(500))

        // Exits by itself soon after: the delay has doubled to 1 s.
        let exitedAt = ContinuousClock.now
        _ = try? await TestHTTP.request(.GET, "http://127.0.0.1:\(fixture.port)/exit")
        let third = try #require(await fixture.waitForNewChild(replacing: second))
        let secondGap = ContinuousClock.now - exitedAt
        #expect(await fixture.supervisor.lastRestartDelay == .seconds(1))

        // The delays were really waited (the gaps add the new child's start-up).
        #expect(firstGap >= .milliseconds(500))
        #expect(secondGap >= .seconds(1))
        #expect(await fixture.supervisor.restarts == 2)
        #expect(await fixture.supervisor.pid == Int32(third))
        let readyAgain = await eventually { await fixture.supervisor.isReady }
        #expect(readyAgain)
        print("restart after kill: \(firstGap); after a second exit: \(secondGap)")
        await fixture.supervisor.stop()
        #expect(!processExists(third))
    }

    @Test func backoffResetsAfterAHealthyPeriod() async throws {
        // The healthy period that resets the backoff is long enough that a slow restart on a loaded
        // machine (Python start-up included) does not reach it by accident.
        let policy = UpstreamSupervisor.RestartPolicy(initialDelay: .milliseconds(250), maximumDelay: .seconds(5), resetAfterHealthy: .seconds(4))
        let fixture = SupervisedFixture(restartPolicy: policy)
        try await fixture.supervisor.start()
        var pid = try #require(await fixture.childPID())

        func killAndWaitForRestart() async throws -> Duration? {
            kill(pid_t(pid), SIGKILL)
            pid = try #require(await fixture.waitForNewChild(replacing: pid))
            return await fixture.supervisor.lastRestartDelay
        }
        #expect(try await killAndWaitForRestart() == .milliseconds(250))
        #expect(try await killAndWaitForRestart() == .milliseconds(500))  // healthy only briefly: doubled
        #expect(try await killAndWaitForRestart() == .seconds(1))
        // The healthy period counts from readiness, which a loaded machine can delay well after the spawn.
        #expect(await eventually { await fixture.supervisor.isReady })
        try await Task.sleep(for: .milliseconds(4300))
        #expect(try await killAndWaitForRestart() == .milliseconds(250))  // healthy for over 4 s: back to the start
        await fixture.supervisor.stop()
    }

    @Test func stopTerminatesTheChildAndNothingRestartsIt() async throws {
        let fixture = SupervisedFixture()
        try await fixture.supervisor.start()
        let pid = try #require(await fixture.supervisor.pid)
        let started = ContinuousClock.now
        await fixture.supervisor.stop()
        // SIGTERM honoured: well before the 5 s grace period after which SIGKILL would come.
        #expect(ContinuousClock.now - started < .milliseconds(4500))
        #expect(!processExists(Int(pid)))
        try await Task.sleep(for: .seconds(1))
        #expect(await fixture.childPID() == nil)
        #expect(await fixture.supervisor.isReady == false)
    }

    @Test func stopKillsAChildThatIgnoresSIGTERMAfterTheGracePeriod() async throws {
        let fixture = SupervisedFixture(arguments: ["--ignore-sigterm"], stopGracePeriod: .seconds(1))
        try await fixture.supervisor.start()
        let pid = try #require(await fixture.supervisor.pid)
        let started = ContinuousClock.now
        await fixture.supervisor.stop()
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .seconds(1))
        #expect(elapsed < .seconds(8))
        #expect(!processExists(Int(pid)))
        #expect(fixture.log.all.contains { $0.message.contains("SIGKILL") })
    }

    @Test func stopReachesProcessesTheChildStarted() async throws {
        // A shell that starts the server in the background: SIGTERM to the shell alone would leave the server running.
        let port = FreePort.next()
        let supervisor = UpstreamSupervisor(
            name: "shell", command: ["/bin/sh", "-c", "python3 '\(PythonUpstream.scriptPath)' \(port) & wait"], workingDirectory: "",
            environment: ProcessInfo.processInfo.environment, healthURL: "http://127.0.0.1:\(port)/health", logger: CapturedLog().logger)
        try await supervisor.start()
        let serverPID = try #require(try await TestHTTP.request(.GET, "http://127.0.0.1:\(port)/health").json?["pid"]?.intValue)
        await supervisor.stop()
        #expect(await eventually { !processExists(serverPID) })
    }

    @Test func childOutputIsLoggedWithTheServiceName() async throws {
        let fixture = SupervisedFixture()
        try await fixture.supervisor.start()
        await fixture.supervisor.stop()
        let records = fixture.log.all
        // stdout: the port line; stderr: the server's request log.
        #expect(records.contains { $0.message == String(fixture.port) && $0.metadata["service"] == "fixture" && $0.metadata["stream"] == "stdout" })
        #expect(records.contains { $0.message.contains("GET /health") && $0.metadata["service"] == "fixture" && $0.metadata["stream"] == "stderr" })
    }

    @Test func childGetsTheGivenEnvironmentAndWorkingDirectory() async throws {
        let port = FreePort.next()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = CapturedLog()
        let script = """
            import os, sys
            print(os.getcwd(), os.environ.get('SUPERVISOR_TEST'), os.environ.get('HOME'), flush=True)
            os.execv(sys.executable, [sys.executable, '\(PythonUpstream.scriptPath)'])
            """
        let supervisor = UpstreamSupervisor(
            name: "env", command: ["/usr/bin/python3", "-c", script], workingDirectory: directory,
            environment: ["SUPERVISOR_TEST": "yes", "PORT": String(port)],
            healthURL: "http://127.0.0.1:\(port)/health", logger: log.logger)
        try await supervisor.start()
        await supervisor.stop()
        let resolved = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        #expect(log.all.contains { $0.message == "\(resolved) yes None" || $0.message == "\(directory) yes None" })
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

import Foundation
import Gateway
import Synchronization

/// The built `mysehat` binary run as a real child process, for tests of the command line,
/// signals and startup output. Started with the gateway's own `ChildProcess`, so no descriptor of
/// the test process leaks into it and its output is read without Dispatch sources.
public final class GatewayProcess: Sendable {
    private let child: ChildProcess
    private let output: LineBuffer
    public let port: Int

    /// `.build/debug/mysehat` of this package.
    public static var binaryPath: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/debug/mysehat").path
    }

    /// Runs `mysehat` with arguments to completion; returns exit status, stdout and stderr.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let output = LineBuffer()
        let child = try await ChildProcess.spawn(command: [binaryPath] + arguments, environment: merged(environment), output: output.sink)
        let exit = await child.waitForExit()
        await output.waitForEnd()
        let status: Int32 =
            switch exit {
            case .exited(let code): code
            case .signalled(let signal): 128 + signal
            case .unknown, nil: -1
            }
        return (status, output.text(of: .stdout), output.text(of: .stderr))
    }

    /// Starts `mysehat serve` on an ephemeral loopback port and waits for its success line.
    public init(configDirectory: String, extraArguments: [String] = [], environment: [String: String] = [:], timeout: Duration = .seconds(20)) async throws {
        var environment = Self.merged(environment)
        if environment["DATA_DIR"] == nil { environment["DATA_DIR"] = configDirectory + "/data" }
        let output = LineBuffer()
        let child = try await ChildProcess.spawn(
            command: [Self.binaryPath, "serve", "--config", configDirectory, "--host", "127.0.0.1", "--port", "0"] + extraArguments,
            environment: environment, output: output.sink)
        let deadline = ContinuousClock.now + timeout
        var found: Int?
        while found == nil, ContinuousClock.now < deadline, !child.hasExited {
            found = output.all.lazy.compactMap(Self.readyPort).first
            if found == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        guard let found else {
            child.signal(SIGTERM)
            throw GatewayProcessError.notReady(output: output.all.joined(separator: "\n"))
        }
        self.child = child
        self.output = output
        self.port = found
    }

    private static func readyPort(_ line: String) -> Int? {
        guard let range = line.range(of: "ready on http://127.0.0.1:") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    private static func merged(_ environment: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var pid: Int32 { child.pid }
    public var lines: [String] { output.all }

    /// Sends `number` to the gateway process itself (not its process group: the gateway stops its
    /// own children).
    public func signal(_ number: Int32) {
        kill(child.pid, number)
    }

    /// Waits for the process to exit; returns its status, or nil on timeout.
    public func waitForExit(timeout: Duration = .seconds(15)) async -> Int32? {
        switch await child.waitForExit(timeout: timeout) {
        case .exited(let code): code
        case .signalled(let signal): 128 + signal
        case .unknown: -1
        case nil: nil
        }
    }

    deinit {
        if !child.hasExited { kill(child.pid, SIGTERM) }
    }
}

public enum GatewayProcessError: Error, CustomStringConvertible {
    case notReady(output: String)

    public var description: String {
        switch self {
        case .notReady(let output): "gateway did not report ready:\n\(output)"
        }
    }
}

/// Lines a child wrote, in the order they arrived, and whether both its streams have ended.
final class LineBuffer: Sendable {
    private struct State {
        var lines: [(text: String, stream: ChildStream)] = []
        var closedStreams = 0
        var endWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var sink: ChildOutput {
        ChildOutput { event in self.record(event) }
    }

    var all: [String] { state.withLock { $0.lines.map(\.text) } }

    func text(of stream: ChildStream) -> String {
        state.withLock { state in state.lines.filter { $0.stream == stream }.map { $0.text + "\n" }.joined() }
    }

    /// Returns once stdout and stderr have both reached their end.
    func waitForEnd() async {
        await withCheckedContinuation { continuation in
            let ended = state.withLock { state in
                if state.closedStreams >= 2 { return true }
                state.endWaiters.append(continuation)
                return false
            }
            if ended { continuation.resume() }
        }
    }

    private func record(_ event: ChildOutputEvent) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            switch event {
            case .line(let text, let stream):
                state.lines.append((text, stream))
                return []
            case .closed:
                state.closedStreams += 1
                guard state.closedStreams >= 2 else { return [] }
                defer { state.endWaiters = [] }
                return state.endWaiters
            }
        }
        for waiter in waiters { waiter.resume() }
    }
}

import Foundation
import Synchronization

/// The built `mysehat` binary run as a real child process, for tests of the command line,
/// signals and startup output.
public final class GatewayProcess: Sendable {
    private let process: Process
    private let output = LineBuffer()
    public let port: Int

    /// `.build/debug/mysehat` of this package.
    public static var binaryPath: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/debug/mysehat").path
    }

    /// Runs `mysehat` with arguments to completion; returns exit status, stdout and stderr.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryPath)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// Starts `mysehat serve` on an ephemeral loopback port and waits for its success line.
    public init(configDirectory: String, extraArguments: [String] = [], environment: [String: String] = [:], timeout: Duration = .seconds(20)) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.arguments = ["serve", "--config", configDirectory, "--host", "127.0.0.1", "--port", "0"] + extraArguments
        var env = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        if env["DATA_DIR"] == nil { env["DATA_DIR"] = configDirectory + "/data" }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        self.process = process
        let (lines, continuation) = AsyncStream<String>.makeStream()
        let collected = output
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                continuation.finish()
                handle.readabilityHandler = nil
                return
            }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                collected.append(String(line))
                continuation.yield(String(line))
            }
        }
        try process.run()
        let found = try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                for await line in lines {
                    if let range = line.range(of: "ready on http://127.0.0.1:") {
                        let digits = line[range.upperBound...].prefix { $0.isNumber }
                        return Int(digits)
                    }
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let found else {
            process.terminate()
            throw GatewayProcessError.notReady(output: output.all.joined(separator: "\n"))
        }
        self.port = found
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var pid: Int32 { process.processIdentifier }
    public var lines: [String] { output.all }

    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for the process to exit; returns its status, or nil on timeout.
    public func waitForExit(timeout: Duration = .seconds(15)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning { return process.terminationStatus }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return nil
    }

    deinit {
        if process.isRunning { process.terminate() }
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

/// Lines a child wrote, collected from its pipe's handler thread.
final class LineBuffer: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

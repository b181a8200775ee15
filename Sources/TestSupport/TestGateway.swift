import AsyncHTTPClient
import Foundation
import Gateway
import HTTPTypes
import HummingbirdCore
import Logging
import LuaRuntime
import NIOCore
import ServiceKit
import Store

/// The real gateway on an ephemeral loopback port, for tests that talk HTTP to it.
public final class TestGateway: Sendable {
    public let port: Int
    public let server: GatewayServer
    public let configDirectory: String
    private let task: Task<Void, any Error>

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public static func start(
        configDirectory: String, services: [any Service] = [], identity: (any IdentityVerifier)? = nil,
        consent: (any ConsentChecker)? = nil, audit: (any AuditSink)? = nil, settings: GatewaySettings = .init(),
        upstream: any UpstreamForwarder,
        supervisorFactory: ChildSupervisorFactory? = nil, luaLimits: LuaLimits = .init(), luaPrimitives: LuaPrimitives = .init(),
        store: (any Store)? = nil, watchInterval: Duration = .milliseconds(200), logLevel: Logger.Level = .warning
    ) async throws -> TestGateway {
        var logger = Logger(label: "test-gateway")
        logger.logLevel = logLevel
        let loader = ConfigLoader(
            directory: configDirectory, swiftServices: services, production: settings.production, luaLimits: luaLimits,
            luaPrimitives: luaPrimitives, luaWorkers: 2,
            luaMigrator: migrator(for: store),
            logger: logger)
        for service in services { try await service.start() }
        let server = try await GatewayServer.prepare(
            loader: loader, settings: settings, identity: identity, consent: consent, audit: audit, upstream: upstream,
            supervisorFactory: supervisorFactory,
            options: ServeOptions(host: "127.0.0.1", port: 0, watchInterval: watchInterval, handleSignals: false), logger: logger)
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let task = Task {
            try await server.run { port in portContinuation.yield(port) }
        }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestGatewayError.didNotStart }
        return TestGateway(port: port, server: server, configDirectory: configDirectory, task: task)
    }

    init(port: Int, server: GatewayServer, configDirectory: String, task: Task<Void, any Error>) {
        self.port = port
        self.server = server
        self.configDirectory = configDirectory
        self.task = task
    }

    public func stop() async {
        await server.shutdown()
        _ = try? await task.value
    }

    /// One request; the whole response body is collected.
    public func request(
        _ method: HTTPMethodName = .GET, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> TestResponse {
        try await TestHTTP.request(method, baseURL + path, headers: headers, body: body, timeout: timeout)
    }

    public func request(_ method: HTTPMethodName = .GET, _ path: String, headers: [(String, String)] = [], json: JSONValue) async throws -> TestResponse {
        try await request(method, path, headers: headers + [("Content-Type", "application/json")], body: JSON.encode(json))
    }
}

/// Applies Lua services' migrations to the test's store, when it has one.
func migrator(for store: (any Store)?) -> LuaMigrator? {
    guard let store else { return nil }
    return { rule, migrations in try await rule.migrate(migrations, on: store) }
}

public enum TestGatewayError: Error {
    case didNotStart
}

/// Method names for test requests.
public struct HTTPMethodName: Sendable, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(stringLiteral value: String) { rawValue = value }
    public init(_ value: String) { rawValue = value }
    public static let GET: HTTPMethodName = "GET"
    public static let POST: HTTPMethodName = "POST"
    public static let PUT: HTTPMethodName = "PUT"
    public static let PATCH: HTTPMethodName = "PATCH"
    public static let DELETE: HTTPMethodName = "DELETE"
    public static let HEAD: HTTPMethodName = "HEAD"
    public static let OPTIONS: HTTPMethodName = "OPTIONS"
}

/// A collected HTTP response.
public struct TestResponse: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public func headerValues(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    public var json: JSONValue? { try? JSON.decode(body) }

    public var detail: String? { json?["detail"]?.stringValue }
}

/// A small HTTP client over AsyncHTTPClient for tests.
public enum TestHTTP {
    /// Many connections per host, so concurrency tests measure the server, not the client pool.
    /// Lives for the whole test process, like `HTTPClient.shared`.
    public static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)),
            connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 512),
            decompression: .disabled))

    public static func request(
        _ method: HTTPMethodName, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, timeout: Duration = .seconds(30)
    ) async throws -> TestResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method.rawValue)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let seconds = timeout.components.seconds
        let response = try await client.execute(request, timeout: .seconds(seconds))
        let buffer = try await response.body.collect(upTo: 256 << 20)
        return TestResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Array(buffer.readableBytesView))
    }
}

/// A temporary config folder with routes/, policies/ and services/.
public struct TestConfigFolder: Sendable {
    public let path: String

    public init(files: [String: String] = [:]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("mysehat-test-\(UUID().uuidString)").path
        for folder in ["routes", "policies", "services"] {
            try FileManager.default.createDirectory(atPath: path + "/" + folder, withIntermediateDirectories: true)
        }
        for (name, contents) in files { try write(name, contents) }
    }

    public func write(_ relativePath: String, _ contents: String) throws {
        let url = URL(fileURLWithPath: path).appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: url, atomically: true, encoding: .utf8)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

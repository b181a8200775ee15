import AsyncHTTPClient
import Foundation
import Gateway
import Logging
import NIOPosix
import ServiceKit
import Testing
import TestSupport

/// Upstream routes through the whole gateway: routing table, policies, the real proxy and the
/// supervisor, against the Python fixture upstream.
@Suite("Upstream routes")
struct UpstreamRouteTests {
    /// One proxy client for the suite, configured as the binary configures it; lives as long as
    /// the test process.
    static let client = UpstreamProxy.makeHTTPClient()

    static func proxy() -> UpstreamProxy {
        UpstreamProxy(httpClient: client, logger: Logger(label: "test-proxy"))
    }

    static func headers(_ response: TestResponse) -> [String: String] {
        var result: [String: String] = [:]
        for pair in response.json?["headers"]?.arrayValue ?? [] {
            if let name = pair.arrayValue?.first?.stringValue, let value = pair.arrayValue?.last?.stringValue { result[name.lowercased()] = value }
        }
        return result
    }

    @Test func identityHeadersComeOnlyFromTheVerifiedToken() async throws {
        let upstream = try await PythonUpstream.start()
        let folder = try TestConfigFolder(files: ["routes/main.lua": """
            return {
              { prefix = "/legacy", upstream = "http://127.0.0.1:\(upstream.port)", policy = { auth = "jwt" }, name = "legacy" },
              { prefix = "/open", upstream = "http://127.0.0.1:\(upstream.port)", name = "open" },
            }
            """])
        defer { folder.remove() }
        let gateway = try await TestGateway.start(configDirectory: folder.path, identity: FixedIdentity(), upstream: Self.proxy())
        let signedIn = try await gateway.request(.GET, "/legacy/echo?x=1", headers: [
            ("Authorization", "Bearer user:5:patient"), ("X-User-Id", "5"), ("X-User-Role", "admin"), ("X-Request-ID", "req-77"),
        ])
        #expect(signedIn.status == 200)
        #expect(signedIn.json?["path"]?.stringValue == "/echo")
        #expect(signedIn.json?["query"]?.stringValue == "x=1")
        let seen = Self.headers(signedIn)
        #expect(seen["x-user-id"] == "5")
        #expect(seen["x-user-role"] == "patient")
        #expect(seen["x-request-id"] == "req-77")
        #expect(seen["x-original-path"] == "/legacy/echo")
        #expect(seen["x-forwarded-by"] == "mysehat-gateway")
        #expect(signedIn.header("X-Request-ID") == "req-77")

        let mismatch = try await gateway.request(.GET, "/legacy/echo", headers: [("Authorization", "Bearer user:5:patient"), ("X-User-Id", "6")])
        #expect(mismatch.status == 403)
        #expect(try await gateway.request(.GET, "/legacy/echo").status == 401)

        let anonymous = try await gateway.request(.GET, "/open/echo", headers: [("X-User-Id", "1"), ("X-User-Role", "admin")])
        #expect(Self.headers(anonymous)["x-user-id"] == nil)
        #expect(Self.headers(anonymous)["x-user-role"] == nil)
        await gateway.stop()
        await upstream.stop()
    }

    @Test func deadUpstreamIs503AndHealthShowsIt() async throws {
        let upstream = try await PythonUpstream.start()
        let folder = try TestConfigFolder(files: ["routes/main.lua": """
            return { { prefix = "/legacy", upstream = "http://127.0.0.1:\(upstream.port)", name = "legacy", timeout = 1 } }
            """])
        defer { folder.remove() }
        let gateway = try await TestGateway.start(configDirectory: folder.path, upstream: Self.proxy())
        #expect(try await gateway.request(.GET, "/health").json?["services"]?["legacy"]?.stringValue == "healthy")
        let slow = try await gateway.request(.GET, "/legacy/slow?s=3")
        #expect(slow.status == 504)
        #expect(slow.detail == "Service 'legacy' timed out")
        await upstream.stop()
        try await Task.sleep(for: .milliseconds(200))
        let down = try await gateway.request(.GET, "/legacy/echo")
        #expect(down.status == 503)
        #expect(down.detail == "Service 'legacy' is unavailable")
        let health = try await gateway.request(.GET, "/health")
        #expect(health.status == 200)
        #expect(health.json?["services"]?["legacy"]?.stringValue == "unavailable")
        #expect(health.json?["status"]?.stringValue == "degraded")
        let services = try await gateway.request(.GET, "/services")
        #expect(services.json?["services"]?.arrayValue?.first?["kind"]?.stringValue == "upstream")
        await gateway.stop()
    }

    @Test func supervisedChildIsStartedRestartedAndStopped() async throws {
        let port = FreePort.next()
        let folder = try TestConfigFolder(files: ["routes/main.lua": """
            return {
              { prefix = "/child", upstream = "http://127.0.0.1:\(port)", name = "child",
                command = { "python3", "\(PythonUpstream.scriptPath)", "\(port)" }, health = "/health" },
            }
            """])
        defer { folder.remove() }
        let logger = Logger(label: "test-supervisor")
        let factory: ChildSupervisorFactory = { name, command, target in
            UpstreamSupervisor(
                name: name, command: command.command, workingDirectory: folder.path, environment: ProcessInfo.processInfo.environment,
                healthURL: "http://127.0.0.1:\(target.port)\(command.healthPath)", logger: logger, readyTimeout: .seconds(20))
        }
        // start() returns only once the child answers its health path.
        let gateway = try await TestGateway.start(configDirectory: folder.path, upstream: Self.proxy(), supervisorFactory: factory)
        let first = try await gateway.request(.GET, "/child/health")
        #expect(first.status == 200)
        let firstPID = try #require(first.json?["pid"]?.intValue)

        kill(pid_t(firstPID), SIGKILL)
        var restartedPID: Int?
        for _ in 0..<100 where restartedPID == nil {
            try await Task.sleep(for: .milliseconds(100))
            if let answer = try? await gateway.request(.GET, "/child/health"), answer.status == 200, let pid = answer.json?["pid"]?.intValue, pid != firstPID {
                restartedPID = pid
            }
        }
        let newPID = try #require(restartedPID)
        await gateway.stop()
        // Stopping the gateway stops the child.
        var gone = false
        for _ in 0..<100 where !gone {
            gone = kill(pid_t(newPID), 0) != 0
            if !gone { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(gone)
    }
}

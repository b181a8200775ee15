import Foundation
import Testing
import TestSupport

/// The command line, signals and startup output of the real binary.
@Suite("mysehat process")
struct ProcessTests {
    static let routes = """
    return {
      { prefix = "/greet", service = "lua:greeter" },
    }
    """

    static func greeter(_ word: String) -> String {
        """
        local s = service("greeter")
        s:get("/", function(req) return 200, { word = "\(word)" } end)
        s:get("/slow", function(req) sleep(1500); return 200, { slow = true } end)
        return s
        """
    }

    @Test func checkExitCodes() async throws {
        let good = try TestConfigFolder(files: ["routes/main.lua": Self.routes, "services/greeter.lua": Self.greeter("hi")])
        defer { good.remove() }
        let ok = try await GatewayProcess.run(["check", "--config", good.path])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("/greet/*"))
        #expect(ok.stdout.contains("lua:greeter"))

        let hidden = try TestConfigFolder(files: [
            "routes/main.lua": "return { { prefix = \"/greet\", service = \"lua:greeter\" }, { path = \"/greet/{id}\", service = \"lua:greeter\" } }",
            "services/greeter.lua": Self.greeter("hi"),
        ])
        defer { hidden.remove() }
        let warned = try await GatewayProcess.run(["check", "--config", hidden.path])
        #expect(warned.status == 0)
        #expect(warned.stdout.contains("is hidden by the prefix route"))

        let bad = try TestConfigFolder(files: ["routes/main.lua": "return { { prefix = \"/greet\", service = \"lua:greeter\" }", "services/greeter.lua": Self.greeter("hi")])
        defer { bad.remove() }
        let failed = try await GatewayProcess.run(["check", "--config", bad.path])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("routes/main.lua:1"))
    }

    /// One line per request on standard error, with its request id, status and time; a path
    /// cannot forge a second line; `ACCESS_LOG=off` turns it off.
    @Test func accessLogHasALinePerRequest() async throws {
        let folder = try TestConfigFolder(files: ["routes/main.lua": Self.routes, "services/greeter.lua": Self.greeter("one")])
        defer { folder.remove() }
        let gateway = try await GatewayProcess(configDirectory: folder.path, extraArguments: ["--watch-interval", "0"])
        _ = try await TestHTTP.request(.GET, gateway.baseURL + "/greet", headers: [("X-Request-ID", "access-log-1")])
        _ = try await TestHTTP.request(.GET, gateway.baseURL + "/nowhere%0Aforged%20line", headers: [("X-Request-ID", "access-log-2")])
        let first = await eventually { gateway.lines.contains { $0.contains("request_id=access-log-2") } }
        #expect(first)
        let lines = gateway.lines.filter { $0.contains("component=access") }
        let greet = try #require(lines.first { $0.contains("request_id=access-log-1") })
        #expect(greet.hasSuffix("[Gateway] GET /greet 200"))
        #expect(greet.contains(" info mysehat: component=access ip=127.0.0.1 ms="))
        let missing = try #require(lines.first { $0.contains("request_id=access-log-2") })
        #expect(missing.hasSuffix("[Gateway] GET /nowhere%0Aforged%20line 404"))
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)

        let quiet = try await GatewayProcess(
            configDirectory: folder.path, extraArguments: ["--watch-interval", "0"], environment: ["ACCESS_LOG": "off"])
        #expect(try await TestHTTP.request(.GET, quiet.baseURL + "/greet", headers: [("X-Request-ID", "access-log-3")]).status == 200)
        try await Task.sleep(for: .milliseconds(200))
        #expect(!quiet.lines.contains { $0.contains("component=access") })
        quiet.signal(SIGTERM)
        #expect(await quiet.waitForExit() == 0)
    }

    @Test func serveReloadsOnSIGHUPAndShutsDownGracefully() async throws {
        let folder = try TestConfigFolder(files: ["routes/main.lua": Self.routes, "services/greeter.lua": Self.greeter("one")])
        defer { folder.remove() }
        let gateway = try await GatewayProcess(configDirectory: folder.path, extraArguments: ["--watch-interval", "0"])
        #expect(gateway.lines.contains { $0.contains("[1/2]") })
        #expect(gateway.lines.contains { $0.contains("greeter") && $0.contains("lua") })
        #expect(gateway.lines.contains { $0.contains("[2/2]") })
        #expect(try await TestHTTP.request(.GET, gateway.baseURL + "/greet").json?["word"]?.stringValue == "one")

        // Watching is off: only SIGHUP reloads.
        try folder.write("services/greeter.lua", Self.greeter("two"))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await TestHTTP.request(.GET, gateway.baseURL + "/greet").json?["word"]?.stringValue == "one")
        gateway.signal(SIGHUP)
        var reloaded = false
        for _ in 0..<100 where !reloaded {
            reloaded = try await TestHTTP.request(.GET, gateway.baseURL + "/greet").json?["word"]?.stringValue == "two"
            if !reloaded { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(reloaded)

        // SIGTERM while a request is in flight: it completes, then the process exits cleanly.
        async let inFlight = TestHTTP.request(.GET, gateway.baseURL + "/greet/slow")
        try await Task.sleep(for: .milliseconds(300))
        gateway.signal(SIGTERM)
        let slow = try await inFlight
        #expect(slow.status == 200)
        #expect(await gateway.waitForExit() == 0)
    }

    @Test func productionWithoutSecretRefusesToStart() async throws {
        let folder = try TestConfigFolder(files: ["routes/main.lua": Self.routes, "services/greeter.lua": Self.greeter("hi")])
        defer { folder.remove() }
        let refused = try await GatewayProcess.run(
            ["serve", "--config", folder.path, "--host", "127.0.0.1", "--port", "0"],
            environment: ["MYSEHAT_ENV": "production", "JWT_SECRET_KEY": "", "DATA_DIR": folder.path + "/data"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("JWT_SECRET_KEY"))
        #expect(!refused.stdout.contains("ready on"))
    }
}

import Synchronization
import Foundation
import Gateway
import ServiceKit
import Testing
import TestSupport

@Suite("Reload")
struct ReloadTests {
    static func luaService(_ greeting: String) -> String {
        """
        local s = service("greeter")
        s:get("/", function(req) return 200, { greeting = "\(greeting)" } end)
        return s
        """
    }

    static let routes = """
    return {
      { prefix = "/greet", service = "lua:greeter" },
      { prefix = "/echo-svc", service = "echo" },
    }
    """

    /// Polls until `condition` holds or the time runs out.
    static func eventually(_ seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test func fileChangeSwapsAndBrokenFileKeepsOldConfig() async throws {
        let folder = try TestConfigFolder(files: ["routes/main.lua": Self.routes, "services/greeter.lua": Self.luaService("hello")])
        defer { folder.remove() }
        let gateway = try await TestGateway.start(configDirectory: folder.path, services: [EchoService()], upstream: NoUpstream())
        #expect(try await gateway.request(.GET, "/greet").json?["greeting"]?.stringValue == "hello")

        try folder.write("services/greeter.lua", Self.luaService("namaste"))
        #expect(try await Self.eventually { try await gateway.request(.GET, "/greet").json?["greeting"]?.stringValue == "namaste" })
        let health = try await gateway.request(.GET, "/health")
        #expect(health.json?["config"]?["generation"]?.intValue == 2)

        // A syntax error: the old generation keeps serving, /health names file and line.
        try folder.write("services/greeter.lua", "local s = service(\"greeter\")\ns:get(\"/\", function(req) return 200, { oops = } end)\nreturn s\n")
        #expect(try await Self.eventually {
            try await gateway.request(.GET, "/health").json?["config"]?["last_error"]?.stringValue?.contains("services/greeter.lua:2") == true
        })
        #expect(try await gateway.request(.GET, "/greet").json?["greeting"]?.stringValue == "namaste")
        #expect(try await gateway.request(.GET, "/health").json?["status"]?.stringValue == "degraded")

        // An unknown service in a routing table is rejected the same way.
        try folder.write("services/greeter.lua", Self.luaService("hola"))
        try folder.write("routes/main.lua", "return { { prefix = \"/greet\", service = \"lua:nobody\" } }")
        #expect(try await Self.eventually {
            try await gateway.request(.GET, "/health").json?["config"]?["last_error"]?.stringValue?.contains("unknown Lua service 'nobody'") == true
        })
        #expect(try await gateway.request(.GET, "/greet").json?["greeting"]?.stringValue == "namaste")

        // Fixing the files recovers.
        try folder.write("routes/main.lua", Self.routes)
        #expect(try await Self.eventually { try await gateway.request(.GET, "/greet").json?["greeting"]?.stringValue == "hola" })
        #expect(try await gateway.request(.GET, "/health").json?["config"]?["last_error"] == .null)
        await gateway.stop()
    }

    @Test func explicitReloadRejectsDuplicateRoutesAndBadUpstreams() async throws {
        let folder = try TestConfigFolder(files: ["routes/main.lua": Self.routes, "services/greeter.lua": Self.luaService("hello")])
        defer { folder.remove() }
        let gateway = try await TestGateway.start(configDirectory: folder.path, services: [EchoService()], upstream: NoUpstream(), watchInterval: .seconds(3600))
        try folder.write("routes/main.lua", """
        return {
          { prefix = "/greet", service = "lua:greeter" },
          { prefix = "/greet", service = "echo" },
        }
        """)
        #expect(await gateway.server.reloader.reload(reason: "test") == false)
        #expect(gateway.server.runtime.lastReloadError?.contains("ties with the route at routes/main.lua:2") == true)
        try folder.write("routes/main.lua", "return { { prefix = \"/x\", upstream = \"http://10.0.0.5:80\" } }")
        #expect(await gateway.server.reloader.reload(reason: "test") == false)
        #expect(gateway.server.runtime.lastReloadError?.contains("not a loopback address") == true)
        try folder.write("routes/main.lua", "return { { prefix = \"/x\", servce = \"echo\" } }")
        #expect(await gateway.server.reloader.reload(reason: "test") == false)
        #expect(gateway.server.runtime.lastReloadError?.contains("unknown field 'servce'") == true)
        #expect(try await gateway.request(.GET, "/greet").status == 200)
        await gateway.stop()
    }

    @Test func reloadUnderLoadDropsNothing() async throws {
        let folder = try TestConfigFolder(files: ["routes/main.lua": Self.routes, "services/greeter.lua": Self.luaService("v0")])
        defer { folder.remove() }
        let gateway = try await TestGateway.start(configDirectory: folder.path, services: [EchoService()], upstream: NoUpstream(), watchInterval: .seconds(3600))
        let stop = ManagedFlag()
        let completed = ManagedCounter()
        let load = Task {
            try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        var ok = 0, failed = 0
                        while !stop.isSet {
                            let lua = try await gateway.request(.GET, "/greet")
                            let swift = try await gateway.request(.GET, "/echo-svc/echo")
                            if lua.status == 200 && swift.status == 200 { ok += 1 } else { failed += 1 }
                            completed.increment()
                        }
                        return (ok, failed)
                    }
                }
                var totals = (0, 0)
                for try await (ok, failed) in group { totals.0 += ok; totals.1 += failed }
                return totals
            }
        }
        // Reload only once the load is flowing, so every swap happens under it.
        while completed.value < 20 { try await Task.sleep(for: .milliseconds(5)) }
        for version in 1...10 {
            try folder.write("services/greeter.lua", Self.luaService("v\(version)"))
            #expect(await gateway.server.reloader.reload(reason: "test \(version)"))
            try await Task.sleep(for: .milliseconds(50))
        }
        stop.set()
        let (ok, failed) = try await load.value
        #expect(failed == 0)
        #expect(ok >= 20)
        #expect(try await gateway.request(.GET, "/greet").json?["greeting"]?.stringValue == "v10")
        await gateway.stop()
    }
}

/// A count tasks bump.
final class ManagedCounter: Sendable {
    private let state = Mutex(0)
    var value: Int { state.withLock { $0 } }
    func increment() { state.withLock { $0 += 1 } }
}

/// A flag tasks poll.
final class ManagedFlag: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}

import Foundation
import Gateway
import LuaRuntime
import ServiceKit
import Store
import Testing
import TestSupport

let extensionsService = """
local s = service("ext")
s:migrate{ "CREATE TABLE ext_log (id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT NOT NULL)" }

s:get("/crypto", function(req)
  return 200, { sha = crypto.sha256("abc"), hmac = crypto.hmac_sha256("key", "The quick brown fox jumps over the lazy dog") }
end)

s:get("/read", function(req)
  local text, err = files.read(req.query.path)
  return 200, { text = text, error = err }
end)

s:get("/shared/set", function(req) shared.set(req.query.key, req.query.value); return 200, {} end)
s:get("/shared/get", function(req) return 200, { value = shared.get(req.query.key) } end)

-- The answer goes out at once; the spawned function runs afterwards.
s:get("/spawn", function(req)
  spawn(function(r)
    sleep(1500)
    db.exec("INSERT INTO ext_log (what) VALUES (?)", "spawned for " .. r.user.id)
  end)
  return 200, { answered = true }
end)
s:get("/spawn-then-fail", function(req)
  spawn(function() db.exec("INSERT INTO ext_log (what) VALUES ('must not run')") end)
  error("handler failed")
end)
s:get("/log", function(req)
  return 200, db.query("SELECT what FROM ext_log ORDER BY id")
end)

s:every(0.2, function(req)
  db.exec("INSERT INTO ext_log (what) VALUES (?)", req.user == nil and "tick" or "tick with a user?")
end)
return s
"""

@Suite("Lua runtime extensions")
struct LuaExtensionsTests {
    static func start(readable: [String] = []) async throws -> (TestGateway, TestConfigFolder, SQLiteStore) {
        let folder = try TestConfigFolder(files: [
            "routes/main.lua": #"return { { prefix = "/ext", service = "lua:ext", policy = { auth = "optional" } } }"#,
            "services/ext.lua": extensionsService,
            "services/data/inside.json": #"{"inside": true}"#,
        ])
        let store = try SQLiteStore(path: folder.path + "/ext.sqlite")
        var primitives = LuaPrimitives()
        primitives.addBasics(config: [:])
        primitives.addDatabase(store)
        primitives.addCrypto()
        primitives.addFiles(root: folder.path, readable: readable)
        primitives.addShared()
        let gateway = try await TestGateway.start(
            configDirectory: folder.path, identity: FixedIdentity(), upstream: NoUpstream(), luaPrimitives: primitives, store: store)
        return (gateway, folder, store)
    }

    @Test func cryptoHashesAsLowercaseHex() async throws {
        let (gateway, folder, _) = try await Self.start()
        defer { Task { await gateway.stop(); folder.remove() } }
        let body = try #require(try await gateway.request(.GET, "/ext/crypto").json)
        #expect(body["sha"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(body["hmac"] == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    @Test func filesStayInsideTheConfigFolder() async throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString).json").path
        try #"{"outside": true}"#.write(toFile: outside, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let (gateway, folder, _) = try await Self.start(readable: [outside])
        defer { Task { await gateway.stop(); folder.remove() } }
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/services/data/link.json", withDestinationPath: "/etc/hostname")

        func read(_ path: String) async throws -> JSONValue? {
            try await gateway.request(.GET, "/ext/read?path=" + path.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!).json
        }
        #expect(try await read("services/data/inside.json")?["text"] == #"{"inside": true}"#)
        #expect(try await read(outside)?["text"] == #"{"outside": true}"#, "configured explicitly")
        for refused in ["../../../etc/hostname", "/etc/hostname", "services/data/link.json", "services/../../x"] {
            let answer = try await read(refused)
            #expect(answer?["text"] == nil && answer?["error"]?.stringValue?.contains("outside the config folder") == true, "\(refused)")
        }
        #expect(try await read("services/data/missing.json")?["error"]?.stringValue?.contains("cannot open") == true)
    }

    @Test func sharedValuesAreSeenByEveryState() async throws {
        let (gateway, folder, _) = try await Self.start()
        defer { Task { await gateway.stop(); folder.remove() } }
        _ = try await gateway.request(.GET, "/ext/shared/set?key=k&value=v1")
        // The test gateway runs two states, chosen round-robin: both must see the value.
        for _ in 0..<4 { #expect(try await gateway.request(.GET, "/ext/shared/get?key=k").json?["value"] == "v1") }
        #expect(try await gateway.request(.GET, "/ext/shared/get?key=other").json?["value"] == nil)
    }

    @Test func spawnRunsAfterTheAnswerAndEveryRunsJobs() async throws {
        let (gateway, folder, store) = try await Self.start()
        defer { Task { await gateway.stop(); folder.remove() } }
        func log() async throws -> [String] {
            try await store.query("SELECT what FROM ext_log ORDER BY id", []).compactMap { $0.string("what") }
        }
        let answer = try await gateway.request(.GET, "/ext/spawn", headers: [("Authorization", "Bearer user:42:patient")])
        #expect(answer.status == 200)
        #expect(try await !log().contains("spawned for 42"), "answered before the spawned work ran")
        #expect(try await gateway.request(.GET, "/ext/spawn-then-fail").status == 500)
        let deadline = ContinuousClock.now + .seconds(10)
        while try await !log().contains("spawned for 42"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = try await log()
        #expect(log.filter { $0 == "spawned for 42" }.count == 1)
        #expect(!log.contains("must not run"))
        #expect(log.filter { $0 == "tick" }.count >= 3 && !log.contains("tick with a user?"))
    }
}

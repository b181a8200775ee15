import Foundation
import Gateway
import LuaRuntime
import ServiceKit
import Testing
import Groq
import Store
import TestSupport

let runtimeRoutes = """
return {
  { prefix = "/bad", service = "lua:bad", timeout = 2 },
  { prefix = "/good", service = "lua:good" },
  { prefix = "/sandbox", service = "lua:sandbox" },
  { prefix = "/tight", service = "lua:tight" },
}
"""

let badService = """
local s = service("bad")
s:get("/loop", function(req) while true do end end)
s:get("/pcall-loop", function(req)
  while true do pcall(function() while true do end end) end
end)
s:get("/coroutine-loop", function(req)
  local co = coroutine.create(function() while true do end end)
  while true do coroutine.resume(co) end
end)
s:get("/memory", function(req)
  local t = {}
  for i = 1, 1e9 do t[i] = string.rep("x", 1024) .. i end
end)
s:get("/pcall-memory", function(req)
  local keep = {}
  while true do pcall(function() for i = 1, 1e9 do keep[#keep + 1] = string.rep("y", 4096) .. i end end) end
end)
s:get("/recursion", function(req)
  local function f(n) return f(n + 1) + 1 end
  return 200, { n = f(1) }
end)
s:get("/slow", function(req) sleep(5000); return 200, {} end)
s:get("/error", function(req) error("secret internal detail") end)
return s
"""

let goodService = """
local util = require("lib.util")
local s = service("good")
s:get("/ping", function(req) return 200, { pong = util.double(21) } end)
s:get("/sleep", function(req)
  sleep(100)
  return 200, { slept = true }
end)
s:get("/coroutine-sleep", function(req)
  -- A coroutine the script creates must not swallow the host's yield.
  local co = coroutine.wrap(function(a)
    sleep(20)
    local b = coroutine.yield(a + 1)
    sleep(20)
    return b * 2
  end)
  local first = co(1)
  local second = co(10)
  return 200, { first = first, second = second }
end)
s:get("/basics", function(req)
  local id = uuid()
  return 200, { uuid_len = #id, iso = time.iso(), now = time.now() > 1700000000, missing = config.get("nope", "dflt"),
                greeting = config.get("greeting") }
end)
return s
"""

let sandboxService = """
local s = service("sandbox")
local function try(f) local ok, err = pcall(f); return ok and "allowed" or "blocked" end
s:get("/escapes", function(req)
  return 200, {
    io = io == nil,
    os_execute = os.execute == nil,
    os_getenv = os.getenv == nil,
    debug = debug == nil,
    package = package == nil,
    dofile = dofile == nil,
    loadfile = loadfile == nil,
    dump = string.dump == nil,
    bytecode = load("\\27Lua", "x", "b") == nil,
    bytecode_default = select(2, load("\\27LuaT\\0")) ~= nil,
    require_outside = try(function() return require("../../etc/passwd") end),
    require_missing = try(function() return require("nope") end),
    replace_string = try(function() string.format = nil end),
    string_metatable = getmetatable("") == false,
    replace_global_base = try(function() json = nil end) == "allowed" and json == nil,
  }
end)
s:get("/after", function(req) return 200, { fmt = string.format("%d", 5), rep = ("ab"):rep(2) } end)
return s
"""

let tightService = """
local s = service("tight", { instructions = 1000000 })
s:get("/count", function(req)
  local n = 0
  for i = 1, tonumber(req.query.n) do n = n + i end
  return 200, { n = n }
end)
return s
"""

@Suite("Lua runtime")
struct LuaRuntimeTests {
    static func start() async throws -> (TestGateway, TestConfigFolder) {
        let folder = try TestConfigFolder(files: [
            "routes/main.lua": runtimeRoutes, "services/bad.lua": badService, "services/good.lua": goodService,
            "services/sandbox.lua": sandboxService, "services/tight.lua": tightService,
            "services/lib/util.lua": "local M = {}\nfunction M.double(x) return x * 2 end\nreturn M\n",
        ])
        var primitives = LuaPrimitives()
        primitives.addBasics(config: ["greeting": "namaste"])
        let gateway = try await TestGateway.start(
            configDirectory: folder.path, services: [EchoService()], upstream: NoUpstream(),
            luaLimits: LuaLimits(instructionBudget: 20_000_000, memoryLimit: 32 << 20), luaPrimitives: primitives,
            logLevel: .critical)
        return (gateway, folder)
    }

    @Test func runawayScriptsAreKilledWhileOthersKeepServing() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        // Concurrent good traffic while each runaway runs.
        for path in ["/bad/loop", "/bad/pcall-loop", "/bad/coroutine-loop", "/bad/memory", "/bad/pcall-memory", "/bad/recursion"] {
            async let killed = gateway.request(.GET, path)
            var goodStatuses: [Int] = []
            for _ in 0..<5 { goodStatuses.append(try await gateway.request(.GET, "/good/ping").status) }
            let response = try await killed
            #expect(response.status == 500, "\(path)")
            #expect(response.detail == "Internal Server Error", "\(path)")
            #expect(response.json?["request_id"] != nil)
            #expect(goodStatuses.allSatisfy { $0 == 200 }, "\(path)")
        }
        // The states are still usable afterwards.
        for _ in 0..<4 { #expect(try await gateway.request(.GET, "/good/ping").json?["pong"]?.intValue == 42) }
        await gateway.stop()
    }

    @Test func deadlineAnswers504AndErrorsRevealNothing() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let slow = try await gateway.request(.GET, "/bad/slow")
        #expect(slow.status == 504)
        #expect(slow.detail == "Service 'bad' timed out")
        let error = try await gateway.request(.GET, "/bad/error")
        #expect(error.status == 500)
        #expect(!error.text.contains("secret"))
        await gateway.stop()
    }

    /// 200 concurrent requests that each sleep 100 ms: if sleeps blocked the Lua states they would
    /// take at least 20 s / 2 states = 10 s. Measured against the same 200 requests without the
    /// sleep, so that a machine loaded by the rest of the suite slows both runs alike (alone, the
    /// sleeping burst takes about 0.3 s).
    @Test func concurrentSleepsRunTogether() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        func burst(_ path: String) async throws -> (Duration, [Int]) {
            let started = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<200 { group.addTask { try await gateway.request(.GET, path).status } }
                var all: [Int] = []
                for try await status in group { all.append(status) }
                return all
            }
            return (ContinuousClock.now - started, statuses)
        }
        let (baseline, _) = try await burst("/good/ping")
        let (elapsed, statuses) = try await burst("/good/sleep")
        #expect(statuses.count == 200 && statuses.allSatisfy { $0 == 200 })
        #expect(elapsed < baseline + .seconds(4), "200 sleeping requests took \(elapsed); without the sleep \(baseline)")
        await gateway.stop()
    }

    @Test func scriptCoroutinesDoNotSwallowHostYields() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let response = try await gateway.request(.GET, "/good/coroutine-sleep")
        #expect(response.status == 200)
        #expect(response.json?["first"]?.intValue == 2)
        #expect(response.json?["second"]?.intValue == 20)
        await gateway.stop()
    }

    @Test func sandboxEscapesFail() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let response = try await gateway.request(.GET, "/sandbox/escapes")
        let json = try #require(response.json?.objectValue)
        for key in ["io", "os_execute", "os_getenv", "debug", "package", "dofile", "loadfile", "dump", "bytecode", "bytecode_default", "string_metatable"] {
            #expect(json[key]?.boolValue == true, "\(key)")
        }
        #expect(json["require_outside"]?.stringValue == "blocked")
        #expect(json["require_missing"]?.stringValue == "blocked")
        #expect(json["replace_string"]?.stringValue == "blocked")
        let after = try await gateway.request(.GET, "/sandbox/after")
        #expect(after.json?["fmt"]?.stringValue == "5")
        #expect(after.json?["rep"]?.stringValue == "abab")
        await gateway.stop()
    }

    @Test func basicsAndPerServiceBudget() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let basics = try await gateway.request(.GET, "/good/basics")
        #expect(basics.json?["uuid_len"]?.intValue == 36)
        #expect(basics.json?["now"]?.boolValue == true)
        #expect(basics.json?["missing"]?.stringValue == "dflt")
        #expect(basics.json?["greeting"]?.stringValue == "namaste")
        #expect(Instant.parse(basics.json?["iso"]?.stringValue ?? "") != nil)
        #expect(try await gateway.request(.GET, "/tight/count?n=1000").status == 200)
        #expect(try await gateway.request(.GET, "/tight/count?n=10000000").status == 500)
        await gateway.stop()
    }
}

let notesService = """
local s = service("notes")
s:migrate{
  "CREATE TABLE notes_items (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, body TEXT, rating REAL)",
  "ALTER TABLE notes_items ADD COLUMN tag TEXT",
}
s:post("/", function(req)
  local body = req:json()
  local r = db.exec("INSERT INTO notes_items (owner, body, rating, tag) VALUES (?, ?, ?, ?)", body.owner, body.body, body.rating, body.tag)
  return 200, { id = r.last_id, changes = r.changes }
end)
s:get("/{id}", function(req)
  local row = db.one("SELECT * FROM notes_items WHERE id = ?", tonumber(req.params.id))
  if not row then return 404, { detail = "Note not found" } end
  return 200, row
end)
s:get("/", function(req)
  return 200, { notes = json.array(db.query("SELECT id, body FROM notes_items WHERE owner = ? ORDER BY id", req.query.owner)) }
end)
s:post("/tx-fail", function(req)
  local ok, err = pcall(db.transaction, function()
    db.exec("INSERT INTO notes_items (owner, body) VALUES ('tx', 'inside')")
    error("changed my mind")
  end)
  local count = db.one("SELECT count(*) AS n FROM notes_items WHERE owner = 'tx'").n
  return 200, { ok = ok, count = count, err_has_reason = tostring(err):find("changed my mind") ~= nil }
end)
s:post("/tx-ok", function(req)
  local id = db.transaction(function()
    local r = db.exec("INSERT INTO notes_items (owner, body) VALUES ('tx2', 'a')")
    db.exec("INSERT INTO notes_items (owner, body) VALUES ('tx2', 'b')")
    return r.last_id
  end)
  return 200, { first = id, count = db.one("SELECT count(*) AS n FROM notes_items WHERE owner = 'tx2'").n }
end)
s:post("/tx-killed", function(req)
  db.transaction(function()
    db.exec("INSERT INTO notes_items (owner, body) VALUES ('killed', 'x')")
    while true do end
  end)
end)
s:get("/bad-sql", function(req)
  local ok, err = pcall(db.query, "SELECT nope FROM notes_items")
  return 200, { ok = ok, message = tostring(err) }
end)
s:get("/injection", function(req)
  local rows = db.query("SELECT id FROM notes_items WHERE owner = ?", "x' OR '1'='1")
  return 200, { count = #rows }
end)
return s
"""

@Suite("Lua db primitive")
struct LuaDatabaseTests {
    @Test func migrationsQueriesAndTransactions() async throws {
        let folder = try TestConfigFolder(files: [
            "routes/main.lua": "return { { prefix = \"/notes\", service = \"lua:notes\", timeout = 5 } }",
            "services/notes.lua": notesService,
        ])
        defer { folder.remove() }
        let store = try SQLiteStore(path: folder.path + "/data/test.sqlite")
        var primitives = LuaPrimitives()
        primitives.addDatabase(store)
        let gateway = try await TestGateway.start(
            configDirectory: folder.path, upstream: NoUpstream(), luaLimits: LuaLimits(instructionBudget: 5_000_000),
            luaPrimitives: primitives, store: store, logLevel: .critical)
        let created = try await gateway.request(.POST, "/notes", json: ["owner": "1", "body": "first", "rating": 4.5, "tag": "a"])
        #expect(created.json?["id"]?.intValue == 1)
        let fetched = try await gateway.request(.GET, "/notes/1")
        #expect(fetched.json?["body"]?.stringValue == "first")
        #expect(fetched.json?["rating"]?.doubleValue == 4.5)
        _ = try await gateway.request(.POST, "/notes", json: ["owner": "1", "body": "second"])
        let missingTag = try await gateway.request(.GET, "/notes/2")
        #expect(missingTag.json?["tag"] == .null)
        let list = try await gateway.request(.GET, "/notes?owner=1")
        #expect(list.json?["notes"]?.arrayValue?.count == 2)
        #expect(try await gateway.request(.GET, "/notes/99").status == 404)

        let failed = try await gateway.request(.POST, "/notes/tx-fail")
        #expect(failed.json?["ok"]?.boolValue == false)
        #expect(failed.json?["count"]?.intValue == 0)
        #expect(failed.json?["err_has_reason"]?.boolValue == true)
        let committed = try await gateway.request(.POST, "/notes/tx-ok")
        #expect(committed.json?["count"]?.intValue == 2)

        // A budget kill inside a transaction rolls it back and frees the writer.
        let killed = try await gateway.request(.POST, "/notes/tx-killed")
        #expect(killed.status == 500)
        #expect(try await store.one("SELECT count(*) AS n FROM notes_items WHERE owner = 'killed'")?.int("n") == 0)
        #expect(try await gateway.request(.POST, "/notes", json: ["owner": "3", "body": "after"]).status == 200)

        let badSQL = try await gateway.request(.GET, "/notes/bad-sql")
        #expect(badSQL.json?["ok"]?.boolValue == false)
        #expect(badSQL.json?["message"]?.stringValue?.contains("no such column") == true)
        #expect(try await gateway.request(.GET, "/notes/injection").json?["count"]?.intValue == 0)
        let versions = try await store.query("SELECT version FROM schema_migrations WHERE service = 'notes'")
        #expect(versions.count == 2)
        await gateway.stop()
    }
}

@Suite("Lua forms")
struct LuaFormTests {
    @Test func multipartAndURLEncodedForms() async throws {
        let service = """
        local s = service("forms")
        s:post("/", function(req)
          local f = req:form()
          local photo = f.photo
          return 200, { note = f.note, filename = photo and photo.filename or json.null,
                        content_type = photo and photo.content_type or json.null, size = photo and photo.size or 0,
                        first = photo and photo.body:byte(1) or 0 }
        end)
        return s
        """
        let folder = try TestConfigFolder(files: [
            "routes/main.lua": "return { { prefix = \"/forms\", service = \"lua:forms\" } }", "services/forms.lua": service,
        ])
        defer { folder.remove() }
        let gateway = try await TestGateway.start(configDirectory: folder.path, upstream: NoUpstream(), logLevel: .critical)
        let boundary = "XyZ123"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello form\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"rash.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += [0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF]
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        let multipart = try await gateway.request(.POST, "/forms", headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")], body: body)
        #expect(multipart.status == 200)
        #expect(multipart.json?["note"]?.stringValue == "hello form")
        #expect(multipart.json?["filename"]?.stringValue == "rash.png")
        #expect(multipart.json?["content_type"]?.stringValue == "image/png")
        #expect(multipart.json?["size"]?.intValue == 6)
        #expect(multipart.json?["first"]?.intValue == 0x89)
        let encoded = try await gateway.request(.POST, "/forms", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("note=a+b%21".utf8))
        #expect(encoded.json?["note"]?.stringValue == "a b!")
        let broken = try await gateway.request(.POST, "/forms", headers: [("Content-Type", "multipart/form-data; boundary=nope")], body: Array("garbage".utf8))
        #expect(broken.status == 400)
        #expect(broken.detail?.hasPrefix("Invalid multipart body") == true)
        let wrongType = try await gateway.request(.POST, "/forms", headers: [("Content-Type", "text/plain")], body: Array("x".utf8))
        #expect(wrongType.status == 415)
        await gateway.stop()
    }
}

@Suite("Lua groq primitive")
struct LuaGroqTests {
    static let service = """
    local s = service("ai")
    s:post("/", function(req)
      local body = req:json()
      local result, err = groq.chat{ messages = { { role = "system", content = "Be brief." }, { role = "user", content = body.text } },
                                     json = body.json, temperature = 0.2, timeout = 2 }
      if not result then return 503, { detail = "AI unavailable", reason = err } end
      return 200, { content = result.content, total = result.usage.total_tokens, configured = groq.configured() }
    end)
    return s
    """

    @Test func chatThroughAFakeGroq() async throws {
        let fake = try await FakeGroqServer.start()
        let folder = try TestConfigFolder(files: ["routes/main.lua": "return { { prefix = \"/ai\", service = \"lua:ai\" } }", "services/ai.lua": Self.service])
        defer { folder.remove() }
        var primitives = LuaPrimitives()
        primitives.addGroq(GroqClient(configuration: GroqConfiguration(apiKey: "test-key", baseURL: fake.baseURL, maxRetries: 1)))
        let gateway = try await TestGateway.start(configDirectory: folder.path, upstream: NoUpstream(), luaPrimitives: primitives, logLevel: .critical)
        fake.enqueue(.ok(content: "{\"answer\": 42}"))
        let ok = try await gateway.request(.POST, "/ai", json: ["text": "hello", "json": true])
        #expect(ok.status == 200)
        #expect(ok.json?["content"]?.stringValue == "{\"answer\": 42}")
        #expect(ok.json?["configured"]?.boolValue == true)
        let sent = try #require(fake.received.last)
        #expect(sent.json?["response_format"]?["type"]?.stringValue == "json_object")
        #expect(sent.json?["messages"]?.arrayValue?.count == 2)
        fake.enqueue(.malformed, .malformed)
        let broken = try await gateway.request(.POST, "/ai", json: ["text": "hello"])
        #expect(broken.status == 503)
        #expect(broken.json?["reason"]?.stringValue?.contains("malformed") == true)
        await gateway.stop()
        await fake.stop()
    }

    @Test func notConfiguredFailsFast() async throws {
        let folder = try TestConfigFolder(files: ["routes/main.lua": "return { { prefix = \"/ai\", service = \"lua:ai\" } }", "services/ai.lua": Self.service])
        defer { folder.remove() }
        var primitives = LuaPrimitives()
        primitives.addGroq(GroqClient(configuration: GroqConfiguration(apiKey: nil)))
        let gateway = try await TestGateway.start(configDirectory: folder.path, upstream: NoUpstream(), luaPrimitives: primitives, logLevel: .critical)
        let response = try await gateway.request(.POST, "/ai", json: ["text": "hello"])
        #expect(response.status == 503)
        #expect(response.json?["reason"]?.stringValue?.contains("not configured") == true)
        await gateway.stop()
    }
}

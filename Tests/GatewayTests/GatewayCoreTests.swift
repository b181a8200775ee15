import Foundation
@testable import Gateway
import ServiceKit
import Testing
import TestSupport

let basicRoutes = """
return {
  { prefix = "/echo-svc", service = "echo" },
  { path = "/alias", service = "echo", rewrite = "/echo", methods = { "GET" } },
  { path = "/things/{id}", service = "echo", rewrite = "/items/{id}" },
  { prefix = "/lua", service = "lua:hello" },
  { path = "/lua-alias", service = "lua:hello", rewrite = "/hello" },
  { prefix = "/short", service = "echo", timeout = 0.3 },
}
"""

let helloLua = """
local s = service("hello")
s:get("/hello", function(req)
  return 200, { message = "hello", path = req.path, q = req.query.name, id = req.request_id }
end, { summary = "Say hello" })
s:post("/echo", function(req)
  local body = req:json()
  return 201, { got = body, user = req.user and req.user.id or json.null }, { ["X-Lua"] = "yes" }
end)
s:get("/text", function(req) return 200, "plain text", { ["Content-Type"] = "text/plain" } end)
s:get("/boom", function(req) local t = nil; return 200, t.field end)
s:get("/items/{id}", function(req) return 200, { id = req.params.id } end)
s:get("/empty", function(req) return 200, json.array({}) end)
return s
"""

@Suite("Gateway core")
struct GatewayCoreTests {
    static func start(
        routes: String = basicRoutes, extra: [String: String] = [:], settings: GatewaySettings = .init()
    ) async throws -> (TestGateway, TestConfigFolder) {
        var files = ["routes/main.lua": routes, "services/hello.lua": helloLua]
        for (key, value) in extra { files[key] = value }
        let folder = try TestConfigFolder(files: files)
        let gateway = try await TestGateway.start(
            configDirectory: folder.path, services: [EchoService()], identity: FixedIdentity(), settings: settings, upstream: NoUpstream())
        return (gateway, folder)
    }

    @Test func unknownPathIs404WithRequestID() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let response = try await gateway.request(.GET, "/nope")
        #expect(response.status == 404)
        #expect(response.detail == "Not Found")
        let requestID = try #require(response.header("X-Request-ID"))
        #expect(response.json?["request_id"]?.stringValue == requestID)
        #expect(response.header("X-Content-Type-Options") == "nosniff")
        await gateway.stop()
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let response = try await gateway.request(.DELETE, "/echo-svc/echo")
        #expect(response.status == 405)
        #expect(response.detail == "Method Not Allowed")
        let allow = try #require(response.header("Allow"))
        #expect(allow.contains("GET") && allow.contains("POST") && allow.contains("HEAD"))
        let aliasWrong = try await gateway.request(.POST, "/alias")
        #expect(aliasWrong.status == 405)
        #expect(aliasWrong.header("Allow")?.contains("GET") == true)
        let options = try await gateway.request(.OPTIONS, "/echo-svc/echo")
        #expect(options.status == 204)
        #expect(options.header("Allow")?.contains("POST") == true)
        await gateway.stop()
    }

    @Test func swiftServiceSeesStrippedPathAndKeepsRequestID() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let response = try await gateway.request(.GET, "/echo-svc/echo/?a=1&b=two", headers: [("X-Request-ID", "client-id.42")])
        #expect(response.status == 200)
        #expect(response.json?["path"]?.stringValue == "/echo")
        #expect(response.json?["query"]?.stringValue == "a=1&b=two")
        #expect(response.header("X-Request-ID") == "client-id.42")
        #expect(response.json?["request_id"]?.stringValue == "client-id.42")
        let insane = try await gateway.request(.GET, "/echo-svc/echo", headers: [("X-Request-ID", "bad id with spaces")])
        #expect(insane.header("X-Request-ID") != "bad id with spaces")
        let generated = try #require(insane.header("X-Request-ID"))
        #expect(generated.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
        await gateway.stop()
    }

    @Test func aliasesRewriteThePathTheTargetSees() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let alias = try await gateway.request(.GET, "/alias")
        #expect(alias.status == 200)
        #expect(alias.json?["path"]?.stringValue == "/echo")
        let param = try await gateway.request(.GET, "/things/42")
        #expect(param.json?["path"]?.stringValue == "/items/42")
        #expect(param.json?["params"]?["id"]?.stringValue == "42")
        let literalBeatsParameter = try await gateway.request(.GET, "/echo-svc/items/special")
        #expect(literalBeatsParameter.json?["special"]?.boolValue == true)
        let luaAlias = try await gateway.request(.GET, "/lua-alias")
        #expect(luaAlias.json?["path"]?.stringValue == "/hello")
        await gateway.stop()
    }

    @Test func headReturnsHeadersWithoutBody() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let head = try await gateway.request(.HEAD, "/echo-svc/echo")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.header("Content-Type") == "application/json")
        await gateway.stop()
    }

    @Test func luaHandlersAnswerJSONTextAndHeaders() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let hello = try await gateway.request(.GET, "/lua/hello?name=asha")
        #expect(hello.status == 200)
        #expect(hello.json?["message"]?.stringValue == "hello")
        #expect(hello.json?["q"]?.stringValue == "asha")
        #expect(hello.json?["id"]?.stringValue == hello.header("X-Request-ID"))
        let posted = try await gateway.request(.POST, "/lua/echo", json: ["a": [1, 2, 3]])
        #expect(posted.status == 201)
        #expect(posted.header("X-Lua") == "yes")
        #expect(posted.json?["got"]?["a"] == [1, 2, 3])
        let text = try await gateway.request(.GET, "/lua/text")
        #expect(text.text == "plain text")
        #expect(text.header("Content-Type") == "text/plain")
        let item = try await gateway.request(.GET, "/lua/items/7")
        #expect(item.json?["id"]?.stringValue == "7")
        let empty = try await gateway.request(.GET, "/lua/empty")
        #expect(empty.text == "[]")
        let badJSON = try await gateway.request(.POST, "/lua/echo", headers: [("Content-Type", "application/json")], body: Array("{nope".utf8))
        #expect(badJSON.status == 400)
        #expect(badJSON.detail == "Invalid JSON body")
        await gateway.stop()
    }

    @Test func scriptAndHandlerErrorsAre500WithoutDetails() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let lua = try await gateway.request(.GET, "/lua/boom")
        #expect(lua.status == 500)
        #expect(lua.detail == "Internal Server Error")
        #expect(!lua.text.contains("hello.lua"))
        #expect(lua.json?["request_id"]?.stringValue == lua.header("X-Request-ID"))
        let swift = try await gateway.request(.GET, "/echo-svc/fail")
        #expect(swift.status == 500)
        #expect(swift.detail == "Internal Server Error")
        let teapot = try await gateway.request(.GET, "/echo-svc/teapot")
        #expect(teapot.status == 418)
        #expect(teapot.json?["hint"]?.stringValue == "tea")
        // The gateway keeps serving.
        #expect(try await gateway.request(.GET, "/lua/hello").status == 200)
        await gateway.stop()
    }

    @Test func slowSwiftHandlerTimesOutWith504() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let response = try await gateway.request(.GET, "/short/slow")
        #expect(response.status == 504)
        #expect(response.detail == "Service 'echo' timed out")
        await gateway.stop()
    }

    @Test func oversizedHeadersAre431() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let big = String(repeating: "a", count: 20 * 1024)
        let response = try await gateway.request(.GET, "/echo-svc/echo", headers: [("X-Big", big)])
        #expect(response.status == 431)
        #expect(response.detail == "Request header fields too large")
        let huge = String(repeating: "b", count: 100 * 1024)
        let parserLimit = try await gateway.request(.GET, "/echo-svc/echo", headers: [("X-Huge", huge)])
        #expect(parserLimit.status == 431)
        #expect(parserLimit.json?["request_id"] != nil)
        await gateway.stop()
    }

    @Test func gatewayEndpoints() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let root = try await gateway.request(.GET, "/")
        #expect(root.json?["message"]?.stringValue == "Welcome to MySehat Healthcare Gateway")
        #expect(root.json?["services"]?["echo"]?.stringValue == "/echo-svc/*")
        let health = try await gateway.request(.GET, "/health")
        #expect(health.status == 200)
        #expect(health.json?["status"]?.stringValue == "ok")
        #expect(health.json?["services"]?["hello"]?.stringValue == "healthy")
        #expect(health.json?["config"]?["generation"]?.intValue == 1)
        let services = try await gateway.request(.GET, "/services")
        let list = try #require(services.json?["services"]?.arrayValue)
        #expect(list.contains { $0["name"]?.stringValue == "hello" && $0["kind"]?.stringValue == "lua" })
        #expect(list.contains { $0["name"]?.stringValue == "echo" && $0["kind"]?.stringValue == "swift" && $0["gateway_prefix"]?.stringValue == "/echo-svc" })
        let openapi = try await gateway.request(.GET, "/openapi.json")
        #expect(openapi.json?["openapi"]?.stringValue == "3.1.0")
        let paths = try #require(openapi.json?["paths"]?.objectValue)
        #expect(paths["/echo-svc/echo"]?["get"] != nil)
        #expect(paths["/lua/hello"]?["get"]?["summary"]?.stringValue == "Say hello")
        #expect(paths["/alias"]?["get"]?["description"]?.stringValue?.contains("Alias of /echo-svc/echo") == true)
        let docs = try await gateway.request(.GET, "/docs")
        #expect(docs.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(docs.text.contains("/openapi.json"))
        #expect(!docs.text.contains("cdn"))
        #expect(docs.header("Content-Security-Policy") != nil)
        let wrongMethod = try await gateway.request(.POST, "/health")
        #expect(wrongMethod.status == 405)
        await gateway.stop()
    }

    @Test func corsAllowedDeniedAndPreflight() async throws {
        let cors = """
        return { origins = { "https://app.mysehat.in", "https://*.hospital.org" }, credentials = true, max_age = 600 }
        """
        let (gateway, folder) = try await Self.start(extra: ["policies/cors.lua": cors])
        defer { folder.remove() }
        let allowed = try await gateway.request(.GET, "/echo-svc/echo", headers: [("Origin", "https://app.mysehat.in")])
        #expect(allowed.header("Access-Control-Allow-Origin") == "https://app.mysehat.in")
        #expect(allowed.header("Access-Control-Allow-Credentials") == "true")
        #expect(allowed.header("Access-Control-Expose-Headers")?.contains("X-Request-ID") == true)
        #expect(allowed.header("Vary")?.contains("Origin") == true)
        let pattern = try await gateway.request(.GET, "/echo-svc/echo", headers: [("Origin", "https://north.hospital.org")])
        #expect(pattern.header("Access-Control-Allow-Origin") == "https://north.hospital.org")
        let denied = try await gateway.request(.GET, "/echo-svc/echo", headers: [("Origin", "https://evil.example")])
        #expect(denied.status == 200)
        #expect(denied.header("Access-Control-Allow-Origin") == nil)
        #expect(denied.header("Vary")?.contains("Origin") == true)
        let preflight = try await gateway.request(.OPTIONS, "/echo-svc/echo", headers: [
            ("Origin", "https://app.mysehat.in"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "Authorization, Content-Type"),
        ])
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Origin") == "https://app.mysehat.in")
        #expect(preflight.header("Access-Control-Allow-Headers") == "Authorization, Content-Type")
        #expect(preflight.header("Access-Control-Max-Age") == "600")
        let badPreflight = try await gateway.request(.OPTIONS, "/echo-svc/echo", headers: [
            ("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST"),
        ])
        #expect(badPreflight.status == 403)
        #expect(badPreflight.detail == "CORS origin not allowed")
        #expect(badPreflight.header("Access-Control-Allow-Origin") == nil)
        let badMethod = try await gateway.request(.OPTIONS, "/echo-svc/echo", headers: [
            ("Origin", "https://app.mysehat.in"), ("Access-Control-Request-Method", "TRACE"),
        ])
        #expect(badMethod.detail == "CORS method not allowed")
        await gateway.stop()
    }

    @Test func corsWildcardWithCredentialsIsRefusedAtLoad() async throws {
        let folder = try TestConfigFolder(files: [
            "routes/main.lua": basicRoutes, "services/hello.lua": helloLua,
            "policies/cors.lua": "return { origins = { \"*\" }, credentials = true }",
        ])
        defer { folder.remove() }
        await #expect(throws: ConfigError.self) {
            _ = try await TestGateway.start(configDirectory: folder.path, services: [EchoService()], upstream: NoUpstream())
        }
    }
}

@Suite("Malformed requests")
struct MalformedRequestTests {
    @Test func garbageGets400JSONWithRequestID() async throws {
        let folder = try TestConfigFolder(files: ["routes/main.lua": basicRoutes, "services/hello.lua": helloLua])
        defer { folder.remove() }
        let gateway = try await TestGateway.start(configDirectory: folder.path, services: [EchoService()], upstream: NoUpstream())
        let answer = try RawHTTP.exchange(port: gateway.port, bytes: Array("THIS IS NOT HTTP\r\n\r\n".utf8))
        #expect(answer.hasPrefix("HTTP/1.1 400"))
        #expect(answer.contains("\"detail\":\"Malformed HTTP request\""))
        #expect(answer.contains("\"request_id\":"))
        #expect(answer.lowercased().contains("x-request-id:"))
        let badHeader = try RawHTTP.exchange(port: gateway.port, bytes: Array("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n".utf8))
        #expect(badHeader.hasPrefix("HTTP/1.1 400"))
        // The gateway still serves afterwards.
        #expect(try await gateway.request(.GET, "/health").status == 200)
        await gateway.stop()
    }
}

@Suite("Access log formatting")
struct AccessLogFormattingTests {
    @Test func millisecondsAreRoundedToTenths() {
        func text(_ duration: Duration) -> String {
            var line: [UInt8] = []
            AccessLog.appendMilliseconds(duration, to: &line)
            return String(decoding: line, as: UTF8.self)
        }
        #expect(text(.zero) == "0.0")
        #expect(text(.microseconds(940)) == "0.9")
        #expect(text(.microseconds(950)) == "1.0")
        #expect(text(.milliseconds(12) + .microseconds(340)) == "12.3")
        #expect(text(.seconds(2) + .milliseconds(5)) == "2005.0")
    }

    @Test func controlCharactersCannotStartANewLine() {
        var line: [UInt8] = []
        AccessLog.appendPrintable("/a\nb\r\u{7F}c\tä", to: &line)
        #expect(String(decoding: line, as: UTF8.self) == "/a?b??c?ä")
    }
}

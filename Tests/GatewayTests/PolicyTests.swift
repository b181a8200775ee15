import Foundation
import Gateway
import ServiceKit
import Testing
import TestSupport

let policyFile = """
return {
  public = { auth = "none" },
  user = { auth = "jwt" },
  maybe = { auth = "optional" },
  admin = { auth = "jwt", roles = { "admin" } },
  consented = { auth = "jwt", consent = "ai_symptom_checker" },
  limited = { auth = "none", rate_limit = { per_minute = 3, key = "ip", message = "Slow down" } },
  per_user = { auth = "jwt", rate_limit = { per_minute = 2, key = "user" } },
  login = { auth = "none", rate_limit = { { per_minute = 2, key = "body.phone_number", message = "Too many login attempts. Try again later." } } },
  small = { auth = "none", max_body = "1KB" },
  hooked = {
    auth = "optional",
    access = function(req)
      if req.headers["x-block"] then return 403, { detail = "Blocked by policy", by = req.user and req.user.id or "anonymous" } end
    end,
  },
}
"""

let policyRoutes = """
return {
  { prefix = "/public", service = "echo", policy = "public" },
  { prefix = "/user", service = "echo", policy = "user" },
  { prefix = "/maybe", service = "echo", policy = "maybe" },
  { prefix = "/admin", service = "echo", policy = "admin" },
  { prefix = "/consented", service = "echo", policy = "consented" },
  { prefix = "/limited", service = "echo", policy = "limited" },
  { prefix = "/per-user", service = "echo", policy = "per_user" },
  { prefix = "/login", service = "echo", policy = "login" },
  { prefix = "/small", service = "echo", policy = "small" },
  { prefix = "/hooked", service = "echo", policy = "hooked" },
  { prefix = "/lua-user", service = "lua:whoami", policy = "user" },
}
"""

let whoamiLua = """
local s = service("whoami")
s:get("/", function(req)
  return 200, { user = req.user and req.user.id or json.null, spoof = req.headers["x-user-id"] or json.null,
                role_header = req.headers["x-user-role"] or json.null }
end)
return s
"""

@Suite("Policies")
struct PolicyTests {
    static func start() async throws -> (TestGateway, TestConfigFolder) {
        let folder = try TestConfigFolder(files: [
            "policies/main.lua": policyFile, "routes/main.lua": policyRoutes, "services/whoami.lua": whoamiLua,
        ])
        let gateway = try await TestGateway.start(
            configDirectory: folder.path, services: [EchoService()], identity: FixedIdentity(),
            consent: FixedConsent(granted: ["7:ai_symptom_checker"]), upstream: NoUpstream())
        return (gateway, folder)
    }

    @Test func authLevels() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let missing = try await gateway.request(.GET, "/user/echo")
        #expect(missing.status == 401)
        #expect(missing.detail == "Invalid or expired token")
        #expect(missing.header("WWW-Authenticate") == "Bearer")
        #expect(try await gateway.request(.GET, "/user/echo", headers: [("Authorization", "Bearer nope")]).status == 401)
        #expect(try await gateway.request(.GET, "/user/echo", headers: [("Authorization", "Basic dXNlcjpwYXNz")]).status == 401)
        #expect(try await gateway.request(.GET, "/user/echo", headers: [("Authorization", "Bearer ")]).status == 401)
        let lower = try await gateway.request(.GET, "/user/echo", headers: [("Authorization", "bearer   user:5:patient")])
        #expect(lower.status == 200)
        #expect(lower.json?["user"]?["id"]?.stringValue == "5")
        #expect(lower.header("Cache-Control") == "no-store")
        let upper = try await gateway.request(.GET, "/user/echo", headers: [("Authorization", "BEARER user:5:patient")])
        #expect(upper.status == 200)
        // Optional: anonymous works, a bad token does not.
        #expect(try await gateway.request(.GET, "/maybe/echo").json?["user"] == .null)
        #expect(try await gateway.request(.GET, "/maybe/echo", headers: [("Authorization", "Bearer bad")]).status == 401)
        // Public: a token is ignored, even a bad one.
        let pub = try await gateway.request(.GET, "/public/echo", headers: [("Authorization", "Bearer bad")])
        #expect(pub.status == 200)
        #expect(pub.json?["user"] == .null)
        await gateway.stop()
    }

    @Test func rolesAndConsent() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let patient = try await gateway.request(.GET, "/admin/echo", headers: [("Authorization", "Bearer user:5:patient")])
        #expect(patient.status == 403)
        #expect(patient.detail == "This endpoint requires one of the roles: admin")
        #expect(try await gateway.request(.GET, "/admin/echo", headers: [("Authorization", "Bearer user:1:admin")]).status == 200)
        let noConsent = try await gateway.request(.GET, "/consented/echo", headers: [("Authorization", "Bearer user:5:patient")])
        #expect(noConsent.status == 403)
        #expect(noConsent.detail == "Consent required: ai_symptom_checker has not been granted")
        #expect(noConsent.json?["required_consent"]?.stringValue == "ai_symptom_checker")
        #expect(try await gateway.request(.GET, "/consented/echo", headers: [("Authorization", "Bearer user:7:patient")]).status == 200)
        await gateway.stop()
    }

    @Test func spoofedIdentityHeadersNeverReachServices() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        let mismatch = try await gateway.request(.GET, "/user/echo", headers: [("Authorization", "Bearer user:5:patient"), ("X-User-Id", "6")])
        #expect(mismatch.status == 403)
        #expect(mismatch.detail == "X-User-Id header does not match the authenticated user")
        let same = try await gateway.request(.GET, "/user/echo", headers: [("Authorization", "Bearer user:5:patient"), ("X-User-ID", "5"), ("X-User-Role", "admin")])
        #expect(same.status == 200)
        let headers = try #require(same.json?["headers"]?.objectValue)
        #expect(headers["X-User-Id"] == nil && headers["x-user-id"] == nil && headers["X-User-ID"] == nil)
        #expect(headers["X-User-Role"] == nil && headers["x-user-role"] == nil)
        let anonymous = try await gateway.request(.GET, "/public/echo", headers: [("X-User-Id", "1"), ("X-User-Role", "admin")])
        #expect(anonymous.json?["headers"]?.objectValue?.keys.contains { $0.lowercased().hasPrefix("x-user") } == false)
        let lua = try await gateway.request(.GET, "/lua-user", headers: [("Authorization", "Bearer user:5:patient"), ("X-User-Id", "5"), ("X-User-Role", "admin")])
        #expect(lua.json?["user"]?.stringValue == "5")
        #expect(lua.json?["spoof"] == .null)
        #expect(lua.json?["role_header"] == .null)
        await gateway.stop()
    }

    @Test func rateLimits() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        var statuses: [Int] = []
        var last: TestResponse?
        for _ in 0..<4 {
            let response = try await gateway.request(.GET, "/limited/echo")
            statuses.append(response.status)
            last = response
        }
        #expect(statuses == [200, 200, 200, 429])
        let refused = try #require(last)
        #expect(refused.detail == "Slow down")
        #expect(Int(refused.header("Retry-After") ?? "") ?? 0 >= 1)
        #expect(refused.header("RateLimit-Limit") == "3")
        #expect(refused.header("RateLimit-Remaining") == "0")
        #expect(refused.header("RateLimit-Reset") != nil)
        // Per user: another user has their own bucket.
        for _ in 0..<2 { #expect(try await gateway.request(.GET, "/per-user/echo", headers: [("Authorization", "Bearer user:8:patient")]).status == 200) }
        #expect(try await gateway.request(.GET, "/per-user/echo", headers: [("Authorization", "Bearer user:8:patient")]).status == 429)
        #expect(try await gateway.request(.GET, "/per-user/echo", headers: [("Authorization", "Bearer user:9:patient")]).status == 200)
        // Per phone number from the body.
        for _ in 0..<2 { #expect(try await gateway.request(.POST, "/login/echo", json: ["phone_number": "9999999999"]).status == 200) }
        let login = try await gateway.request(.POST, "/login/echo", json: ["phone_number": "9999999999"])
        #expect(login.status == 429)
        #expect(login.detail == "Too many login attempts. Try again later.")
        let replayed = try await gateway.request(.POST, "/login/echo", json: ["phone_number": "8888888888"])
        #expect(replayed.status == 200)
        #expect(replayed.json?["body_length"]?.intValue == 29)
        await gateway.stop()
    }

    @Test func bodyLimits() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        #expect(try await gateway.request(.POST, "/small/echo", body: Array(repeating: 65, count: 500)).status == 200)
        let declared = try await gateway.request(.POST, "/small/echo", body: Array(repeating: 65, count: 5000))
        #expect(declared.status == 413)
        #expect(declared.detail == "Request body too large")
        let chunked = try await ChunkedUpload.send(url: gateway.baseURL + "/small/echo", chunks: 20, chunkSize: 512)
        #expect(chunked.status == 413)
        #expect(chunked.detail == "Request body too large")
        await gateway.stop()
    }

    @Test func accessHook() async throws {
        let (gateway, folder) = try await Self.start()
        defer { folder.remove() }
        #expect(try await gateway.request(.GET, "/hooked/echo").status == 200)
        let blocked = try await gateway.request(.GET, "/hooked/echo", headers: [("X-Block", "1"), ("Authorization", "Bearer user:4:patient")])
        #expect(blocked.status == 403)
        #expect(blocked.detail == "Blocked by policy")
        #expect(blocked.json?["by"]?.stringValue == "4")
        await gateway.stop()
    }
}

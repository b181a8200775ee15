import AsyncHTTPClient
import ConsentService
import Foundation
import Gateway
import HummingbirdCore
import Logging
import ServiceKit
import Store
import TestSupport
import Testing

@testable import AuthService

/// The auth service behind the real gateway, with the repository's routes and policies.
@Suite("Auth over HTTP")
struct HTTPTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func gatewayRoutesAuthWithItsPolicies() async throws {
        let auth = try await AuthHarness.make(start: false)
        defer { auth.remove() }
        // The repository's routes and policies; not its Lua services, which need the primitives
        // the composition root adds.
        let folder = try TestConfigFolder()
        defer { folder.remove() }
        for file in ["routes/mysehat.lua", "policies/mysehat.lua", "policies/cors.lua"] {
            try folder.write(file, try String(contentsOfFile: Self.repository + "/" + file, encoding: .utf8))
        }
        let gateway = try await TestGateway.start(
            configDirectory: folder.path, services: [auth.service], identity: auth.service.identityVerifier,
            consent: ConsentRecords(auth.store), upstream: UpstreamProxy(httpClient: .shared, logger: Logger(label: "test")))
        defer { Task { await gateway.stop() } }

        #expect(try await gateway.request(.GET, "/auth").json == ["status": "ok", "service": "auth_backend"])
        let signup = try await gateway.request(.POST, "/auth/signup", json: [
            "name": "Http User", "phone_number": "9000000600", "consents": AuthHarness.mandatoryConsents,
        ])
        #expect(signup.status == 201)
        let token = try #require(signup.json?["access_token"]?.stringValue)
        let me = try await gateway.request(.GET, "/auth/me", headers: [("Authorization", "bearer  \(token)")])
        #expect(me.status == 200 && me.json?["phone_number"] == "9000000600")

        let users = try await gateway.request(.GET, "/auth/users", headers: [("Authorization", "Bearer \(token)")])
        #expect(users.status == 403 && users.detail == "This endpoint requires one of the roles: admin")

        #expect(try await gateway.request(.POST, "/auth/logout", headers: [("Authorization", "Bearer \(token)")]).status == 200)
        let after = try await gateway.request(.GET, "/auth/me", headers: [("Authorization", "Bearer \(token)")])
        #expect(after.status == 401 && after.detail == "Invalid or expired token")
        #expect(try await gateway.request(.GET, "/auth/me").status == 401)

        // The per-phone login limit of the policy file: 5 a minute.
        var statuses: [Int] = []
        for _ in 0..<6 {
            statuses.append(try await gateway.request(.POST, "/auth/login", json: ["phone_number": "9000000600", "otp": "000001"]).status)
        }
        #expect(statuses == [401, 401, 401, 401, 401, 429])
        let limited = try await gateway.request(.POST, "/auth/login", json: ["phone_number": "9000000600", "otp": "123456"])
        #expect(limited.status == 429 && limited.detail == "Too many login attempts. Try again later.")
        #expect(try await gateway.request(.POST, "/auth/login", json: ["phone_number": "9000000601", "otp": "123456"]).status == 404)
    }

    @Test func webhookSenderPostsJSONAndFailsOnErrors() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sms-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for sub in ["routes", "policies"] { try FileManager.default.createDirectory(atPath: folder + "/" + sub, withIntermediateDirectories: true) }
        try #"return { { prefix = "/sms", service = "sink", policy = "public" } }"#.write(toFile: folder + "/routes/sink.lua", atomically: true, encoding: .utf8)
        try #"return { public = { auth = "none" } }"#.write(toFile: folder + "/policies/p.lua", atomically: true, encoding: .utf8)
        let sink = SMSSink()
        let gateway = try await TestGateway.start(
            configDirectory: folder, services: [sink], upstream: UpstreamProxy(httpClient: .shared, logger: Logger(label: "test")))
        defer { Task { await gateway.stop() } }

        let message = SMSMessage.otp(code: "048213", phoneNumber: "9999999999", requestID: "req-1")
        try await WebhookSMSSender(url: gateway.baseURL + "/sms/ok").send(message)
        let received = await sink.bodies
        #expect(received == [[
            "phone_number": "9999999999", "message": "Your MySehat code is 048213. It expires in 5 minutes.", "request_id": "req-1",
        ]])
        await #expect(throws: WebhookSMSSender.DeliveryFailed.self) {
            try await WebhookSMSSender(url: gateway.baseURL + "/sms/fail").send(message)
        }
        await #expect(throws: (any Error).self) {
            try await WebhookSMSSender(url: "http://127.0.0.1:1/sms", timeout: .seconds(2)).send(message)
        }
    }
}

/// Receives webhook posts.
final class SMSSink: Service {
    let name = "sink"
    let recorder = Recorder()

    actor Recorder {
        var bodies: [JSONValue] = []
        func add(_ body: JSONValue) { bodies.append(body) }
    }

    var bodies: [JSONValue] { get async { await recorder.bodies } }

    var routes: ServiceRoutes {
        var routes = ServiceRoutes()
        let recorder = self.recorder
        routes.post("/ok") { req in
            #expect(req.headers[.contentType] == "application/json")
            await recorder.add(try await req.jsonBody())
            return .json(["ok": true])
        }
        routes.post("/fail") { _ in throw ServiceError(.internalServerError, "down") }
        return routes
    }
}

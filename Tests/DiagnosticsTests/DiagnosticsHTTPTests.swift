import Foundation
import Gateway
import Groq
import ServiceKit
import Store
import Testing
import TestSupport

@testable import DiagnosticsService

/// The service behind the real gateway, with the project's own routes and policies: prefix
/// stripping, optional identity, consent, body limits and the upload route's 12 MiB limit.
@Suite struct DiagnosticsHTTPTests {
    static let asha = [("Authorization", "Bearer user:1:patient")]
    static let ravi = [("Authorization", "Bearer user:2:patient")]
    static let noConsent = [("Authorization", "Bearer user:3:patient")]

    /// The project's routing lines for the diagnostics service (the other services are not built in).
    static func diagnosticsRoutes(from routes: String) -> String {
        let lines = routes.split(separator: "\n").filter { $0.contains("service = \"diagnostics\"") && $0.hasPrefix("  {") }
        return "return {\n" + lines.joined(separator: "\n") + "\n}\n"
    }

    /// A running gateway and the files it uses; `stop()` removes everything.
    struct Running {
        let gateway: TestGateway
        let folder: TestConfigFolder
        let harness: ServiceHarness

        func stop() async {
            await gateway.stop()
            folder.remove()
        }
    }

    static func start(describer: (any ImageDescriber)? = nil) async throws -> Running {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var files: [String: String] = [:]
        for name in ["routes/mysehat.lua", "policies/mysehat.lua", "policies/cors.lua"] {
            files[name] = try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)
        }
        files["routes/mysehat.lua"] = diagnosticsRoutes(from: files["routes/mysehat.lua"] ?? "")
        #expect(files["routes/mysehat.lua"]?.contains("/diagnostics/api/v1/triage/image") == true)
        let folder = try TestConfigFolder(files: files)
        let harness = try await ServiceHarness(describer: describer)
        let gateway = try await TestGateway.start(
            configDirectory: folder.path, services: [harness.service], identity: FixedIdentity(),
            consent: FixedConsent(granted: ["1:ai_symptom_checker", "2:ai_symptom_checker"]), upstream: NoUpstream())
        return Running(gateway: gateway, folder: folder, harness: harness)
    }

    /// The header claim is the gateway's to check (it removes the header before any service).
    @Test func identityHeaderClaims() async throws {
        let running = try await Self.start()
        let gateway = running.gateway
        let signedIn = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", headers: Self.asha + [("X-User-Id", "2")], json: ["symptoms": "cough"])
        #expect(signedIn.status == 403)
        #expect(signedIn.detail == "X-User-Id header does not match the authenticated user")
        let anonymous = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", headers: [("X-User-Id", "1")], json: ["symptoms": "cough"])
        #expect(anonymous.status == 403)
        #expect(anonymous.detail == "X-User-Id header does not match the authenticated user")
        let matching = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", headers: Self.asha + [("X-User-Id", "1")], json: ["symptoms": "cough"])
        #expect(matching.status == 200)
        await running.stop()
    }

    @Test func publicEndpointsThroughThePrefix() async throws {
        let running = try await Self.start()
        let gateway = running.gateway
        let root = try await gateway.request(.GET, "/diagnostics/")
        #expect(root.status == 200)
        #expect(root.json?["message"] == "Welcome to MySehat Diagnostics Backend")
        #expect(try await gateway.request(.GET, "/diagnostics").status == 200)
        let health = try await gateway.request(.HEAD, "/diagnostics/health")
        #expect(health.status == 200 && health.body.isEmpty)
        #expect(try await gateway.request(.GET, "/diagnostics/api/v1/triage/disclaimer").json?["legal_basis"] == "DPDP Act 2023 - Transparency Requirement")
        #expect(try await gateway.request(.GET, "/diagnostics/api/v1/triage/nothing").status == 404)
        await running.stop()
    }

    @Test func anonymousAndOwnedFlows() async throws {
        let running = try await Self.start()
        let gateway = running.gateway
        let anonymous = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", json: ["symptoms": "I have a headache since morning"])
        #expect(anonymous.status == 200)
        #expect(anonymous.json?["next_question"]?["id"] == "q_headache_1")
        let anonymousID = try #require(anonymous.json?["session_id"]?.stringValue)
        let answered = try await gateway.request(.POST, "/diagnostics/api/v1/triage/session/\(anonymousID)/answer", json: ["answer": "now I also have chest pain"])
        #expect(answered.json?["final_output"]?["severity"] == "critical")

        let owned = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", headers: Self.asha, json: ["symptoms": "my knee hurts"])
        let ownedID = try #require(owned.json?["session_id"]?.stringValue)
        #expect(try await gateway.request(.GET, "/diagnostics/api/v1/triage/session/\(ownedID)", headers: Self.asha).status == 200)
        let other = try await gateway.request(.GET, "/diagnostics/api/v1/triage/session/\(ownedID)", headers: Self.ravi)
        #expect(other.status == 404 && other.detail == "Session not found")
        #expect(try await gateway.request(.DELETE, "/diagnostics/api/v1/triage/session/\(ownedID)").status == 404)
        #expect(try await gateway.request(.DELETE, "/diagnostics/api/v1/triage/session/\(ownedID)", headers: Self.asha).json?["message"] == "Session deleted successfully")

        // The gateway's policy: a bad token is 401, a missing consent 403 (reading needs none).
        let badToken = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", headers: [("Authorization", "Bearer nope")], json: ["symptoms": "x"])
        #expect(badToken.status == 401)
        let consent = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", headers: Self.noConsent, json: ["symptoms": "x"])
        #expect(consent.status == 403 && consent.json?["required_consent"] == "ai_symptom_checker")
        await running.stop()
    }

    @Test func badInputOverHTTP() async throws {
        let running = try await Self.start()
        let gateway = running.gateway
        let empty = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", json: ["symptoms": ""])
        #expect(empty.status == 422)
        #expect(empty.json?["detail"]?.arrayValue?.first?["type"] == "string_too_short")
        let huge = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", json: ["symptoms": .string(String(repeating: "a", count: 6000))])
        #expect(huge.json?["detail"]?.arrayValue?.first?["type"] == "string_too_long")
        let plain = try await gateway.request(.POST, "/diagnostics/api/v1/triage/text", headers: [("Content-Type", "text/plain")], body: Array("cough".utf8))
        #expect(plain.status == 415 && plain.detail == "Unsupported Media Type")
        let overLimit = try await gateway.request(
            .POST, "/diagnostics/api/v1/triage/text", headers: [("Content-Type", "application/json")],
            body: JSON.encode(["symptoms": .string(String(repeating: "a", count: 2 << 20))]))
        #expect(overLimit.status == 413)
        await running.stop()
    }

    @Test func imageUploadsUseTheUploadLimit() async throws {
        let observation = VisionObservation(findings: ["redness"], description: "A red patch.", model: "vision-test")
        let describer = ScriptedDescriber(answer: .observation(observation))
        let running = try await Self.start(describer: describer)
        let gateway = running.gateway
        func upload(_ image: [UInt8]) async throws -> TestResponse {
            var form = MultipartBuilder()
            form.file("file", filename: "photo.png", contentType: "image/png", image)
            return try await gateway.request(
                .POST, "/diagnostics/api/v1/triage/image", headers: [("Content-Type", form.contentType)], body: form.finished())
        }
        let twoMegabytes = try await upload(TestImages.png(extraChunkBytes: 2 << 20))  // over the 1 MiB JSON default
        #expect(twoMegabytes.status == 200)
        #expect(twoMegabytes.json?["next_question"]?["id"] == "q_continue_1")
        #expect(try await upload(TestImages.png(extraChunkBytes: 6 << 20)).detail == "Image size exceeds 5MB limit.")
        #expect(try await upload(TestImages.png(extraChunkBytes: 13 << 20)).status == 413)
        #expect(describer.received.count == 1)
        await running.stop()
    }

    /// The whole path: multipart upload through the gateway, preparation, the Groq client, and the
    /// `data:` URL the (fake) provider receives.
    @Test func photoReachesTheVisionModelAsAPreparedJPEG() async throws {
        let fake = try await FakeGroqServer.start()
        let client = GroqClient(configuration: GroqConfiguration(apiKey: "vision-key", baseURL: fake.baseURL, visionModel: "vision-test", maxRetries: 0))
        let running = try await Self.start(describer: GroqImageDescriber(client: client))
        fake.enqueue(.ok(content: GroqImageDescriberTests.observation))
        let png = EncodedImages.png(samples: EncodedImages.pattern(width: 2400, height: 1600).pixels, width: 2400, height: 1600, color: .rgb)
        var form = MultipartBuilder()
        form.file("file", filename: "photo.png", contentType: "image/png", png)
        let reply = try await running.gateway.request(
            .POST, "/diagnostics/api/v1/triage/image", headers: Self.asha + [("Content-Type", form.contentType)], body: form.finished())
        #expect(reply.status == 200)
        #expect(reply.json?["next_question"]?["id"] == "q_continue_1")

        let content = try #require(fake.received.last?.json?["messages"]?.arrayValue?.first?["content"]?.arrayValue)
        let urls = content.compactMap { $0["image_url"]?["url"]?.stringValue }
        let url = try #require(urls.first)
        let prefix = "data:image/jpeg;base64,"
        #expect(url.hasPrefix(prefix))
        let jpeg = try #require(Base64.decode(String(url.dropFirst(prefix.count))))
        #expect(jpeg.starts(with: [0xFF, 0xD8, 0xFF]))
        let image = try ImageCodec.decode(jpeg)
        #expect(image.width <= 1200)
        #expect((image.width, image.height) == (1200, 800))
        await running.stop()
        await fake.stop()
    }
}

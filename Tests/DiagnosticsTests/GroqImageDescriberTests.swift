import Groq
import ServiceKit
import Testing
import TestSupport

@testable import DiagnosticsService

/// The image path against a local fake of the Groq API (a real HTTP server).
@Suite struct GroqImageDescriberTests {
    static let observation = """
        {"body_part": "forearm", "observations": ["redness", "papules"], "description": "A red patch with small bumps.",
         "quality_flags": [], "vision_confidence": {"redness": 0.8}}
        """

    @Test func describesThroughTheVisionModel() async throws {
        let fake = try await FakeGroqServer.start()
        let client = GroqClient(configuration: GroqConfiguration(apiKey: "vision-key", baseURL: fake.baseURL, visionModel: "vision-test", maxRetries: 0))
        let h = try await ServiceHarness(describer: GroqImageDescriber(client: client))
        fake.enqueue(.ok(content: Self.observation))
        let reply = try await h.call(
            .post, ImageTriageTests.path, body: ImageTriageTests.upload().finished(), contentType: ImageTriageTests.upload().contentType,
            user: DiagnosticsServiceTests.asha, maxBodySize: 12 << 20)
        #expect(reply.status == .ok)
        #expect(reply["status"] == "needs_more_info")
        let sent = try #require(fake.received.last)
        #expect(sent.header("Authorization") == "Bearer vision-key")
        #expect(sent.json?["model"]?.stringValue == "vision-test")
        let content = try #require(sent.json?["messages"]?.arrayValue?.first?["content"]?.arrayValue)
        #expect(content.contains { $0["type"]?.stringValue == "image_url" && $0["image_url"]?["url"]?.stringValue?.hasPrefix("data:image/jpeg;base64,") == true })

        // A reply that is not an observation: 502, nothing stored.
        fake.enqueue(.ok(content: "I cannot help with that."))
        let unusable = try await h.call(
            .post, ImageTriageTests.path, body: ImageTriageTests.upload().finished(), contentType: ImageTriageTests.upload().contentType,
            maxBodySize: 12 << 20)
        #expect(unusable.status == .badGateway)
        // The provider failing: 503.
        fake.enqueue(.status(500, body: "{}", retryAfter: nil))
        let down = try await h.call(
            .post, ImageTriageTests.path, body: ImageTriageTests.upload().finished(), contentType: ImageTriageTests.upload().contentType,
            maxBodySize: 12 << 20)
        #expect(down.status == .serviceUnavailable)
        await fake.stop()
    }

    @Test func withoutKeyTheImageEndpointIs503() async throws {
        let h = try await ServiceHarness(describer: GroqImageDescriber(client: GroqClient(configuration: GroqConfiguration(apiKey: nil))))
        let reply = try await h.call(
            .post, ImageTriageTests.path, body: ImageTriageTests.upload().finished(), contentType: ImageTriageTests.upload().contentType,
            maxBodySize: 12 << 20)
        #expect(reply.status == .serviceUnavailable)
        #expect(reply.json == ["detail": "image analysis unavailable"])
    }
}

import HTTPTypes
import ServiceKit
import Store
import Testing

@testable import DiagnosticsService

/// `POST /api/v1/triage/image` (03-diagnostics §3.4), step by step.
@Suite struct ImageTriageTests {
    static let path = "/api/v1/triage/image"
    static let redness = VisionObservation(
        bodyPart: "forearm", findings: ["redness", "mild swelling", "papules"],
        description: "A patch of red, slightly raised skin with small bumps on the inner forearm.",
        confidence: [("redness", 0.86)], model: "vision-test")

    static func upload(_ image: [UInt8] = TestImages.png(), type: String? = "image/png", sessionID: String? = nil) -> MultipartBuilder {
        var form = MultipartBuilder()
        if let sessionID { form.field("session_id", sessionID) }
        form.file("file", filename: "photo", contentType: type, image)
        return form
    }

    func post(_ h: ServiceHarness, _ form: MultipartBuilder, user: VerifiedUser? = nil) async throws -> ServiceHarness.Reply {
        try await h.call(.post, Self.path, body: form.finished(), contentType: form.contentType, user: user, maxBodySize: 12 << 20)
    }

    @Test func withoutProviderAnswers503() async throws {
        for describer in [nil, ScriptedDescriber(configured: false, answer: .observation(Self.redness))] as [ScriptedDescriber?] {
            let h = try await ServiceHarness(describer: describer)
            let reply = try await post(h, Self.upload())
            #expect(reply.status == .serviceUnavailable)
            #expect(reply.json == ["detail": "image analysis unavailable"])
        }
        // Everything else still works.
        let h = try await ServiceHarness()
        #expect(try await h.call(.post, "/api/v1/triage/text", json: ["symptoms": "cough"]).status == .ok)
    }

    @Test func photoStartsSessionThenFinalizes() async throws {
        let describer = ScriptedDescriber(answer: .observation(Self.redness))
        let h = try await ServiceHarness(describer: describer)
        let reply = try await post(h, Self.upload(), user: DiagnosticsServiceTests.asha)
        #expect(reply.status == .ok)
        #expect(reply["status"] == "needs_more_info")
        #expect(reply["next_question"] == .object(QuestionCatalogue.continue1.json))
        // Prepared (§8.1): re-encoded as JPEG, the size kept (it is under 1200 px wide).
        #expect(describer.received.map(\.info) == [ImageInfo(format: .jpeg, width: 2, height: 2)])
        #expect(describer.received.first?.dataURL.hasPrefix("data:image/jpeg;base64,/9j/") == true)
        let id = try #require(reply["session_id"]?.stringValue)

        let stored = try await h.store.query("SELECT source, observation_data FROM triage_observations WHERE session_id = ?", [.text(id)])
        #expect(stored.count == 1 && stored[0].string("source") == "vision")
        #expect(try JSON.decode(stored[0].string("observation_data") ?? "")["vision_confidence"] == ["redness": 0.86])

        // Owned by the caller.
        #expect(try await h.call(.get, "/api/v1/triage/session/\(id)").status == .notFound)
        let done = try await h.call(.post, "/api/v1/triage/session/\(id)/answer", json: ["answer": "No, finalize now"], user: DiagnosticsServiceTests.asha)
        #expect(done["final_output"]?["summary"] == "Symptoms suggest a localized skin reaction.")
    }

    @Test func photoAddedToExistingSessionAndRedFlagInDescription() async throws {
        let burn = VisionObservation(findings: ["blisters"], description: "A severe burn across the palm.", model: "vision-test")
        let h = try await ServiceHarness(describer: ScriptedDescriber(answer: .observation(burn)))
        let id = try #require(try await h.call(.post, "/api/v1/triage/text", json: ["symptoms": "my hand hurts"])["session_id"]?.stringValue)
        let photo = try EncodedImages.jpeg(EncodedImages.pattern(width: 64, height: 48))
        let reply = try await post(h, Self.upload(photo, type: "image/jpg", sessionID: id))
        #expect(reply["session_id"] == .string(id))
        #expect(reply["final_output"]?["summary"] == "🚨 CRITICAL: EMERGENCY SYMPTOMS DETECTED")
        #expect(try await h.call(.get, "/api/v1/triage/session/\(id)")["status"] == "completed")
    }

    @Test func uploadChecksInOrder() async throws {
        let describer = ScriptedDescriber(answer: .observation(Self.redness))
        let h = try await ServiceHarness(describer: describer)
        let invalidType = ["detail": "Invalid file type. Allowed: image/jpeg, image/png, image/jpg, image/webp"] as JSONValue

        #expect(try await post(h, Self.upload(type: "application/pdf")).json == invalidType)
        #expect(try await post(h, Self.upload(type: nil)).json == invalidType)
        #expect(try await post(h, Self.upload(Array("not an image at all".utf8), type: "image/png")).json == invalidType)
        #expect(try await post(h, Self.upload([], type: "image/jpeg")).json == invalidType)

        let big = TestImages.png(extraChunkBytes: 5 * 1024 * 1024)
        #expect(try await post(h, Self.upload(big)).json == ["detail": "Image size exceeds 5MB limit."])

        var corrupt = TestImages.png()
        corrupt[corrupt.count - 20] ^= 0xFF  // breaks the IDAT checksum
        #expect(try await post(h, Self.upload(corrupt)).json == ["detail": "Invalid image file"])
        #expect(try await post(h, Self.upload(Array(TestImages.jpeg().dropLast(2)), type: "image/jpeg")).json == ["detail": "Invalid image file"])

        let unknown = try await post(h, Self.upload(sessionID: "00000000-0000-4000-8000-000000000000"))
        #expect(unknown.json == ["detail": "Session not found"])
        #expect(describer.received.isEmpty)  // no vision call for any of these
        #expect(try await h.store.query("SELECT id FROM triage_sessions").isEmpty)

        let webp = EncodedImages.webp(rgba: [UInt8](repeating: 200, count: 300 * 200 * 4), width: 300, height: 200, lossless: false)
        #expect(try await post(h, Self.upload(webp, type: "image/webp")).status == .ok)
        #expect(describer.received.map(\.info) == [ImageInfo(format: .jpeg, width: 300, height: 200)])
    }

    @Test func badMultipartBodies() async throws {
        let h = try await ServiceHarness(describer: ScriptedDescriber(answer: .observation(Self.redness)))
        let notMultipart = try await h.call(.post, Self.path, json: ["file": "x"])
        #expect(notMultipart.status == .unsupportedMediaType)

        var form = MultipartBuilder()
        form.field("session_id", "")
        let missingFile = try await post(h, form)
        #expect(missingFile.status == .unprocessableContent)
        #expect(missingFile.detail?.arrayValue?.first?["loc"] == ["body", "file"])

        let truncated = Array(Self.upload().finished().dropLast(30))
        let broken = try await h.call(.post, Self.path, body: truncated, contentType: form.contentType)
        #expect(broken.status == .badRequest)
        #expect(broken.detail?.stringValue?.hasPrefix("Invalid multipart body") == true)

        let noBoundary = try await h.call(.post, Self.path, body: Self.upload().finished(), contentType: "multipart/form-data")
        #expect(noBoundary.status == .badRequest)

        let tooLarge = try await h.call(.post, Self.path, body: Self.upload().finished(), contentType: form.contentType, maxBodySize: 100)
        #expect(tooLarge.status == .contentTooLarge)

        var claim = Self.upload()
        claim.field("user_id", "7")
        #expect(try await post(h, claim).status == .forbidden)
    }

    @Test func providerFailuresStoreNothing() async throws {
        for (error, status, detail) in [
            (ImageDescriptionError.unavailable("timed out"), HTTPResponse.Status.serviceUnavailable, "image analysis unavailable"),
            (.unusableReply("observations missing"), .badGateway, "Image analysis failed"),
        ] {
            let h = try await ServiceHarness(describer: ScriptedDescriber(answer: .failure(error)))
            let reply = try await post(h, Self.upload())
            #expect(reply.status == status)
            #expect(reply.json == ["detail": .string(detail)])
            #expect(try await h.store.query("SELECT id FROM triage_sessions").isEmpty)
        }
    }

    @Test(arguments: [
        (TestImages.png(width: 7, height: 3), ImageInfo(format: .png, width: 7, height: 3)),
        (TestImages.jpeg(width: 1600, height: 1200), ImageInfo(format: .jpeg, width: 1600, height: 1200)),
        (TestImages.webp(width: 16383, height: 1), ImageInfo(format: .webp, width: 16383, height: 1)),
    ])
    func inspectorReadsSizes(bytes: [UInt8], info: ImageInfo) {
        #expect(ImageInspector.inspect(bytes) == info)
    }

    @Test func inspectorRejectsTruncatedFiles() {
        for image in [TestImages.png(), TestImages.jpeg(), TestImages.webp()] {
            for cut in [1, image.count / 2, image.count - 12] {
                #expect(ImageInspector.inspect(Array(image.prefix(cut))) == nil, "cut at \(cut) of \(image.count)")
            }
        }
    }
}

import HTTPTypes
import ServiceKit
import Store
import Testing

@testable import DiagnosticsService

/// The service's endpoints through their route handlers, on a real SQLite file.
@Suite struct DiagnosticsServiceTests {
    static let asha = VerifiedUser(id: "1", role: "patient")
    static let ravi = VerifiedUser(id: "2", role: "patient")
    static let base = "/api/v1/triage"

    @Test func fixedEndpoints() async throws {
        let h = try await ServiceHarness()
        let root = try await h.call(.get, "/")
        #expect(root.status == .ok)
        #expect(root["message"] == "Welcome to MySehat Diagnostics Backend")
        #expect(root["ai_disclaimer"] == .string(TriageJSON.disclaimer))
        #expect(try await h.call(.get, "/health").json == ["status": "ok", "dpdp_compliant": true])
        let disclaimer = try await h.call(.get, "\(Self.base)/disclaimer")
        #expect(disclaimer["legal_basis"] == "DPDP Act 2023 - Transparency Requirement")
        #expect(disclaimer["data_usage"]?.stringValue?.hasPrefix("Typed symptoms are assessed by fixed rules") == true)
        #expect(await h.service.health() == .healthy)
    }

    // MARK: flows

    @Test func textQuestionAnswerFlowIsStored() async throws {
        let h = try await ServiceHarness()
        let first = try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "I have a headache since morning", "age": 34, "duration": "1 day"])
        #expect(first.status == .ok)
        #expect(first["status"] == "needs_more_info")
        #expect(first["final_output"] == .null)
        #expect(first["next_question"] == .object(QuestionCatalogue.headache1.json))
        let id = try #require(first["session_id"]?.stringValue)
        #expect(id.count == 36 && Array(id)[14] == "4")

        let collecting = try await h.call(.get, "\(Self.base)/session/\(id)")
        #expect(collecting["status"] == "collecting")
        #expect(collecting["language"] == "en")
        #expect(collecting["messages"]?.arrayValue?.map { $0["sender"] } == ["user", "ai"])
        #expect(collecting["messages"]?.arrayValue?.last?["content"] == "Is the headache throbbing, squeezing, or sharp?")

        let done = try await h.call(.post, "\(Self.base)/session/\(id)/answer", json: ["answer": "Throbbing"])
        #expect(done["status"] == "completed")
        #expect(done["next_question"] == .null)
        #expect(done["final_output"]?["summary"] == "Symptoms suggest a tension or stress-related headache.")

        let completed = try await h.call(.get, "\(Self.base)/session/\(id)")
        #expect(completed["status"] == "completed")
        #expect(completed["final_output"] == done["final_output"])
        let messages = try #require(completed["messages"]?.arrayValue)
        #expect(messages.map { $0["content"] } == ["I have a headache since morning", "Is the headache throbbing, squeezing, or sharp?", "Throbbing"])
        #expect(messages.allSatisfy { $0["session_id"] == .string(id) && Instant.parse($0["created_at"]?.stringValue ?? "") != nil })

        let stored = try #require(try await h.store.one("SELECT age, duration, severity FROM triage_sessions WHERE id = ?", [.text(id)]))
        #expect(stored.int("age") == 34 && stored.string("duration") == "1 day" && stored.string("severity") == nil)
    }

    @Test func emergencyAtFirstTextCompletesAtOnce() async throws {
        let h = try await ServiceHarness()
        let reply = try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "Crushing CHEST PAIN and sweating"])
        #expect(reply["status"] == "completed")
        #expect(reply["final_output"]?["severity"] == "critical")
        #expect(reply["final_output"]?["summary"] == "🚨 CRITICAL: POTENTIAL CARDIAC EMERGENCY DETECTED")
        let id = try #require(reply["session_id"]?.stringValue)
        #expect(try await h.call(.get, "\(Self.base)/session/\(id)")["messages"]?.arrayValue?.count == 1)  // no question stored
    }

    /// The reference read "no" inside "now" and finalised this as a headache.
    @Test func answerThatMentionsChestPainEscalates() async throws {
        let h = try await ServiceHarness()
        let id = try #require(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "I have a headache since morning"])["session_id"]?.stringValue)
        let reply = try await h.call(.post, "\(Self.base)/session/\(id)/answer", json: ["answer": "now I also have chest pain"])
        #expect(reply["status"] == "completed")
        #expect(reply["final_output"]?["summary"] == "🚨 CRITICAL: POTENTIAL CARDIAC EMERGENCY DETECTED")
    }

    @Test func sessionTextChecksRedFlagsAndUpdatesDetails() async throws {
        let h = try await ServiceHarness()
        let id = try #require(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "sore knee"])["session_id"]?.stringValue)
        let more = try await h.call(.post, "\(Self.base)/session/\(id)/text", json: ["symptoms": "it is a bit swollen", "severity": "mild", "age": 40])
        #expect(more["status"] == "needs_more_info")
        #expect(more["next_question"]?["id"] == "q_continue_1")
        let stored = try #require(try await h.store.one("SELECT age, duration, severity FROM triage_sessions WHERE id = ?", [.text(id)]))
        #expect(stored.int("age") == 40 && stored.string("severity") == "mild")

        let worse = try await h.call(.post, "\(Self.base)/session/\(id)/text", json: ["symptoms": "and now I feel like I want to die"])
        #expect(worse["final_output"]?["summary"] == "🚨 CRISIS SUPPORT NEEDED - You are not alone")
        #expect(try await h.call(.get, "\(Self.base)/session/\(id)")["status"] == "completed")

        // A later response without a final output puts the session back to collecting, keeping the output.
        _ = try await h.call(.post, "\(Self.base)/session/\(id)/answer", json: ["answer": "Yes, add symptoms in text"])
        let view = try await h.call(.get, "\(Self.base)/session/\(id)")
        #expect(view["final_output"]?["severity"] == "critical")
    }

    // MARK: ownership

    @Test func ownedSessionIsInvisibleToOthers() async throws {
        let h = try await ServiceHarness()
        let id = try #require(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "cough"], user: Self.asha)["session_id"]?.stringValue)
        for user in [nil, Self.ravi] as [VerifiedUser?] {
            for (method, path, json) in [
                (HTTPRequest.Method.get, "\(Self.base)/session/\(id)", nil),
                (.post, "\(Self.base)/session/\(id)/answer", ["answer": "no"]),
                (.post, "\(Self.base)/session/\(id)/text", ["symptoms": "more"]),
                (.delete, "\(Self.base)/session/\(id)", nil),
            ] as [(HTTPRequest.Method, String, JSONValue?)] {
                let reply = try await h.call(method, path, json: json, user: user)
                #expect(reply.status == .notFound, "\(method) \(path) as \(user?.id ?? "anonymous")")
                #expect(reply.json == ["detail": "Session not found"])
            }
        }
        // Nothing the others sent was stored.
        #expect(try await h.call(.get, "\(Self.base)/session/\(id)", user: Self.asha)["messages"]?.arrayValue?.count == 2)
        let deleted = try await h.call(.delete, "\(Self.base)/session/\(id)", user: Self.asha)
        #expect(deleted.json == ["message": "Session deleted successfully", "session_id": .string(id), "dpdp_compliant": true])
        #expect(try await h.call(.get, "\(Self.base)/session/\(id)", user: Self.asha).status == .notFound)
        #expect(try await h.store.query("SELECT id FROM triage_messages WHERE session_id = ?", [.text(id)]).isEmpty)
    }

    @Test func anonymousSessionIsKeyedByIdAndExpires() async throws {
        let h = try await ServiceHarness()
        let id = try #require(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "rash"])["session_id"]?.stringValue)
        let owned = try #require(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "rash"], user: Self.asha)["session_id"]?.stringValue)
        #expect(try await h.call(.get, "\(Self.base)/session/\(id)").status == .ok)
        #expect(try await h.call(.get, "\(Self.base)/session/\(id)", user: Self.ravi).status == .ok)  // the id is the key
        #expect(try await h.call(.get, "\(Self.base)/session/00000000-0000-4000-8000-000000000000").status == .notFound)

        h.advance(milliseconds: 23 * 3600 * 1000)
        _ = try await h.call(.post, "\(Self.base)/session/\(id)/answer", json: ["answer": "itchy"])  // a change restarts the 24 h
        h.advance(milliseconds: 23 * 3600 * 1000)
        #expect(try await h.call(.get, "\(Self.base)/session/\(id)").status == .ok)
        h.advance(milliseconds: 1 * 3600 * 1000 + 1)
        #expect(try await h.call(.get, "\(Self.base)/session/\(id)").status == .notFound)
        #expect(try await h.call(.get, "\(Self.base)/session/\(owned)", user: Self.asha).status == .ok)  // owned: kept

        // The next new session purges the expired rows.
        _ = try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "cough"])
        #expect(try await h.store.query("SELECT id FROM triage_sessions WHERE id = ?", [.text(id)]).isEmpty)
        #expect(try await h.store.query("SELECT id FROM triage_messages WHERE session_id = ?", [.text(id)]).isEmpty)
    }

    @Test func identityClaims() async throws {
        let h = try await ServiceHarness()
        let anonymousClaim = try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "cough", "user_id": "1"])
        #expect(anonymousClaim.status == .forbidden)
        #expect(anonymousClaim.json == ["detail": "user_id does not match the authenticated user"])
        #expect(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "cough", "user_id": "2"], user: Self.asha).status == .forbidden)
        #expect(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "cough", "user_id": 1], user: Self.asha).status == .ok)
        #expect(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "cough", "user_id": ""]).status == .ok)  // empty = absent
        // The X-User-Id header is checked by the gateway before the service runs (DiagnosticsHTTPTests).
        let id = try #require(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "cough"], user: Self.asha)["session_id"]?.stringValue)
        #expect(try await h.call(.delete, "\(Self.base)/session/\(id)?user_id=2", user: Self.asha).status == .forbidden)
        #expect(try await h.call(.delete, "\(Self.base)/session/\(id)?user_id=1", user: Self.asha).status == .ok)
    }

    // MARK: bad input

    @Test func emptyMissingHugeAndMistypedFieldsAreListed() async throws {
        let h = try await ServiceHarness()
        func issues(_ json: JSONValue) async throws -> [(type: String, loc: JSONValue)] {
            let reply = try await h.call(.post, "\(Self.base)/text", json: json)
            #expect(reply.status == .unprocessableContent)
            return (reply.detail?.arrayValue ?? []).map { ($0["type"]?.stringValue ?? "", $0["loc"] ?? .null) }
        }
        #expect(try await issues(["symptoms": ""]).map(\.type) == ["string_too_short"])
        #expect(try await issues([:]).map(\.type) == ["missing"])
        #expect(try await issues(["symptoms": .string(String(repeating: "a", count: 5001))]).map(\.type) == ["string_too_long"])
        #expect(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": .string(String(repeating: "é", count: 5000))]).status == .ok)
        let many = try await issues(["symptoms": 12, "age": 131, "duration": .string(String(repeating: "d", count: 101)), "severity": ["x"]])
        #expect(many.map(\.type) == ["string_type", "less_than_equal", "string_too_long", "string_type"])
        #expect(many.map(\.loc) == [["body", "symptoms"], ["body", "age"], ["body", "duration"], ["body", "severity"]])
        #expect(try await issues(["symptoms": "x", "age": "abc"]).map(\.type) == ["int_parsing"])
        #expect(try await issues(["symptoms": "x", "age": -1]).map(\.type) == ["greater_than_equal"])
        #expect(try await issues(["symptoms": "x", "age": 2.5]).map(\.type) == ["int_type"])
        #expect(try await issues(["one", "two"]).map(\.type) == ["model_attributes_type"])
        #expect(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "x", "age": "42", "duration": nil]).status == .ok)

        let badJSON = try await h.call(.post, "\(Self.base)/text", body: Array(#"{"symptoms": "#.utf8), contentType: "application/json")
        #expect(badJSON.detail?.arrayValue?.first?["type"] == "json_invalid")
        let wrongType = try await h.call(.post, "\(Self.base)/text", body: Array("symptoms=cough".utf8), contentType: "application/x-www-form-urlencoded")
        #expect(wrongType.status == .unsupportedMediaType)
        let tooLarge = try await h.call(.post, "\(Self.base)/text", json: ["symptoms": .string(String(repeating: "a", count: 2000))], maxBodySize: 1000)
        #expect(tooLarge.status == .contentTooLarge)
        #expect(try await h.store.query("SELECT id FROM triage_sessions").count == 2)  // only the two valid requests
    }

    @Test func badAnswers() async throws {
        let h = try await ServiceHarness()
        let id = try #require(try await h.call(.post, "\(Self.base)/text", json: ["symptoms": "cough"])["session_id"]?.stringValue)
        #expect(try await h.call(.post, "\(Self.base)/session/\(id)/answer", json: ["answer": ""]).status == .unprocessableContent)
        #expect(try await h.call(.post, "\(Self.base)/session/\(id)/answer", json: ["answer": .string(String(repeating: "a", count: 2001))]).status == .unprocessableContent)
        #expect(try await h.call(.post, "\(Self.base)/session/\(id)/answer", json: [:]).detail?.arrayValue?.first?["loc"] == ["body", "answer"])
        let unknown = try await h.call(.post, "\(Self.base)/session/not-a-session/answer", json: ["answer": "no"])
        #expect(unknown.json == ["detail": "Session not found"])
        #expect(try await h.call(.get, "\(Self.base)/session/\(id)")["messages"]?.arrayValue?.count == 2)
    }
}

/// Export and erasure of a user's sessions (03-diagnostics §9), ready for the consent service.
@Suite struct TriageUserDataTests {
    @Test func exportListsOwnedSessionsAndEraseRemovesThem() async throws {
        let observation = VisionObservation(bodyPart: "hand", findings: ["scab"], description: "A small scab.", model: "vision-test")
        let h = try await ServiceHarness(describer: ScriptedDescriber(answer: .observation(observation)))
        let asha = DiagnosticsServiceTests.asha
        let first = try #require(try await h.call(.post, "/api/v1/triage/text", json: ["symptoms": "cough", "age": 30], user: asha)["session_id"]?.stringValue)
        var form = MultipartBuilder()
        form.field("session_id", first)
        form.file("file", filename: "p.png", contentType: "image/png", TestImages.png())
        #expect(try await h.call(.post, "/api/v1/triage/image", body: form.finished(), contentType: form.contentType, user: asha).status == .ok)
        let second = try #require(try await h.call(.post, "/api/v1/triage/text", json: ["symptoms": "rash"], user: asha)["session_id"]?.stringValue)
        let others = try #require(try await h.call(.post, "/api/v1/triage/text", json: ["symptoms": "rash"], user: DiagnosticsServiceTests.ravi)["session_id"]?.stringValue)
        let anonymous = try #require(try await h.call(.post, "/api/v1/triage/text", json: ["symptoms": "rash"])["session_id"]?.stringValue)

        let exported = try #require(try await h.service.exportUserData(userID: "1").arrayValue)
        #expect(exported.map { $0["id"] } == [.string(first), .string(second)])
        let session = try #require(exported.first?.objectValue)
        #expect(session.keys == ["id", "status", "language", "created_at", "updated_at", "age", "duration", "severity", "messages", "observations", "final_output"])
        #expect(session["age"] == 30 && session["duration"] == .null)
        #expect(session["messages"]?.arrayValue?.count == 2)
        let stored = try #require(session["observations"]?.arrayValue?.first)
        #expect(stored["source"] == "vision")
        #expect(stored["observation_data"]?["body_part"] == "hand")

        #expect(try await h.service.eraseUserData(userID: "1") == 2)
        #expect(try await h.service.exportUserData(userID: "1") == [])
        for id in [first, second] {
            #expect(try await h.store.query("SELECT id FROM triage_messages WHERE session_id = ?", [.text(id)]).isEmpty)
            #expect(try await h.store.query("SELECT id FROM triage_observations WHERE session_id = ?", [.text(id)]).isEmpty)
        }
        #expect(try await h.call(.get, "/api/v1/triage/session/\(others)", user: DiagnosticsServiceTests.ravi).status == .ok)
        #expect(try await h.call(.get, "/api/v1/triage/session/\(anonymous)").status == .ok)
    }
}

/// Audit rows (03-diagnostics §9): owned sessions only.
@Suite struct TriageAuditTests {
    @Test func ownedSessionsAreAuditedAnonymousOnesAreNot() async throws {
        let observation = VisionObservation(findings: ["scab"], description: "A scab.", model: "vision-test")
        let h = try await ServiceHarness(describer: ScriptedDescriber(answer: .observation(observation)))
        let asha = DiagnosticsServiceTests.asha
        let anonymous = try #require(try await h.call(.post, "/api/v1/triage/text", json: ["symptoms": "cough"])["session_id"]?.stringValue)
        _ = try await h.call(.post, "/api/v1/triage/session/\(anonymous)/answer", json: ["answer": "dry"], user: asha)  // anonymous session
        #expect(h.audit.events.isEmpty)

        let id = try #require(try await h.call(.post, "/api/v1/triage/text", json: ["symptoms": "cough"], user: asha)["session_id"]?.stringValue)
        _ = try await h.call(.post, "/api/v1/triage/session/\(id)/answer", json: ["answer": "dry"], user: asha)
        _ = try await h.call(.post, "/api/v1/triage/session/\(id)/text", json: ["symptoms": "also tired"], user: asha)
        var form = MultipartBuilder()
        form.field("session_id", id)
        let png = TestImages.png()
        form.file("file", filename: "p.png", contentType: "image/png", png)
        _ = try await h.call(.post, "/api/v1/triage/image", body: form.finished(), contentType: form.contentType, user: asha)
        _ = try await h.call(.get, "/api/v1/triage/session/\(id)", user: asha)
        _ = try await h.call(.get, "/api/v1/triage/session/\(id)", user: DiagnosticsServiceTests.ravi)  // 404: nothing read
        _ = try await h.call(.delete, "/api/v1/triage/session/\(id)", user: asha)

        let events = h.audit.events
        #expect(events.map(\.action) == ["write", "write", "write", "ai_analysis", "read", "delete"])
        #expect(events.map(\.purpose) == ["ai_symptom_checker", "ai_symptom_checker", "ai_symptom_checker", "ai_symptom_checker", "self", "self"])
        #expect(events.allSatisfy { $0.service == "diagnostics" && $0.resourceType == "triage_session" && $0.resourceID == id })
        #expect(events.allSatisfy { $0.userID == "1" && $0.actorID == "1" && $0.requestID == "test" })
        // The size of the upload, not of the JPEG prepared from it.
        #expect(events[3].details == ["model": "vision-test", "image_bytes": .int(Int64(png.count))])
    }
}

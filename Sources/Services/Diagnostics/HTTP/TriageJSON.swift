import ServiceKit

/// The JSON shapes of 03-diagnostics §2 and the fixed texts of §3.
enum TriageJSON {
    static let disclaimer = "MySehat's symptom checker gives general health information only. It does not diagnose conditions or replace a doctor. If you think you have an emergency, call 112 now."

    static let root: JSONObject = [
        "message": "Welcome to MySehat Diagnostics Backend", "dpdp_compliant": true, "ai_disclaimer": .string(disclaimer),
    ]

    static let health: JSONObject = ["status": "ok", "dpdp_compliant": true]

    static let disclaimerPage: JSONObject = [
        "disclaimer": .string(disclaimer),
        "legal_basis": "DPDP Act 2023 - Transparency Requirement",
        "data_usage": "Typed symptoms are assessed by fixed rules inside MySehat. Photos are described by an AI vision model when that feature is enabled. Your data is not used to train AI models.",
    ]

    /// TriageResponse (§2.5).
    static func response(_ result: TriageResult) -> JSONObject {
        [
            "session_id": .string(result.sessionID),
            "status": result.step.output == nil ? "needs_more_info" : "completed",
            "next_question": result.step.question.map { .object($0.json) } ?? .null,
            "final_output": result.step.output.map { .object($0.json) } ?? .null,
        ]
    }

    /// SessionResponse (§2.6).
    static func session(_ view: TriageSessionView) -> JSONObject {
        sessionObject(view, details: [:], observations: nil)
    }

    /// A session as the user's data export lists it (§9): the session response plus the stored
    /// details and photo observations.
    static func export(_ view: TriageSessionView) -> JSONObject {
        let session = view.session
        let details: JSONObject = [
            "age": JSONValue(session.age), "duration": JSONValue(session.duration), "severity": JSONValue(session.severity),
        ]
        let observations = JSONValue.array(view.observations.map { observation in
            [
                "id": .int(observation.id), "source": .string(observation.source), "observation_data": observation.data,
                "created_at": .string(Instant.format(milliseconds: observation.createdMs)),
            ]
        })
        return sessionObject(view, details: details, observations: observations)
    }

    private static func sessionObject(_ view: TriageSessionView, details: JSONObject, observations: JSONValue?) -> JSONObject {
        let session = view.session
        var object: JSONObject = [
            "id": .string(session.id),
            "status": .string(session.status),
            "language": "en",
            "created_at": .string(Instant.format(milliseconds: session.createdMs)),
            "updated_at": .string(Instant.format(milliseconds: session.updatedMs)),
        ]
        for (key, value) in details { object[key] = value }
        object["messages"] = messages(view)
        if let observations { object["observations"] = observations }
        object["final_output"] = session.finalOutput ?? .null
        return object
    }

    private static func messages(_ view: TriageSessionView) -> JSONValue {
        .array(view.messages.map { message in
            [
                "id": .int(message.id), "session_id": .string(view.session.id), "sender": .string(message.sender),
                "content": .string(message.content), "created_at": .string(Instant.format(milliseconds: message.createdMs)),
            ]
        })
    }

    static func deleted(_ sessionID: String) -> JSONObject {
        ["message": "Session deleted successfully", "session_id": .string(sessionID), "dpdp_compliant": true]
    }
}

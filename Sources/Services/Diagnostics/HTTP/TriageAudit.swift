import ServiceKit

/// Audit rows of 03-diagnostics §9: owned sessions only (anonymous triage is not audited), with
/// purpose `ai_symptom_checker` for processing and `self` for reading and deleting.
struct TriageAudit: Sendable {
    let sink: (any AuditSink)?

    enum Action: String {
        case write, read, delete
        case aiAnalysis = "ai_analysis"

        var purpose: String { self == .read || self == .delete ? "self" : "ai_symptom_checker" }
    }

    func record(_ action: Action, _ request: ServiceRequest, sessionID: String, owner: String?, details: JSONObject? = nil) async throws {
        guard let sink, let owner else { return }
        try await sink.record(.by(
            request, service: "diagnostics", action: action.rawValue, resourceType: "triage_session", resourceID: sessionID,
            subject: owner, purpose: action.purpose, details: details))
    }
}

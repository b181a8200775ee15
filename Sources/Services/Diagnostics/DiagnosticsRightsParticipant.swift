import ServiceKit
import Store

/// Triage sessions in the user's export (`data.diagnostics.triage_sessions`) and erasure (03 §9).
public struct DiagnosticsRightsParticipant: DataRightsParticipant {
    public let dataKey = "diagnostics"
    let sessions: TriageSessions

    public func exportData(userID: String, from executor: any DatabaseExecutor) async throws -> JSONValue {
        let views = try await sessions.ownedSessions(ownerID: userID, on: executor)
        return ["triage_sessions": .array(views.map { .object(TriageJSON.export($0)) })]
    }

    public func eraseData(userID: String, in transaction: any StoreTransaction) async throws -> Int {
        try await sessions.eraseOwnedSessions(ownerID: userID, on: transaction)
    }
}

extension DiagnosticsService {
    /// This service's part in export and erasure.
    public var rightsParticipant: DiagnosticsRightsParticipant { DiagnosticsRightsParticipant(sessions: sessions) }
}

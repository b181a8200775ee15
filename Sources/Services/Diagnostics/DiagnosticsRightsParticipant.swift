import ServiceKit
import Store

/// The diagnostics service's part of the user's rights (03 §9; 02 §4.5, §4.6): the triage
/// sessions the user owns, with their messages and observations. Anonymous sessions belong to
/// no one and are not part of it.
public struct DiagnosticsRightsParticipant: DataRightsParticipant {
    public let dataKey = "diagnostics"
    let sessions: TriageSessions

    public func exportData(userID: String, from executor: any DatabaseExecutor) async throws -> JSONValue {
        ["triage_sessions": .array(try await sessions.ownedSessions(ownerID: userID, on: executor).map { .object(TriageJSON.export($0)) })]
    }

    public func eraseData(userID: String, in transaction: any StoreTransaction) async throws -> Int {
        try await sessions.eraseOwnedSessions(ownerID: userID, on: transaction)
    }
}

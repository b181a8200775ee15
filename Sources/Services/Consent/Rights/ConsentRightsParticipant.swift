import ServiceKit
import Store

/// The consent records' part of the user's rights: exported as consent objects, erased with the
/// account (emergency overrides included).
struct ConsentRightsParticipant: DataRightsParticipant {
    let dataKey = "consents"
    let audit: AuditLog

    func exportData(userID: String, from executor: any DatabaseExecutor) async throws -> JSONValue {
        let records = try await ConsentRecords(executor, audit: audit).records(userID: userID)
        return .array(records.sorted(by: ConsentRecord.newestFirst).map { .object($0.json) })
    }

    func eraseData(userID: String, in transaction: any StoreTransaction) async throws -> Int {
        try await ConsentRecords(transaction).deleteAll(userID: userID)
    }
}

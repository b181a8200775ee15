import Logging
import ServiceKit
import Store

/// The rights of access and erasure across every service (02 §4.5, §4.6): the consent records
/// and correction requests of this service plus whatever the registry's participants hold.
struct DataRights: Sendable {
    let store: any Store
    let audit: AuditLog
    let registry: DataRightsRegistry
    let logger: Logger

    /// Consents first (the spec's first erasure step), correction requests last.
    var participants: [any DataRightsParticipant] {
        [ConsentRightsParticipant(audit: audit)] + registry.participants + [CorrectionRequests()]
    }

    /// Everything held about the user: the `data` object of the export. The audit rows are read
    /// first, so the export's own row is not among them.
    func export(userID: String) async throws -> JSONObject {
        var parts: [(key: String, value: JSONValue)] = [
            ("audit_logs", .array(try await AuditTrail(db: store).rows(subject: userID)))
        ]
        for participant in participants {
            do {
                parts.append((participant.dataKey, try await participant.exportData(userID: userID, from: store)))
            } catch {
                logger.error("export failed", metadata: ["part": .string(participant.dataKey), "error": .string("\(error)")])
                throw error
            }
        }
        return RightsLayout.ordered(parts, fixed: RightsLayout.exportDefaults, last: [])
    }

    struct Erasure: Sendable {
        /// Records deleted per part, in the layout of `records_deleted`.
        let recordsDeleted: JSONObject
        let consentsRemoved: Int
    }

    /// Deletes the user's data in every participant, pseudonymises the audit log and writes the
    /// `data_erasure` row (subject: the pseudonym), all in one transaction: it commits whole or
    /// not at all. `event` makes that row for the pseudonym.
    func erase(userID: String, event: @Sendable (_ pseudonym: String, _ recordsDeleted: JSONObject) -> AuditEvent) async throws -> Erasure {
        let participants = self.participants
        let transaction = try await store.begin()
        do {
            var counts: [(key: String, value: JSONValue)] = []
            for participant in participants {
                counts.append((participant.erasureKey, .int(Int64(try await participant.eraseData(userID: userID, in: transaction)))))
            }
            let recordsDeleted = RightsLayout.ordered(counts, fixed: RightsLayout.erasureKeys.map { (key: $0, empty: JSONValue.int(0)) }, last: 0)
            let pseudonym = try await audit.pseudonymise(userID: userID, in: transaction)
            try await audit.record(event(pseudonym, recordsDeleted), in: transaction)
            try await transaction.commit()
            return Erasure(recordsDeleted: recordsDeleted, consentsRemoved: recordsDeleted["consents"]?.intValue ?? 0)
        } catch {
            await transaction.rollback()
            logger.error("erasure rolled back", metadata: ["error": .string("\(error)")])
            throw ServiceError.internalError
        }
    }
}

import HummingbirdCore
import ServiceKit
import Store

/// The rights of access, erasure and correction (02 §4.5–§4.7), on the caller's own data.
struct RightsEndpoints {
    let context: ConsentContext

    func register(in routes: inout ServiceRoutes) {
        let tags = ["consent", "rights"]
        routes.get("/my-data", OperationInfo(summary: "Export everything held about the caller", tags: tags)) { try await export($0) }
        routes.delete("/my-data", OperationInfo(summary: "Erase the caller's account and data", tags: tags)) { try await erase($0) }
        routes.patch("/my-data", OperationInfo(summary: "Ask for a correction of the caller's data", tags: tags)) { try await correct($0) }
    }

    static let exportNotice =
        "This export contains all data MySehat holds about you across every service. Stored document and prescription files are not embedded; download them from their services."

    func export(_ req: ServiceRequest) async throws -> Response {
        let caller = try req.verifiedUser()
        var query = FieldReader(query: req)
        let claim = query.optional("user_id", IdentityClaim.rule).value
        try context.validate(query, claim: claim, caller: caller)

        let data = try await context.rights.export(userID: caller.id)
        let now = Instant.now()
        try await context.audit.record(context.event(req, action: "data_export", resourceType: "all_data"))
        return .json([
            "user_id": .string(caller.id), "export_date": .string(now), "exported_at": .string(now),
            "dpdp_compliance": "Right to Access / Data Portability", "data": .object(data), "notice": .string(Self.exportNotice),
        ])
    }

    func erase(_ req: ServiceRequest) async throws -> Response {
        let caller = try req.verifiedUser()
        var query = FieldReader(query: req)
        let confirm = query.optional("confirm", .boolean).value ?? false
        let claim = query.optional("user_id", IdentityClaim.rule).value
        try context.validate(query, claim: claim, caller: caller)
        guard confirm else {
            return .json([
                "warning": "Data deletion is irreversible",
                "action_required": "Set confirm=true to proceed",
                "grace_period": "None: deletion is immediate",
                "exceptions": "Audit records are kept with your identity replaced by a pseudonym",
            ])
        }

        let erasure = try await context.rights.erase(userID: caller.id) { pseudonym, recordsDeleted in
            var event = context.event(req, action: "data_erasure", resourceType: "all_data", details: recordsDeleted)
            event.userID = pseudonym
            event.actorID = pseudonym
            return event
        }
        return .json([
            "status": "deleted",
            "consents_revoked": .int(Int64(erasure.consentsRemoved)),
            "records_deleted": .object(erasure.recordsDeleted),
            "completion_date": .string(Instant.now()),
            "dpdp_compliance": "Right to Erasure completed",
            "notice": "All your data has been deleted. Your access token no longer works.",
        ])
    }

    func correct(_ req: ServiceRequest) async throws -> Response {
        let caller = try req.verifiedUser()
        var body = FieldReader(try await req.jsonObjectIfPresent() ?? [:])
        let claim = body.optional("user_id", IdentityClaim.rule).value
        let correction = Correction(
            field: body.optional("field", .string(max: 100)).value,
            currentValue: body.optional("current_value", .string(max: 2000)).value,
            correctedValue: body.optional("corrected_value", .string(max: 2000)).value,
            reason: body.optional("reason", .string(max: 2000)).value)
        try context.validate(body, claim: claim, caller: caller)

        let ticket = try await context.store.transaction { db in
            let ticket = try await CorrectionRequests().create(correction, userID: caller.id, in: db)
            try await context.audit.record(
                context.event(req, action: "data_correction", resourceType: "correction_request", resourceID: ticket), in: db)
            return ticket
        }
        return .json([
            "status": "correction_request_received", "ticket_id": .string(ticket), "response_time": "Within 30 days as per DPDP Act",
            "dpdp_compliance": "Right to Correction",
        ])
    }
}

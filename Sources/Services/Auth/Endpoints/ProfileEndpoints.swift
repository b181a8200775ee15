import ConsentService
import HummingbirdCore
import ServiceKit
import Store

/// The caller's profile, preferences and consents (01-auth §2.8–§2.13).
struct ProfileEndpoints {
    let context: AuthContext

    func register(in routes: inout ServiceRoutes) {
        let tags = ["auth"]
        routes.get("/me", OperationInfo(summary: "The caller's profile", tags: tags)) { try await me($0) }
        routes.put("/me", OperationInfo(summary: "Update the caller's profile", tags: tags)) { try await updateMe($0) }
        routes.get("/preferences", OperationInfo(summary: "The caller's preferences", tags: tags)) { try await preferences($0) }
        routes.put("/preferences", OperationInfo(summary: "Update the caller's preferences", tags: tags)) { try await updatePreferences($0) }
        routes.get("/consents", OperationInfo(summary: "The caller's consent records", tags: tags)) { try await consents($0) }
        routes.put("/consents/{consent_id}", OperationInfo(summary: "Grant or revoke one consent", tags: tags)) { try await updateConsent($0) }
    }

    func me(_ req: ServiceRequest) async throws -> Response {
        let account = try await context.callerAccount(req)
        try await context.audit.record(.profileRead(userID: account.userID), for: req)
        return .json(try await AccountStore(context.store).response(for: account))
    }

    func updateMe(_ req: ServiceRequest) async throws -> Response {
        let update = try ProfileUpdate(try await req.jsonObject())
        let account = try await context.store.transaction { db in
            var account = try await context.callerAccount(req, in: db)
            account.profile = update.applied(to: account.profile)
            try await AccountStore(db).update(id: account.id, profile: account.profile)
            try await context.audit.record(.profileUpdated(userID: account.userID), for: req, in: db)
            return account
        }
        return .json(try await AccountStore(context.store).response(for: account))
    }

    func preferences(_ req: ServiceRequest) async throws -> Response {
        let account = try await context.callerAccount(req)
        guard let preferences = try await AccountStore(context.store).preferences(userID: account.id) else {
            throw ServiceError(.notFound, "Preferences not found")
        }
        return .json(preferences.json)
    }

    func updatePreferences(_ req: ServiceRequest) async throws -> Response {
        let update = try PreferencesUpdate(try await req.jsonObject())
        let preferences = try await context.store.transaction { db in
            let account = try await context.callerAccount(req, in: db)
            let accounts = AccountStore(db)
            // A missing row starts from the signup defaults.
            let preferences = update.applied(to: try await accounts.preferences(userID: account.id) ?? Preferences())
            try await accounts.save(preferences, userID: account.id)
            return preferences
        }
        return .json(preferences.json)
    }

    func consents(_ req: ServiceRequest) async throws -> Response {
        let user = try context.caller(req)
        let records = try await ConsentRecords(context.store).records(userID: user.id)
        return .json(.array(records.map { .object($0.json) }))
    }

    func updateConsent(_ req: ServiceRequest) async throws -> Response {
        let user = try context.caller(req)
        var path = FieldReader(["consent_id": .string(req.params["consent_id"] ?? "")], at: ["path"])
        let consentID = path.required("consent_id", .integer())
        var body = FieldReader(try await req.jsonObject())
        let granted = body.required("granted", .boolean)
        let text = body.optional("consent_text", ProfileRules.consentText).value
        let days = body.optional("expires_in_days", .integer(ge: 1)).value
        let category = body.optional("data_category", .string()).value
        let purpose = body.optional("purpose", .string()).value
        try FieldReader.validate(path, body)
        guard let consentID, let granted else { throw ServiceError.internalError }

        let record = try await context.store.transaction { db in
            let records = ConsentRecords(db)
            guard let record = try await records.record(id: Int64(consentID), userID: user.id) else {
                throw ServiceError(.notFound, "Consent not found")
            }
            if let category, category != record.key.dataCategory {
                throw ServiceError(.badRequest, "data_category and purpose of an existing consent cannot be changed")
            }
            if let purpose, ConsentVocabulary.canonicalPurpose(purpose) != record.purpose {
                throw ServiceError(.badRequest, "data_category and purpose of an existing consent cannot be changed")
            }
            let changed: ConsentRecord
            do {
                changed = try await records.apply(
                    ConsentChange(granted: granted, consentText: text, expiresInDays: days, clientIP: req.clientIP), to: record)
            } catch let refusal as ConsentRefusal {
                throw ServiceError(.badRequest, refusal.message)
            }
            try await context.audit.record(.consentChanged(userID: user.id, consentID: changed.id, granted: granted), for: req, in: db)
            return changed
        }
        return .json(record.json)
    }
}

import HummingbirdCore
import ServiceKit
import Store

/// Grant, revoke, list and check consents (02 §4.1–§4.4).
struct ConsentEndpoints {
    let context: ConsentContext

    func register(in routes: inout ServiceRoutes) {
        let tags = ["consent"]
        routes.post("/consent/grant", OperationInfo(summary: "Grant a consent", tags: tags)) { try await grant($0) }
        routes.post("/consent/revoke", OperationInfo(summary: "Revoke the caller's matching consents", tags: tags)) { try await revoke($0) }
        routes.get("/consent/my", OperationInfo(summary: "The caller's consent records", tags: tags)) { try await my($0) }
        routes.post("/consent/check", OperationInfo(summary: "Whether the caller holds a consent", tags: tags)) { try await check($0) }
    }

    func grant(_ req: ServiceRequest) async throws -> Response {
        let caller = try req.verifiedUser()
        var body = FieldReader(try await ConsentContext.requiredBody(req))
        let claim = body.optional("user_id", IdentityClaim.rule).value
        let fields = ConsentTargetFields(&body)
        let grantedToID = body.optional("granted_to_id", .string(max: 100)).value
        let days = body.optional("expires_in_days", .integer(ge: 1)).value
        let text = body.optional("consent_text", .string(max: 2000)).value
        try context.validate(body, claim: claim, caller: caller)
        let target = try fields.checked()

        let key = ConsentKey(userID: caller.id, dataCategory: target.dataCategory, purpose: target.purpose, grantedTo: target.grantedTo)
        let grant = ConsentGrant(consentText: text, grantedToID: grantedToID, expiresInDays: days, clientIP: req.clientIP)
        let record = try await context.store.transaction { db in
            let record = try await context.records(db).grant(key, grant)
            try await context.audit.record(
                context.event(req, action: "consent_granted", resourceType: "consent", resourceID: String(record.id), consentID: record.id),
                in: db)
            return record
        }
        return .json(record.json)
    }

    func revoke(_ req: ServiceRequest) async throws -> Response {
        let caller = try req.verifiedUser()
        var body = FieldReader(try await ConsentContext.requiredBody(req))
        let claim = body.optional("user_id", IdentityClaim.rule).value
        let category = body.optional("data_category", .string()).value
        let purpose = body.optional("purpose", .string()).value
        let grantedTo = body.optional("granted_to", .string()).value
        try context.validate(body, claim: claim, caller: caller)
        if let category, !ConsentVocabulary.dataCategories.contains(category) { throw ServiceError(.badRequest, "Invalid data_category") }
        if let purpose, !ConsentVocabulary.purposes.contains(purpose) { throw ServiceError(.badRequest, "Invalid purpose") }
        if let grantedTo, !ConsentVocabulary.recipients.contains(grantedTo) { throw ServiceError(.badRequest, "Invalid granted_to") }

        let (revoked, skipped) = try await context.store.transaction { db in
            let records = context.records(db)
            var revoked = 0
            var skipped = 0
            for record in try await records.records(userID: caller.id) where record.isActive {
                guard category.map({ $0 == record.key.dataCategory }) ?? true, purpose.map({ $0 == record.purpose }) ?? true,
                    grantedTo.map({ $0 == record.key.grantedTo }) ?? true
                else { continue }
                guard record.revocable else {
                    skipped += 1
                    continue
                }
                try await records.revoke(record, clientIP: req.clientIP)
                try await context.audit.record(
                    context.event(req, action: "consent_revoked", resourceType: "consent", resourceID: String(record.id), consentID: record.id),
                    in: db)
                revoked += 1
            }
            return (revoked, skipped)
        }
        return .json([
            "message": .string("Successfully revoked \(revoked) consent(s)"),
            "consents_revoked": .int(Int64(revoked)),
            "consents_skipped": .int(Int64(skipped)),
            "effective_immediately": true,
            "dpdp_compliant": true,
            "notice": skipped == 0
                ? .null
                : "Mandatory and emergency consents cannot be revoked individually. Erase your account to withdraw them.",
        ])
    }

    func my(_ req: ServiceRequest) async throws -> Response {
        let caller = try req.verifiedUser()
        var query = FieldReader(query: req)
        let claim = query.optional("user_id", IdentityClaim.rule).value
        try context.validate(query, claim: claim, caller: caller)

        let records = try await context.records(context.store).records(userID: caller.id).sorted(by: ConsentRecord.newestFirst)
        func count(_ status: ConsentStatus) -> JSONValue { .int(Int64(records.count { $0.status == status })) }
        return .json([
            "consents": .array(records.map { .object($0.json) }),
            "total": .int(Int64(records.count)),
            "active_count": count(.active),
            "revoked_count": count(.revoked),
            "expired_count": count(.expired),
            "pending_count": count(.pending),
        ])
    }

    /// An exact match first, then (for a product purpose or one of its equivalents, §3.4) any
    /// active record counting as that product purpose. Not audited.
    func check(_ req: ServiceRequest) async throws -> Response {
        let caller = try req.verifiedUser()
        var body = FieldReader(try await ConsentContext.requiredBody(req))
        let claim = body.optional("user_id", IdentityClaim.rule).value
        let fields = ConsentTargetFields(&body)
        try context.validate(body, claim: claim, caller: caller)
        let target = try fields.checked()

        let records = try await context.records(context.store).records(userID: caller.id)
        let exact = records.first {
            $0.key == ConsentKey(userID: caller.id, dataCategory: target.dataCategory, purpose: target.purpose, grantedTo: target.grantedTo)
        }
        var valid = exact?.isActive ?? false
        var deciding = exact
        if !valid,
            let product = ConsentVocabulary.productPurpose(dataCategory: target.dataCategory, purpose: target.purpose, grantedTo: target.grantedTo),
            let held = records.first(where: { $0.isActive && $0.counts(as: product) })
        {
            valid = true
            deciding = held
        }
        let reason: JSONValue
        switch (valid, exact?.status) {
        case (true, _): reason = .null
        case (false, .expired?): reason = "Consent has expired"
        case (false, .revoked?): reason = "Consent was revoked"
        case (false, .pending?): reason = "Consent has not been granted"
        default: reason = "No active consent found for this data category and purpose"
        }
        return .json([
            "has_consent": .bool(valid), "is_valid": .bool(valid), "consent_id": JSONValue(deciding.map { Int($0.id) }), "reason": reason,
            "expires_at": JSONValue(deciding?.expiresAt), "data_category": .string(target.dataCategory), "purpose": .string(target.purpose),
            "granted_to": .string(target.grantedTo),
        ])
    }
}

/// The (data_category, purpose, granted_to) of a grant or check: read with the other fields (422
/// for a wrong type or a missing field), then checked against the vocabularies with the 400 texts
/// of §4.1, in their order.
struct ConsentTargetFields {
    let dataCategory: String?
    let purpose: String?
    let grantedTo: Field<String>

    init(_ body: inout FieldReader) {
        dataCategory = body.required("data_category", .string())
        purpose = body.required("purpose", .string())
        grantedTo = body.nonNull("granted_to", .string())
    }

    struct Target {
        let dataCategory: String
        let purpose: String
        let grantedTo: String
    }

    /// Call after the reader validated.
    func checked() throws -> Target {
        guard let dataCategory, let purpose else { throw ServiceError.internalError }
        let grantedTo = grantedTo.value ?? "self"
        try Self.require(dataCategory, in: ConsentVocabulary.dataCategories, name: "data_category")
        try Self.require(purpose, in: ConsentVocabulary.purposes, name: "purpose")
        try Self.require(grantedTo, in: ConsentVocabulary.recipients, name: "granted_to")
        return Target(dataCategory: dataCategory, purpose: purpose, grantedTo: grantedTo)
    }

    /// `Invalid <name>. Must be one of: ['a', 'b']`, the list written as Python prints it.
    static func require(_ value: String, in allowed: [String], name: String) throws {
        guard !allowed.contains(value) else { return }
        let list = "[" + allowed.map { "'\($0)'" }.joined(separator: ", ") + "]"
        throw ServiceError(.badRequest, "Invalid \(name). Must be one of: \(list)")
    }
}

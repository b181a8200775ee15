import ConsentService
import HTTPTypes
import HummingbirdCore
import ServiceKit
import Store

/// OTP request, signup, login, logout, logout-all, validate (01-auth §2.2–§2.7).
struct SessionEndpoints {
    let context: AuthContext

    func register(in routes: inout ServiceRoutes) {
        let tags = ["auth"]
        routes.post("/otp/request", OperationInfo(summary: "Send a one-time login code", tags: tags)) { try await requestOTP($0) }
        routes.post("/signup", OperationInfo(summary: "Create an account", tags: tags)) { try await signup($0) }
        routes.post("/login", OperationInfo(summary: "Log in with a one-time code", tags: tags)) { try await login($0) }
        routes.post("/logout", OperationInfo(summary: "Revoke the presented token", tags: tags)) { try await logout($0) }
        routes.post("/logout-all", OperationInfo(summary: "Revoke every token of the caller", tags: tags)) { try await logoutAll($0) }
        routes.get("/validate", OperationInfo(summary: "Check the presented token", tags: tags)) { try await validate($0) }
    }

    // MARK: OTP

    func requestOTP(_ req: ServiceRequest) async throws -> Response {
        var reader = FieldReader(try await req.jsonObject())
        let phone = reader.required("phone_number", .string(pattern: .phoneNumber))
        try reader.validate()
        guard let phone else { throw ServiceError.internalError }
        guard let sender = context.sms else { throw ServiceError(.serviceUnavailable, "OTP delivery unavailable") }
        let code = SecureRandom.digits(6)
        let codes = OTPStore(context.store)
        let hash = try await codes.issue(phoneNumber: phone, code: code)
        do {
            try await sender.send(.otp(code: code, phoneNumber: phone, requestID: req.requestID))
        } catch {
            try await codes.consume(phoneNumber: phone, hash: hash)
            context.logger.error("OTP delivery failed: \(error)", metadata: ["request_id": "\(req.requestID)"])
            throw ServiceError(.serviceUnavailable, "OTP delivery unavailable")
        }
        return .json(["message": "OTP sent", "expires_in": .int(OTPRules.lifetimeSeconds), "resend_after": .int(Int64(OTPRules.resendAfterSeconds))])
    }

    /// §4: the latest issued code, or `DEV_OTP_CODE` in development. 401 otherwise.
    func checkOTP(phoneNumber: String, code: String, _ req: ServiceRequest) async throws -> OTPCheck {
        if let development = context.configuration.devOTPCode, ConstantTime.equals(Array(code.utf8), Array(development.utf8)) {
            return .development
        }
        // In a write transaction, so concurrent guesses are counted one after the other and
        // none slips past the five-failure limit.
        let result = try await context.store.transaction { db in try await OTPStore(db).check(phoneNumber: phoneNumber, code: code) }
        guard result != .rejected else {
            if let account = try await AccountStore(context.store).account(phoneNumber: phoneNumber) {
                try await context.audit.record(.login(userID: account.userID, success: false), for: req)
            }
            throw invalidOTP
        }
        return result
    }

    var invalidOTP: ServiceError {
        if let development = context.configuration.devOTPCode {
            return ServiceError(.unauthorized, "Invalid OTP. Use '\(development)' for demo.")
        }
        return ServiceError(.unauthorized, "Invalid or expired OTP")
    }

    /// Consumes an issued code inside the transaction that uses it; a code consumed meanwhile by
    /// a concurrent request no longer counts.
    func consume(_ check: OTPCheck, phoneNumber: String, in db: any DatabaseExecutor) async throws {
        guard case .issued(let hash) = check else { return }
        guard try await OTPStore(db).consume(phoneNumber: phoneNumber, hash: hash) else { throw invalidOTP }
    }

    // MARK: Signup

    func signup(_ req: ServiceRequest) async throws -> Response {
        let request = try SignupRequest(try await req.jsonObject(), production: context.configuration.production)
        if let missing = request.missingMandatoryPurposes {
            throw ServiceError(.badRequest, "Mandatory consents required: \(missing.joined(separator: ", "))")
        }
        if let duplicate = request.duplicatePurpose {
            throw ServiceError(.badRequest, "Duplicate consent purpose: \(duplicate)")
        }
        // Development may sign up without a code; production's validation required one.
        let otp = if let code = request.otp { try await checkOTP(phoneNumber: request.phoneNumber, code: code, req) } else { OTPCheck.development }

        let role = context.configuration.roleSeeds[request.phoneNumber] ?? "patient"
        let (token, claims, account, consents) = try await context.store.transaction { db in
            let accounts = AccountStore(db)
            guard try await !accounts.phoneNumberTaken(request.phoneNumber) else {
                throw ServiceError(.badRequest, "Phone number already registered. Please login instead.")
            }
            let account = try await accounts.create(phoneNumber: request.phoneNumber, profile: request.profile, role: role)
            try await accounts.save(request.preferences, userID: account.id)
            let records = ConsentRecords(db)
            var consents: [ConsentRecord] = []
            for item in request.consents {
                consents.append(try await records.insert(item.record(userID: account.userID, clientIP: req.clientIP)))
            }
            let issued = try await context.issueToken(for: account, req: req, in: db)
            try await consume(otp, phoneNumber: request.phoneNumber, in: db)
            let granted = consents.filter(\.isActive).map { AuthAuditEvent.signupConsentGranted(userID: account.userID, consentID: $0.id) }
            try await context.audit.record([.signup(userID: account.userID)] + granted, for: req, in: db)
            return (issued.token, issued.claims, account, consents)
        }

        let user = account.json(preferences: request.preferences, consents: consents)
        let body = context.tokenResponse(
            token: token, expiresIn: claims.expiresAt - claims.issuedAt, user: user, message: "User registered successfully")
        return .json(body, status: .created)
    }

    // MARK: Login

    func login(_ req: ServiceRequest) async throws -> Response {
        var reader = FieldReader(try await req.jsonObject())
        let phone = reader.required("phone_number", .string(pattern: .phoneNumber))
        let code = reader.required("otp", .string(pattern: .otp))
        try reader.validate()
        guard let phone, let code else { throw ServiceError.internalError }

        let otp = try await checkOTP(phoneNumber: phone, code: code, req)
        // The code is not consumed here, so it can still be used to sign up.
        guard let account = try await AccountStore(context.store).account(phoneNumber: phone) else {
            throw ServiceError(.notFound, "User not found. Please sign up first.")
        }
        let issued = try await context.store.transaction { db in
            let issued = try await context.issueToken(for: account, req: req, in: db)
            try await consume(otp, phoneNumber: phone, in: db)
            return issued
        }
        try await context.audit.record(.login(userID: account.userID, success: true), for: req)
        let user = try await AccountStore(context.store).response(for: account)
        return .json(context.tokenResponse(token: issued.token, expiresIn: issued.claims.expiresAt - issued.claims.issuedAt, user: user))
    }

    // MARK: Logout, validate

    func logout(_ req: ServiceRequest) async throws -> Response {
        let user = try context.caller(req)
        guard let tokenID = user.tokenID, let id = Int64(user.id) else { throw AuthContext.invalidToken }
        try await SessionStore(context.store).revoke(tokenID: tokenID, userID: id, forgetting: context.verifiedTokens)
        try await context.audit.record(.logout(userID: user.id), for: req)
        return .json(["message": "Logged out successfully"])
    }

    func logoutAll(_ req: ServiceRequest) async throws -> Response {
        let user = try context.caller(req)
        guard let id = Int64(user.id) else { throw AuthContext.invalidToken }
        let count = try await SessionStore(context.store).revokeAll(userID: id, forgetting: context.verifiedTokens)
        try await context.audit.record(.logout(userID: user.id), for: req)
        return .json(["message": .string("Logged out from \(count) session(s)")])
    }

    func validate(_ req: ServiceRequest) async throws -> Response {
        let user = try context.caller(req)
        guard let token = BearerToken.token(in: req.headers), let tokenID = user.tokenID,
            let session = try await SessionStore(context.store).session(tokenID: tokenID), session.revokedAt == nil
        else { throw AuthContext.invalidToken }
        let account = try await context.callerAccount(req)
        try await context.audit.record(.profileRead(userID: account.userID), for: req)
        let body = context.tokenResponse(
            token: token, expiresIn: max(0, session.expiresAt - Instant.nowSeconds()), user: try await AccountStore(context.store).response(for: account))
        return .json(body)
    }
}

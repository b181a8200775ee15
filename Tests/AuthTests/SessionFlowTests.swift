import AuthService
import ServiceKit
import Store
import Testing

@Suite("Auth: OTP, signup, login, logout")
struct SessionFlowTests {
    @Test func statusEndpoints() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        for path in ["/", "/health"] {
            let reply = try await auth.call(.get, path)
            #expect(reply.status == 200 && reply.json == ["status": "ok", "service": "auth_backend"])
        }
    }

    @Test func otpRequestThenSignupThenLoginWithFreshCodes() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let phone = "9123456789"
        let sent = try await auth.call(.post, "/otp/request", json: ["phone_number": .string(phone)])
        #expect(sent.status == 200)
        #expect(sent.json == ["message": "OTP sent", "expires_in": 300, "resend_after": 30])
        let messages = await auth.sms.messages
        #expect(messages.count == 1 && messages[0].requestID == "test-request")
        let code = try #require(await auth.sms.lastCode(for: phone))
        #expect(messages[0].text == "Your MySehat code is \(code). It expires in 5 minutes.")
        // Only a hash is stored.
        let stored = try #require(try await auth.store.one("SELECT * FROM otp_codes WHERE phone_number = ?", .text(phone)))
        #expect(!stored.json.contains { $0.value == .string(code) })

        // Login before signup: 404, and the code is not consumed...
        let early = try await auth.login(phone, otp: code)
        #expect(early.status == 404 && early.detail == "User not found. Please sign up first.")
        // ...so it signs up, and is consumed then.
        let signup = try await auth.call(.post, "/signup", json: [
            "name": "  Asha Rao  ", "phone_number": .string(phone), "otp": .string(code), "consents": AuthHarness.mandatoryConsents,
        ])
        #expect(signup.status == 201)
        #expect(signup.json["user"]?["name"] == "Asha Rao")
        let reused = try await auth.login(phone, otp: code)
        #expect(reused.status == 401 && reused.detail == "Invalid OTP. Use '123456' for demo.")

        _ = try await auth.call(.post, "/otp/request", json: ["phone_number": .string(phone)])
        let fresh = try #require(await auth.sms.lastCode(for: phone))
        let login = try await auth.login(phone, otp: fresh)
        #expect(login.status == 200)
        #expect(Array(login.json.objectValue?.keys ?? []) == ["access_token", "token_type", "expires_in", "user"])
        #expect(login.json["token_type"] == "bearer" && login.json["expires_in"] == 86_400)
        let token = try #require(login.json["access_token"]?.stringValue)
        let user = try #require(await auth.verify(token))
        #expect(user.id == "1" && user.role == "patient")
        #expect(try await auth.store.one("SELECT device_info, client_ip FROM auth_tokens WHERE jti = ?", .text(user.tokenID ?? ""))?.string("client_ip") == "10.0.0.7")
    }

    @Test func aNewCodeReplacesTheOldOne() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let phone = "9000000010"
        _ = try await auth.signup(phone)
        var codes: [String] = []
        // Until two different codes were drawn (1 in a million they are equal).
        while Set(codes).count < 2 {
            _ = try await auth.call(.post, "/otp/request", json: ["phone_number": .string(phone)])
            codes.append(try #require(await auth.sms.lastCode(for: phone)))
        }
        let old = codes.first { $0 != codes.last }!
        #expect(try await auth.login(phone, otp: old).status == 401)
        #expect(try await auth.login(phone, otp: codes.last!).status == 200)
    }

    @Test(arguments: [4, 5])
    func fiveFailuresBurnTheCode(failures: Int) async throws {
        let auth = try await AuthHarness.make(environment: ["DEV_OTP_CODE": "000000"])
        defer { auth.remove() }
        let phone = "9000000012"
        _ = try await auth.signup(phone)
        _ = try await auth.call(.post, "/otp/request", json: ["phone_number": .string(phone)])
        let code = try #require(await auth.sms.lastCode(for: phone))
        let wrong = code == "999999" ? "999998" : "999999"
        for _ in 0..<failures {
            let reply = try await auth.login(phone, otp: wrong)
            #expect(reply.status == 401 && reply.detail == "Invalid OTP. Use '000000' for demo.")
        }
        #expect(try await auth.login(phone, otp: code).status == (failures < 5 ? 200 : 401))
        #expect(try await auth.login(phone, otp: "000000").status == 200)
    }

    @Test func concurrentGuessesCannotExceedFiveFailures() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let phone = "9000000013"
        _ = try await auth.call(.post, "/otp/request", json: ["phone_number": .string(phone)])
        let code = try #require(await auth.sms.lastCode(for: phone))
        let wrong = code == "999999" ? "999998" : "999999"
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 { group.addTask { try await auth.login(phone, otp: wrong).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 401, count: 12))
        let row = try await auth.store.one("SELECT failed_attempts FROM otp_codes WHERE phone_number = ?", .text(phone))
        #expect(row?.int("failed_attempts") == 5)
    }

    @Test func deliveryFailureDiscardsTheCode() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        await auth.sms.fail(true)
        let reply = try await auth.call(.post, "/otp/request", json: ["phone_number": "9000000011"])
        #expect(reply.status == 503 && reply.detail == "OTP delivery unavailable")
        #expect(try await auth.store.query("SELECT * FROM otp_codes").isEmpty)
    }

    @Test func otpRequestValidation() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let short = try await auth.call(.post, "/otp/request", json: ["phone_number": "12345"])
        #expect(short.status == 422 && short.issues == ["string_pattern_mismatch body.phone_number"])
        #expect(short.json["detail"]?.arrayValue?.first?["msg"] == #"String should match pattern '^\d{10}$'"#)
        #expect(try await auth.call(.post, "/otp/request", json: [:]).issues == ["missing body.phone_number"])
        #expect(try await auth.call(.post, "/otp/request", json: ["phone_number": 9_000_000_000]).issues == ["string_type body.phone_number"])
        #expect(try await auth.call(.post, "/otp/request", json: [1, 2]).issues == ["model_attributes_type body"])
        let broken = try await auth.call(.post, "/otp/request", body: Array(#"{"phone_number": "#.utf8))
        #expect(broken.status == 422 && broken.json["detail"]?.arrayValue?.first?["type"] == "json_invalid")
    }

    @Test func signupResponseAndStoredConsents() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let reply = try await auth.call(.post, "/signup", json: [
            "name": "Ravi", "phone_number": "9876500000", "age": 41, "gender": "Male", "blood_group": "B+",
            "allergies": ["Dust"], "emergency_phone": "+919876543210", "language": "hi", "medicine_reminders": false,
            "role": "admin", "dark_mode": true,
            "consents": [
                ["data_category": "emergency", "purpose": "emergency_sharing", "granted": true],
                ["data_category": "health_records", "purpose": "health_record_storage", "granted": true, "consent_text": "Store my records"],
                ["data_category": "ai_symptoms", "purpose": "ai_symptom_checker", "granted": true],
                ["data_category": "health_records", "purpose": "hospital_sharing", "granted": false],
            ],
        ])
        #expect(reply.status == 201)
        #expect(Array(reply.json.objectValue?.keys ?? []) == ["message", "access_token", "token_type", "expires_in", "user"])
        #expect(reply.json["message"] == "User registered successfully")
        let user = try #require(reply.json["user"]?.objectValue)
        #expect(Array(user.keys) == [
            "id", "name", "phone_number", "age", "gender", "blood_group", "allergies", "conditions", "emergency_contact",
            "emergency_phone", "role", "created_at", "preferences", "consents",
        ])
        #expect(user["role"] == "patient" && user["conditions"] == [] && user["emergency_contact"] == .null)
        #expect(user["preferences"] == [
            "language": "hi", "emergency_enabled": true, "medicine_reminders": false, "notification_enabled": true, "dark_mode": false,
        ])
        let consents = try #require(user["consents"]?.arrayValue)
        #expect(consents.map { $0["purpose"] } == ["emergency_sharing", "health_record_storage", "ai_symptom_checker", "hospital_data_sharing"])
        #expect(consents.map { $0["status"] } == ["active", "active", "active", "pending"])
        #expect(consents.map { $0["revocable"] } == [false, false, false, true])
        #expect(consents.map { $0["consent_text"] } == [
            "User consented to emergency_sharing", "Store my records", "User consented to ai_symptom_checker",
            "User declined hospital_data_sharing",
        ])
        #expect(consents.allSatisfy { $0["consent_method"] == "signup" && $0["granted_to"] == "self" && $0["expires_at"] == .null })
        #expect(consents[3]["granted_at"] == .null && consents[3]["granted"] == false)
        let token = try #require(reply.json["access_token"]?.stringValue)
        #expect(try await auth.call(.get, "/me", token: token).json == .object(user))
        #expect(try await auth.store.one("SELECT client_ip FROM consents WHERE id = 1")?.string("client_ip") == "10.0.0.7")
    }

    @Test func signupRulesInOrder() async throws {
        let auth = try await AuthHarness.make(environment: ["MYSEHAT_ROLE_SEEDS": "9000000001:admin"])
        defer { auth.remove() }
        func signup(_ consents: JSONValue, phone: String = "9000000002", otp: JSONValue? = nil) async throws -> Reply {
            var body: JSONObject = ["name": "Meera", "phone_number": .string(phone), "consents": consents]
            if let otp { body["otp"] = otp }
            return try await auth.call(.post, "/signup", json: .object(body))
        }
        let invalid = try await auth.call(.post, "/signup", json: [
            "name": "M", "phone_number": "12", "age": -1, "allergies": ["", .int(3)], "emergency_phone": "12ab",
            "consents": [["data_category": "genome", "purpose": "emergency_sharing"], "x"],
        ])
        #expect(invalid.status == 422)
        #expect(invalid.issues == [
            "string_too_short body.name", "string_pattern_mismatch body.phone_number", "greater_than_equal body.age",
            "string_too_short body.allergies.0", "string_type body.allergies.1", "string_pattern_mismatch body.emergency_phone",
            "enum body.consents.0.data_category", "missing body.consents.0.granted", "model_attributes_type body.consents.1",
        ])
        #expect(try await auth.call(.post, "/signup", json: ["name": "Meera", "phone_number": "9000000002"]).issues == ["missing body.consents"])

        let some = try await signup([["data_category": "emergency", "purpose": "emergency_sharing", "granted": true],
                                     ["data_category": "ai_symptoms", "purpose": "ai_symptom_checker", "granted": false]])
        #expect(some.status == 400 && some.detail == "Mandatory consents required: health_record_storage, ai_symptom_checker")

        var duplicated = AuthHarness.mandatoryConsents.arrayValue!
        duplicated += [["data_category": "health_records", "purpose": "hospital_sharing", "granted": true],
                       ["data_category": "health_records", "purpose": "hospital_data_sharing", "granted": false]]
        let duplicate = try await signup(.array(duplicated))
        #expect(duplicate.status == 400 && duplicate.detail == "Duplicate consent purpose: hospital_data_sharing")

        // A wrong code answers 401 before the "already registered" check.
        #expect(try await signup(AuthHarness.mandatoryConsents, otp: "111111").status == 401)
        #expect(try await signup(AuthHarness.mandatoryConsents, otp: "12").issues == ["string_pattern_mismatch body.otp"])
        #expect(try await signup(AuthHarness.mandatoryConsents).status == 201)
        let again = try await signup(AuthHarness.mandatoryConsents, otp: "123456")
        #expect(again.status == 400 && again.detail == "Phone number already registered. Please login instead.")
        let wrongAgain = try await signup(AuthHarness.mandatoryConsents, otp: "111111")
        #expect(wrongAgain.status == 401)

        // The role seed applies at signup.
        let admin = try await signup(AuthHarness.mandatoryConsents, phone: "9000000001")
        #expect(admin.json["user"]?["role"] == "admin")
    }

    @Test func logoutRevokesOnlyThePresentedToken() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let first = try await auth.signup("9000000020")
        let second = try #require(try await auth.login("9000000020").json["access_token"]?.stringValue)
        #expect(await auth.verify(first) != nil)

        let reply = try await auth.call(.post, "/logout", token: first, headers: [.authorization: "bEaReR   \(first)"])
        #expect(reply.status == 200 && reply.json == ["message": "Logged out successfully"])
        #expect(await auth.verify(first) == nil)
        #expect(await auth.verify(second) != nil)
        // Without a verified user (a misconfigured policy) the service itself answers 401.
        let anonymous = try await auth.call(.post, "/logout")
        #expect(anonymous.status == 401 && anonymous.detail == "Invalid or expired token")
        #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
    }

    @Test func logoutAllCountsAndRevokesEverySession() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        var tokens = [try await auth.signup("9000000030")]
        for _ in 0..<2 { tokens.append(try #require(try await auth.login("9000000030").json["access_token"]?.stringValue)) }
        let other = try await auth.signup("9000000031")
        _ = try await auth.call(.post, "/logout", token: tokens[0])

        let reply = try await auth.call(.post, "/logout-all", token: tokens[1])
        #expect(reply.status == 200 && reply.json == ["message": "Logged out from 2 session(s)"])
        for token in tokens { #expect(await auth.verify(token) == nil) }
        #expect(await auth.verify(other) != nil)
    }

    @Test func validateEchoesTheTokenWithItsRemainingLifetime() async throws {
        let auth = try await AuthHarness.make(environment: ["JWT_ACCESS_TTL_SECONDS": "600"])
        defer { auth.remove() }
        let token = try await auth.signup("9000000040")
        let reply = try await auth.call(.get, "/validate", token: token)
        #expect(reply.status == 200)
        #expect(reply.json["access_token"] == .string(token))
        let remaining = try #require(reply.json["expires_in"]?.intValue)
        #expect((590...600).contains(remaining))
        #expect(reply.json["user"]?["phone_number"] == "9000000040")
    }
}

import AuthService
import ServiceKit
import Store
import Testing

@Suite("Auth: configuration and production rules")
struct ProductionTests {
    static let production = ["MYSEHAT_ENV": "production"]

    @Test func productionRefusesToStartWithoutASecret() throws {
        #expect(throws: AuthConfiguration.Error.self) { try AuthConfiguration.fromEnvironment(Self.production) }
        do {
            _ = try AuthConfiguration.fromEnvironment(["MYSEHAT_ENV": "production", "JWT_SECRET_KEY": "too-short"])
            Issue.record("a short secret was accepted")
        } catch {
            #expect("\(error)".contains("JWT_SECRET_KEY must be at least 32 bytes"))
        }
        let configured = try AuthConfiguration.fromEnvironment(["MYSEHAT_ENV": "production", "JWT_SECRET_KEY": AuthHarness.secret])
        #expect(configured.production && !configured.secret.isGenerated)
        #expect(configured.devOTPCode == nil && !configured.seedDemoUsers && configured.smsWebhookURL == nil)
    }

    @Test func developmentDefaults() throws {
        let configuration = try AuthConfiguration.fromEnvironment([:])
        #expect(!configuration.production && configuration.secret.isGenerated)
        #expect(configuration.devOTPCode == "123456" && configuration.seedDemoUsers && configuration.accessTokenLifetime == 86_400)
        let custom = try AuthConfiguration.fromEnvironment([
            "DEV_OTP_CODE": "654321", "SEED_DEMO_USERS": "no", "JWT_ACCESS_TTL_SECONDS": "60",
            "MYSEHAT_ROLE_SEEDS": "9000000001:admin,9000000002:responder", "SMS_WEBHOOK_URL": "http://127.0.0.1:9/sms",
        ])
        #expect(custom.devOTPCode == "654321" && !custom.seedDemoUsers && custom.accessTokenLifetime == 60)
        #expect(custom.roleSeeds == ["9000000001": "admin", "9000000002": "responder"])
        #expect(custom.smsWebhookURL == "http://127.0.0.1:9/sms")
        for bad in [["MYSEHAT_ROLE_SEEDS": "9000000001:root"], ["MYSEHAT_ROLE_SEEDS": "123:admin"], ["SEED_DEMO_USERS": "maybe"],
                    ["JWT_ACCESS_TTL_SECONDS": "0"], ["DEV_OTP_CODE": "12ab56"]] {
            #expect(throws: AuthConfiguration.Error.self, "\(bad)") { try AuthConfiguration.fromEnvironment(bad) }
        }
    }

    @Test func productionRefusesTheDevelopmentCode() async throws {
        let auth = try await AuthHarness.make(environment: Self.production)
        defer { auth.remove() }
        let body: JSONObject = ["name": "Prod User", "phone_number": "9000000400", "consents": AuthHarness.mandatoryConsents]
        let missing = try await auth.call(.post, "/signup", json: .object(body))
        #expect(missing.status == 422 && missing.issues == ["missing body.otp"])
        var withDevCode = body
        withDevCode["otp"] = "123456"
        let refused = try await auth.call(.post, "/signup", json: .object(withDevCode))
        #expect(refused.status == 401 && refused.detail == "Invalid or expired OTP")

        _ = try await auth.call(.post, "/otp/request", json: ["phone_number": "9000000400"])
        var withCode = body
        withCode["otp"] = .string(try #require(await auth.sms.lastCode(for: "9000000400")))
        #expect(try await auth.call(.post, "/signup", json: .object(withCode)).status == 201)

        let login = try await auth.login("9000000400", otp: "123456")
        #expect(login.status == 401 && login.detail == "Invalid or expired OTP")
        #expect(try await auth.login("9000000400", otp: "12345").issues == ["string_pattern_mismatch body.otp"])
        #expect(try await auth.call(.post, "/login", json: ["phone_number": "9000000400"]).issues == ["missing body.otp"])
    }

    @Test func productionWithoutAWebhookCannotSendCodes() async throws {
        let auth = try await AuthHarness.make(environment: Self.production, defaultSender: true)
        defer { auth.remove() }
        let reply = try await auth.call(.post, "/otp/request", json: ["phone_number": "9000000401"])
        #expect(reply.status == 503 && reply.detail == "OTP delivery unavailable")
        #expect(try await auth.store.query("SELECT * FROM otp_codes").isEmpty)
    }

    @Test func demoAccountsAndRoleSeedsAtStart() async throws {
        let auth = try await AuthHarness.make(environment: ["SEED_DEMO_USERS": "true"])
        defer { auth.remove() }
        try await auth.service.start()  // a second start adds nothing
        let rows = try await auth.store.query("SELECT id, name, phone_number, role FROM users ORDER BY id")
        #expect(rows.map { $0.int("id") } == [1, 2, 3, 4])
        #expect(rows.map { $0.string("phone_number") } == ["9999999999", "8888888888", "7777777777", "6666666666"])
        let login = try await auth.login("8888888888")
        let user = try #require(login.json["user"])
        #expect(user["name"] == "Aakanksha" && user["allergies"] == [] && user["conditions"] == ["Asthma"] && user["blood_group"] == "A+")
        #expect(user["preferences"] == [
            "language": "hi", "emergency_enabled": true, "medicine_reminders": true, "notification_enabled": true, "dark_mode": true,
        ])
        let mitesh = try #require(try await auth.login("9999999999").json["user"]?["consents"]?.arrayValue)
        #expect(mitesh.map { $0["status"] } == ["active", "active", "active", "pending", "active"])
        #expect(mitesh[0]["consent_text"] == "User consented to emergency_sharing for emergency data")
        #expect(mitesh[3]["consent_text"] == "User declined mental_health_processing for mental_health data")
        let srinidhi = try #require(try await auth.login("7777777777").json["user"]?["consents"]?.arrayValue)
        #expect(srinidhi.map { $0["granted"] } == [true, true, true, false, false])

        // A role seed applied at the next start revokes the account's tokens.
        let token = try #require(try await auth.login("6666666666").json["access_token"]?.stringValue)
        let seeded = AuthService(
            store: auth.store,
            configuration: try AuthConfiguration.fromEnvironment([
                "JWT_SECRET_KEY": AuthHarness.secret, "SEED_DEMO_USERS": "true", "MYSEHAT_ROLE_SEEDS": "6666666666:responder",
            ]),
            logger: .init(label: "test"))
        #expect(await seeded.identityVerifier.verify(token: token) != nil)
        try await seeded.start()
        #expect(await seeded.identityVerifier.verify(token: token) == nil)
        #expect(try await auth.store.one("SELECT role FROM users WHERE id = 4")?.string("role") == "responder")
        #expect(try await auth.store.query("SELECT id FROM users").count == 4)
    }
}

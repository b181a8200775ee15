import AuthService
import ServiceKit
import Store
import Testing

@Suite("Auth: profile, preferences, consents")
struct ProfileTests {
    @Test func invalidUpdateKeepsTheRecordIntact() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let token = try await auth.signup("9000000100", name: "Kiran", extra: ["age": 30, "allergies": ["Dust"]])
        let before = try await auth.call(.get, "/me", token: token)

        let bad = try await auth.call(.put, "/me", json: [
            "name": "Kiran Kumar", "age": 131, "gender": .string(String(repeating: "x", count: 21)), "allergies": "Dust",
            "emergency_phone": "+91-98", "conditions": .array(Array(repeating: "c", count: 51)),
        ], token: token)
        #expect(bad.status == 422)
        #expect(bad.issues == [
            "less_than_equal body.age", "string_too_long body.gender", "list_type body.allergies", "too_long body.conditions",
            "string_pattern_mismatch body.emergency_phone",
        ])
        #expect(try await auth.call(.put, "/me", json: ["name": nil], token: token).issues == ["string_type body.name"])
        #expect(try await auth.call(.put, "/me", json: ["age": "old"], token: token).issues == ["int_parsing body.age"])
        #expect(try await auth.call(.put, "/me", json: ["age": true], token: token).issues == ["int_type body.age"])
        #expect(try await auth.call(.get, "/me", token: token).json == before.json)
    }

    @Test func partialUpdateAppliesKnownKeysOnly() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let token = try await auth.signup("9000000101", name: "Kiran", extra: ["age": 30, "gender": "Male", "allergies": ["Dust"]])
        let reply = try await auth.call(.put, "/me", json: [
            "name": " Kiran K ", "age": "31", "gender": nil, "allergies": nil, "conditions": ["Asthma"],
            "emergency_contact": "Sis", "emergency_phone": "+919000000000",
            "phone_number": "1111111111", "role": "admin", "id": 99, "unknown": true,
        ], token: token)
        #expect(reply.status == 200)
        let user = reply.json
        #expect(user["name"] == "Kiran K" && user["age"] == 31 && user["gender"] == .null)
        #expect(user["allergies"] == [] && user["conditions"] == ["Asthma"])
        #expect(user["emergency_contact"] == "Sis" && user["emergency_phone"] == "+919000000000")
        #expect(user["phone_number"] == "9000000101" && user["role"] == "patient" && user["id"] == 1)
        #expect(try await auth.call(.get, "/me", token: token).json == user)
    }

    @Test func preferences() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let token = try await auth.signup("9000000102", extra: ["language": "ta", "emergency_enabled": false])
        let initial = try await auth.call(.get, "/preferences", token: token)
        #expect(initial.json == [
            "language": "ta", "emergency_enabled": false, "medicine_reminders": true, "notification_enabled": true, "dark_mode": false,
        ])
        #expect(try await auth.call(.put, "/preferences", json: ["language": "x", "dark_mode": "maybe"], token: token).issues == [
            "string_too_short body.language", "bool_parsing body.dark_mode",
        ])
        let updated = try await auth.call(.put, "/preferences", json: ["dark_mode": "on", "language": nil, "x": 1], token: token)
        #expect(updated.json["dark_mode"] == true && updated.json["language"] == "ta")

        // A missing row: 404 on read, signup defaults on update.
        try await auth.store.execute("DELETE FROM user_preferences")
        let missing = try await auth.call(.get, "/preferences", token: token)
        #expect(missing.status == 404 && missing.detail == "Preferences not found")
        #expect(try await auth.call(.get, "/me", token: token).json["preferences"] == .null)
        let recreated = try await auth.call(.put, "/preferences", json: ["medicine_reminders": false], token: token)
        #expect(recreated.json == [
            "language": "en", "emergency_enabled": true, "medicine_reminders": false, "notification_enabled": true, "dark_mode": false,
        ])
    }

    @Test func consentUpdates() async throws {
        let auth = try await AuthHarness.make()
        defer { auth.remove() }
        let consents = AuthHarness.mandatoryConsents.arrayValue! + [["data_category": "mental_health", "purpose": "mental_health_processing", "granted": false]]
        let token = try await auth.signup("9000000103", extra: ["consents": .array(consents)])
        let otherToken = try await auth.signup("9000000104")
        let list = try await auth.call(.get, "/consents", token: token)
        #expect(list.json.arrayValue?.map { $0["id"] } == [1, 2, 3, 4])

        let granted = try await auth.call(.put, "/consents/4", json: ["granted": true, "expires_in_days": 30, "consent_text": "Yes"], token: token)
        #expect(granted.status == 200)
        #expect(granted.json["status"] == "active" && granted.json["consent_text"] == "Yes" && granted.json["expires_at"] != .null)
        let revoked = try await auth.call(.put, "/consents/4", json: ["granted": false, "purpose": "mental_health_processing"], token: token)
        #expect(revoked.json["status"] == "revoked" && revoked.json["revoked_at"] != .null && revoked.json["granted"] == false)

        let mandatory = try await auth.call(.put, "/consents/2", json: ["granted": false], token: token)
        #expect(mandatory.status == 400 && mandatory.detail == "Cannot revoke mandatory consent: health_record_storage")
        let changed = try await auth.call(.put, "/consents/4", json: ["granted": true, "data_category": "location"], token: token)
        #expect(changed.status == 400 && changed.detail == "data_category and purpose of an existing consent cannot be changed")
        // Another user's consent is reported as missing.
        let foreign = try await auth.call(.put, "/consents/4", json: ["granted": true], token: otherToken)
        #expect(foreign.status == 404 && foreign.detail == "Consent not found")
        let invalid = try await auth.call(.put, "/consents/abc", json: ["expires_in_days": 0], token: token)
        #expect(invalid.issues == ["int_parsing path.consent_id", "missing body.granted", "greater_than_equal body.expires_in_days"])
        #expect(try await auth.call(.get, "/consents", token: token).json.arrayValue?[3]["status"] == "revoked")
    }
}

import Foundation
import ServiceKit
import Store
import TestSupport
import Testing

@testable import ConsentService

/// Grant, check, expiry, re-grant and revocation through `/api/v1`, with the audit trail each
/// change leaves (02 §4.1–§4.4, §4.8).
@Suite("Consent lifecycle over HTTP")
struct ConsentLifecycleTests {
    @Test func grantCheckExpireRegrantRevoke() async throws {
        let harness = try await ConsentHarness.start()
        let (token, userID) = try await harness.signup("9100000001")

        // Grant with an expiry: one record, active, expiring in 30 days.
        let granted = try await harness.request(.POST, "/api/v1/consent/grant", token: token, json: [
            "user_id": .string(userID), "data_category": "medications", "purpose": "medicine_reminders", "expires_in_days": 30,
            "consent_text": "Remind me of my doses",
        ])
        #expect(granted.status == 200, "\(granted.text)")
        let record = try #require(granted.json)
        #expect(record["status"] == "active" && record["granted"] == true && record["is_active"] == true)
        #expect(record["consent_method"] == "explicit" && record["revocable"] == true && record["granted_to"] == "self")
        #expect(record["consent_text"] == "Remind me of my doses" && record["user_id"] == .string(userID))
        let consentID = try #require(record["id"]?.intValue)
        let expiresAt = try #require(record["expires_at"]?.stringValue.flatMap(Instant.parse))
        let in30Days = Instant.nowMilliseconds() + 30 * 86_400_000
        #expect(abs(expiresAt - in30Days) < 60_000)

        // Check: the exact record decides.
        let check: JSONValue = ["data_category": "medications", "purpose": "medicine_reminders"]
        var answer = try #require(try await harness.request(.POST, "/api/v1/consent/check", token: token, json: check).json)
        #expect(answer["has_consent"] == true && answer["is_valid"] == true && answer["reason"] == .null)
        #expect(answer["consent_id"] == .int(Int64(consentID)) && answer["granted_to"] == "self")

        // Time passes: expiry is evaluated on read, stored, counted and logged once.
        try await harness.expire(userID: userID, purpose: "medicine_reminders")
        answer = try #require(try await harness.request(.POST, "/api/v1/consent/check", token: token, json: check).json)
        #expect(answer["has_consent"] == false && answer["is_valid"] == false)
        #expect(answer["reason"] == "Consent has expired" && answer["expires_at"] == "2020-01-01T00:00:00.000Z")
        #expect(answer["consent_id"] == .int(Int64(consentID)))
        let mine = try #require(try await harness.request(.GET, "/api/v1/consent/my", token: token).json)
        #expect(mine["total"] == 4 && mine["active_count"] == 3 && mine["expired_count"] == 1 && mine["revoked_count"] == 0)
        #expect(mine["pending_count"] == 0)
        #expect(mine["consents"]?.arrayValue?.first?["id"] == .int(Int64(consentID)), "newest first")
        #expect(try await harness.count("SELECT COUNT(*) AS n FROM consents WHERE id = ? AND status = 'expired'", .integer(Int64(consentID))) == 1)
        #expect(try await harness.auditActions(subject: userID).filter { $0 == "consent_expired" }.count == 1)

        // Granting again reuses the record; no expiry this time.
        let regranted = try #require(try await harness.grant(token, "medications", "medicine_reminders").json)
        #expect(regranted["id"] == .int(Int64(consentID)) && regranted["status"] == "active" && regranted["expires_at"] == .null)
        #expect(regranted["consent_text"] == "Remind me of my doses", "kept when not given")

        // Revoke by filter, then everything: the mandatory signup consents are skipped.
        let revoked = try #require(try await harness.request(.POST, "/api/v1/consent/revoke", token: token, json: [
            "purpose": "medicine_reminders", "granted_to": "self",
        ]).json)
        #expect(revoked["message"] == "Successfully revoked 1 consent(s)" && revoked["consents_revoked"] == 1)
        #expect(revoked["consents_skipped"] == 0 && revoked["notice"] == .null && revoked["effective_immediately"] == true)
        let all = try #require(try await harness.request(.POST, "/api/v1/consent/revoke", token: token, json: [:]).json)
        #expect(all["consents_revoked"] == 0 && all["consents_skipped"] == 3)
        #expect(all["notice"] == "Mandatory and emergency consents cannot be revoked individually. Erase your account to withdraw them.")
        answer = try #require(try await harness.request(.POST, "/api/v1/consent/check", token: token, json: check).json)
        #expect(answer["reason"] == "Consent was revoked" && answer["has_consent"] == false)

        // One store: /auth/consents shows the same record.
        let authView = try #require(try await harness.request(.GET, "/auth/consents", token: token).json?.arrayValue)
        #expect(authView.contains { $0["id"] == .int(Int64(consentID)) && $0["status"] == "revoked" })

        // Every change is in the caller's audit trail with time and request id.
        let trail = try await harness.request(.GET, "/api/v1/audit/my?limit=500", token: token)
        #expect(trail.status == 200 && trail.json?["dpdp_compliance"] == "Data Access Transparency")
        let logs = try #require(trail.json?["logs"]?.arrayValue)
        let consentRows = logs.filter { $0["resource_id"] == .string(String(consentID)) }.compactMap { $0["action"]?.stringValue }
        #expect(consentRows == ["consent_revoked", "consent_granted", "consent_expired", "consent_granted"], "newest first")
        let grantRow = try #require(logs.last { $0["action"] == "consent_granted" && $0["resource_id"] == .string(String(consentID)) })
        #expect(grantRow["request_id"] == .string(granted.header("X-Request-ID") ?? "?"))
        #expect(grantRow["timestamp"]?.stringValue.flatMap(Instant.parse) != nil && grantRow["actor_id"] == .string(userID))
        #expect(grantRow["service"] == "consent" && grantRow["success"] == true && grantRow["actor_type"] == "patient")
        let filtered = try #require(try await harness.request(.GET, "/api/v1/audit/my?action_filter=consent_revoked", token: token).json)
        #expect(filtered["total"] == 1 && filtered["logs"]?.arrayValue?.first?["action"] == "consent_revoked")
        let unknownFilter = try #require(try await harness.request(.GET, "/api/v1/audit/my?action=nonsense&limit=2", token: token).json)
        #expect(unknownFilter["total"] == 2)
        await harness.stop()
    }

    @Test func productPurposeEquivalenceAndReasons() async throws {
        let harness = try await ConsentHarness.start()
        let (token, _) = try await harness.signup("9100000002")

        // A (health_records, sharing, hospital) record counts as hospital_data_sharing (§3.4).
        #expect(try await harness.grant(token, "health_records", "sharing", to: "hospital").status == 200)
        let viaProduct = try #require(try await harness.request(.POST, "/api/v1/consent/check", token: token, json: [
            "data_category": "personal_info", "purpose": "hospital_data_sharing", "granted_to": "hospital",
        ]).json)
        #expect(viaProduct["has_consent"] == true && viaProduct["reason"] == .null)
        // The signup consent emergency_sharing covers (emergency, emergency, *).
        let emergency = try #require(try await harness.request(.POST, "/api/v1/consent/check", token: token, json: [
            "data_category": "emergency", "purpose": "emergency", "granted_to": "ambulance",
        ]).json)
        #expect(emergency["has_consent"] == true)
        // A general purpose with no equivalent needs the exact record.
        let none = try #require(try await harness.request(.POST, "/api/v1/consent/check", token: token, json: [
            "data_category": "location", "purpose": "analytics",
        ]).json)
        #expect(none["has_consent"] == false && none["consent_id"] == .null)
        #expect(none["reason"] == "No active consent found for this data category and purpose")
        await harness.stop()
    }

    @Test func validationIdentityClaimsAndAliases() async throws {
        let harness = try await ConsentHarness.start()
        let (token, userID) = try await harness.signup("9100000003")

        // The 400 texts, in the order of §4.1.
        let badCategory = try await harness.request(.POST, "/api/v1/consent/grant", token: token, json: [
            "data_category": "genome", "purpose": "nope", "granted_to": "x",
        ])
        #expect(badCategory.status == 400)
        #expect(badCategory.detail == "Invalid data_category. Must be one of: ['location', 'mental_health', 'documents', 'medications', 'diagnostics', 'emergency', 'health_records', 'personal_info', 'ai_symptoms']")
        let badPurpose = try await harness.request(.POST, "/api/v1/consent/check", token: token, json: ["data_category": "location", "purpose": "nope"])
        #expect(badPurpose.status == 400)
        #expect(badPurpose.detail == "Invalid purpose. Must be one of: ['emergency', 'treatment', 'storage', 'ai_processing', 'reminder', 'analytics', 'sharing', 'emergency_sharing', 'health_record_storage', 'ai_symptom_checker', 'mental_health_processing', 'medicine_reminders', 'hospital_data_sharing']")
        let badRecipient = try await harness.grant(token, "location", "emergency", to: "neighbour")
        #expect(badRecipient.detail == "Invalid granted_to. Must be one of: ['self', 'hospital', 'ambulance', 'ai_service', 'emergency_responder', 'healthcare_worker']")
        let revokeBad = try await harness.request(.POST, "/api/v1/consent/revoke", token: token, json: ["purpose": "nope"])
        #expect(revokeBad.status == 400 && revokeBad.detail == "Invalid purpose")

        // 422 lists every problem.
        let invalid = try await harness.request(.POST, "/api/v1/consent/grant", token: token, json: [
            "purpose": 5, "expires_in_days": 0, "granted_to_id": .string(String(repeating: "x", count: 101)),
        ])
        #expect(invalid.status == 422)
        let issues = (invalid.json?["detail"]?.arrayValue ?? []).map { item in
            "\(item["type"]?.stringValue ?? "?") \((item["loc"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: "."))"
        }
        #expect(issues == ["missing body.data_category", "string_type body.purpose", "string_too_long body.granted_to_id", "greater_than_equal body.expires_in_days"])
        let noBody = try await harness.request(.POST, "/api/v1/consent/revoke", token: token)
        #expect(noBody.status == 422 && noBody.json?["detail"]?.arrayValue?.first?["type"] == "missing")
        let badLimit = try await harness.request(.GET, "/api/v1/audit/my?limit=501", token: token)
        #expect(badLimit.status == 422 && badLimit.json?["detail"]?.arrayValue?.first?["loc"] == ["query", "limit"])
        let badConfirm = try await harness.request(.DELETE, "/api/v1/my-data?confirm=perhaps", token: token)
        #expect(badConfirm.status == 422 && badConfirm.json?["detail"]?.arrayValue?.first?["type"] == "bool_parsing")

        // Identity claims must name the caller.
        let mismatch = "user_id does not match the authenticated user"
        #expect(try await harness.request(.GET, "/api/v1/consent/my?user_id=999", token: token).detail == mismatch)
        #expect(try await harness.request(.POST, "/api/v1/consent/grant", token: token, json: [
            "user_id": "999", "data_category": "location", "purpose": "emergency",
        ]).status == 403)
        #expect(try await harness.request(.GET, "/api/v1/consent/my?user_id=\(userID)", token: token).status == 200)
        #expect(try await harness.request(.GET, "/api/v1/consent/my?user_id=", token: token).status == 200, "empty counts as absent")
        let header = try await harness.gateway.request(.GET, "/api/v1/my-data", headers: [("Authorization", "Bearer \(token)"), ("X-User-ID", "999")])
        #expect(header.status == 403 && header.detail == "X-User-Id header does not match the authenticated user")
        #expect(try await harness.request(.GET, "/api/v1/consent/my").status == 401)

        // The guide's alias and the per-area aliases reach the same endpoints.
        let alias = try #require(try await harness.request(.GET, "/api/v1/consent", token: token).json)
        let areaAlias = try #require(try await harness.request(.GET, "/sos/api/v1/consent/my", token: token).json)
        #expect(alias["total"] == 3 && areaAlias["total"] == 3)
        #expect(try await harness.request(.GET, "/health-records/api/v1/audit/my", token: token).status == 200)
        #expect(try await harness.request(.GET, "/medicine-reminder/api/v1/my-data", token: token).status == 200)
        #expect(try await harness.request(.GET, "/mental-health/api/v1/audit/verify", token: token).status == 404, "not an alias")

        // Chain verification is for admins.
        let refused = try await harness.request(.GET, "/api/v1/audit/verify", token: token)
        #expect(refused.status == 403 && refused.detail == "This endpoint requires one of the roles: admin")
        await harness.stop()
    }

    @Test func adminVerifiesTheChain() async throws {
        let harness = try await ConsentHarness.start(environment: ["MYSEHAT_ROLE_SEEDS": "9100000009:admin"])
        let (token, _) = try await harness.signup("9100000009")
        let verified = try #require(try await harness.request(.GET, "/api/v1/audit/verify", token: token).json)
        let rows = try await harness.count("SELECT COUNT(*) AS n FROM audit_log")
        #expect(rows > 0)
        #expect(verified["valid"] == true && verified["first_invalid_id"] == .null && verified["rows_checked"] == .int(Int64(rows)))
        #expect(verified["last_hash"]?.stringValue?.count == 64)
        await harness.stop()
    }
}

import Foundation
import ServiceKit
import Store
import TestSupport
import Testing

@testable import ConsentService

/// Consent enforcement by policy, and the rights of access, correction and erasure across the
/// auth service, a Swift service and a Lua service (02 §4.5–§4.7, §7).
@Suite("Rights and enforcement over HTTP")
struct RightsTests {
    @Test func consentPolicyGatesSwiftLuaAndUpstreamRoutes() async throws {
        let harness = try await ConsentHarness.start()
        let (token, userID) = try await harness.signup("9200000001")

        func statuses() async throws -> [Int] {
            [
                try await harness.request(.GET, "/vault", token: token).status,
                try await harness.request(.GET, "/notes", token: token).status,
                try await harness.request(.GET, "/records-upstream/bundle", token: token).status,
            ]
        }
        // Nothing granted: each refusal names the purpose.
        let refusals = [
            (try await harness.request(.GET, "/vault", token: token), "medicine_reminders"),
            (try await harness.request(.GET, "/notes", token: token), "mental_health_processing"),
            (try await harness.request(.GET, "/records-upstream/bundle", token: token), "hospital_data_sharing"),
        ]
        for (response, purpose) in refusals {
            #expect(response.status == 403)
            #expect(response.detail == "Consent required: \(purpose) has not been granted")
            #expect(response.json?["required_consent"] == .string(purpose))
        }
        #expect(harness.upstream.paths.isEmpty)

        // Granted (hospital sharing through an equivalent record of §3.4): all three answer.
        #expect(try await harness.grant(token, "medications", "medicine_reminders").status == 200)
        #expect(try await harness.grant(token, "mental_health", "mental_health_processing").status == 200)
        #expect(try await harness.grant(token, "health_records", "sharing", to: "healthcare_worker").status == 200)
        #expect(try await statuses() == [200, 200, 200])
        #expect(harness.upstream.paths == ["/bundle"])
        // The upstream route's policy audits each request; the Lua service audits itself.
        let actions = try await harness.store.query(
            "SELECT service, action, resource_type FROM audit_log WHERE user_id = ? AND action = 'read' ORDER BY id", [.text(userID)])
        #expect(actions.map { "\($0.string("service") ?? "") \($0.string("resource_type") ?? "")" }.contains("notes note"))
        #expect(actions.contains { $0.string("resource_type") == "health_record" })

        // Revoked: refused again on the next request.
        #expect(try await harness.request(.POST, "/api/v1/consent/revoke", token: token, json: ["purpose": "medicine_reminders"]).status == 200)
        #expect(try await harness.request(.POST, "/api/v1/consent/revoke", token: token, json: ["data_category": "mental_health"]).status == 200)
        #expect(try await statuses() == [403, 403, 200])
        // Expired: refused too.
        try await harness.expire(userID: userID, purpose: "sharing")
        #expect(try await statuses() == [403, 403, 403])
        #expect(harness.upstream.paths == ["/bundle", "/bundle"], "refused requests never reach the upstream")
        await harness.stop()
    }

    @Test func exportEraseExportAcrossServices() async throws {
        let harness = try await ConsentHarness.start()
        let phone = "9200000002"
        let (token, userID) = try await harness.signup(phone, name: "Asha Erasable")
        let (otherToken, otherID) = try await harness.signup("9200000003", name: "Ravi Stays")
        for caller in [token, otherToken] {
            #expect(try await harness.grant(caller, "medications", "medicine_reminders").status == 200)
            #expect(try await harness.grant(caller, "mental_health", "mental_health_processing").status == 200)
            #expect(try await harness.request(.POST, "/vault", token: caller, json: ["entry": "metformin 500mg"]).status == 200)
            #expect(try await harness.request(.POST, "/notes", token: caller, json: ["body": "slept badly"]).status == 200)
            let triage = try await harness.request(.POST, "/diagnostics/api/v1/triage/text", token: caller, json: ["symptoms": "my knee hurts"])
            #expect(triage.status == 200, "\(triage.text)")
        }
        // A correction request, with its ticket id.
        let correction = try #require(try await harness.request(.PATCH, "/api/v1/my-data", token: token, json: [
            "field": "blood_group", "current_value": "A+", "corrected_value": "B+", "reason": "Lab report",
        ]).json)
        #expect(correction["status"] == "correction_request_received" && correction["dpdp_compliance"] == "Right to Correction")
        let ticket = try #require(correction["ticket_id"]?.stringValue)
        #expect(ticket.hasPrefix("CORR-\(userID)-") && ticket.count == "CORR-\(userID)-".count + 14)
        let second = try #require(try await harness.request(.PATCH, "/api/v1/my-data", token: token).json?["ticket_id"]?.stringValue)
        #expect(second != ticket)

        // Export: every service's part, in the spec's layout.
        let export = try await harness.request(.GET, "/api/v1/my-data", token: token)
        #expect(export.status == 200)
        let body = try #require(export.json)
        #expect(body["user_id"] == .string(userID) && body["export_date"] == body["exported_at"])
        #expect(body["dpdp_compliance"] == "Right to Access / Data Portability")
        let data = try #require(body["data"]?.objectValue)
        #expect(data.keys == [
            "profile", "consents", "audit_logs", "medicine", "diagnostics", "mental_health", "sos", "health_records", "vault", "notes",
            "correction_requests",
        ])
        #expect(data["profile"]?["phone_number"] == .string(phone) && data["profile"]?["name"] == "Asha Erasable")
        #expect(data["profile"]?["preferences"]?["language"] == "en" && data["profile"]?["consents"] == nil)
        #expect(data["consents"]?.arrayValue?.count == 5)
        #expect(data["vault"]?.arrayValue?.map { $0["entry"] } == ["metformin 500mg"])
        #expect(data["notes"]?["notes"]?.arrayValue?.map { $0["body"] } == ["slept badly"])
        #expect(data["correction_requests"]?.arrayValue?.first?["ticket_id"] == .string(ticket))
        #expect(data["correction_requests"]?.arrayValue?.first?["corrected_value"] == "B+")
        #expect(data["medicine"] == ["medications": [], "schedules": [], "dose_events": [], "prescriptions": []])
        #expect(data["diagnostics"]?["triage_sessions"]?.arrayValue?.count == 1)
        let exportedAudit = try #require(data["audit_logs"]?.arrayValue)
        #expect(exportedAudit.contains { $0["action"] == "data_correction" && $0["resource_id"] == .string(ticket) })
        #expect(!exportedAudit.contains { $0["action"] == "data_export" }, "read before the export's own row")
        #expect(exportedAudit.allSatisfy { $0["user_id"] == .string(userID) })
        #expect(try await harness.auditActions(subject: userID).last == "data_export")

        // Without confirmation nothing happens.
        let warning = try #require(try await harness.request(.DELETE, "/api/v1/my-data", token: token).json)
        #expect(warning["warning"] == "Data deletion is irreversible" && warning["action_required"] == "Set confirm=true to proceed")
        #expect(try await harness.count("SELECT COUNT(*) AS n FROM users WHERE id = ?", .integer(Int64(userID)!)) == 1)

        let erased = try await harness.request(.DELETE, "/api/v1/my-data?confirm=true&user_id=\(userID)", token: token)
        #expect(erased.status == 200, "\(erased.text)")
        let outcome = try #require(erased.json)
        #expect(outcome["status"] == "deleted" && outcome["consents_revoked"] == 5)
        #expect(outcome["dpdp_compliance"] == "Right to Erasure completed")
        #expect(outcome["records_deleted"] == [
            "account": 1, "consents": 5, "diagnostics": 1, "medicine": 0, "mental_health": 0, "sos": 0, "health_records": 0, "vault": 1,
            "notes": 1, "correction_requests": 2,
        ])
        #expect(outcome["records_deleted"]?.objectValue?.keys.last == "correction_requests")

        // The token died with the account; nothing of the user is left in any table.
        #expect(try await harness.request(.GET, "/auth/me", token: token).status == 401)
        #expect(try await harness.request(.GET, "/api/v1/my-data", token: token).status == 401)
        let id = Int64(userID)!
        for (table, column, value) in [
            ("users", "id", SQLValue.integer(id)), ("user_preferences", "user_id", .integer(id)), ("auth_tokens", "user_id", .integer(id)),
            ("consents", "user_id", .text(userID)), ("vault_entries", "user_id", .text(userID)), ("notes", "user_id", .text(userID)),
            ("correction_requests", "user_id", .text(userID)), ("triage_sessions", "owner_id", .text(userID)), ("audit_log", "user_id", .text(userID)), ("audit_log", "actor_id", .text(userID)),
        ] {
            #expect(try await harness.count("SELECT COUNT(*) AS n FROM \(table) WHERE \(column) = ?", value) == 0, "\(table).\(column)")
        }
        // Audit rows stay, under the pseudonym, and the last one is the erasure.
        let pseudonym = "erased:" + harness.audit.reference(userID).prefix(16)
        let kept = try await harness.auditActions(subject: pseudonym)
        #expect(kept.count > 10 && kept.last == "data_erasure" && kept.contains("data_export"))
        let erasureRow = try #require(try await harness.store.one(
            "SELECT actor_id, request_id, details FROM audit_log WHERE action = 'data_erasure'", []))
        #expect(erasureRow.string("actor_id") == pseudonym && erasureRow.string("request_id") == erased.header("X-Request-ID"))
        #expect(try await harness.audit.verify().valid)

        // The other user is untouched.
        let others = try #require(try await harness.request(.GET, "/api/v1/my-data", token: otherToken).json?["data"])
        #expect(others["vault"]?.arrayValue?.count == 1 && others["notes"]?["notes"]?.arrayValue?.count == 1)
        #expect(others["diagnostics"]?["triage_sessions"]?.arrayValue?.count == 1)
        #expect(others["profile"]?["id"] == .int(Int64(otherID)!))

        // The second export of the erased id holds nothing of the user.
        let rights = DataRights(store: harness.store, audit: harness.audit, registry: harness.registry, logger: .init(label: "test"))
        let again = try await rights.export(userID: userID)
        #expect(again["profile"] == .null && again["consents"] == [] && again["audit_logs"] == [] && again["vault"] == [])
        #expect(again["notes"] == ["notes": []] && again["correction_requests"] == [] && again["diagnostics"] == ["triage_sessions": []])

        // The number can sign up again, as a new account with none of the old data.
        let (newToken, newID) = try await harness.signup(phone, name: "Asha Again")
        #expect(newID != userID)
        let fresh = try #require(try await harness.request(.GET, "/api/v1/my-data", token: newToken).json?["data"])
        #expect(fresh["vault"] == [] && fresh["notes"] == ["notes": []] && fresh["correction_requests"] == [])
        #expect(fresh["consents"]?.arrayValue?.count == 3 && fresh["profile"]?["name"] == "Asha Again")
        #expect(fresh["audit_logs"]?.arrayValue?.allSatisfy { $0["user_id"] == .string(newID) } == true)
        await harness.stop()
    }

    @Test func failedErasureRollsEverythingBack() async throws {
        let harness = try await ConsentHarness.start(extraParticipants: [FailingRights()])
        let (token, userID) = try await harness.signup("9200000004")
        #expect(try await harness.grant(token, "mental_health", "mental_health_processing").status == 200)
        #expect(try await harness.request(.POST, "/notes", token: token, json: ["body": "kept"]).status == 200)
        #expect(try await harness.grant(token, "medications", "medicine_reminders").status == 200)
        #expect(try await harness.request(.POST, "/vault", token: token, json: ["entry": "kept"]).status == 200)
        let auditRows = try await harness.count("SELECT COUNT(*) AS n FROM audit_log WHERE user_id = ?", .text(userID))

        let failed = try await harness.request(.DELETE, "/api/v1/my-data?confirm=yes", token: token)
        #expect(failed.status == 500 && failed.detail == "Internal Server Error")
        // The Lua service's delete, the account's and the consents' all rolled back with it.
        #expect(try await harness.request(.GET, "/auth/me", token: token).status == 200)
        #expect(try await harness.request(.GET, "/notes", token: token).json?["notes"]?.arrayValue?.count == 1)
        #expect(try await harness.count("SELECT COUNT(*) AS n FROM consents WHERE user_id = ?", .text(userID)) == 5)
        #expect(try await harness.request(.GET, "/vault", token: token).json?["entries"]?.arrayValue?.count == 1)
        #expect(try await harness.count("SELECT COUNT(*) AS n FROM audit_log WHERE user_id = ?", .text(userID)) >= auditRows)
        #expect(try await harness.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'data_erasure'") == 0)
        #expect(try await harness.audit.verify().valid)
        await harness.stop()
    }
}

import Foundation
import ServiceKit
import Store
import TestSupport
import Testing

@testable import ConsentService

/// `mysehat audit verify` (the built binary) over the data folder the gateway wrote.
@Suite("Audit chain verification")
struct AuditVerifyTests {
    @Test func editingOneRowBreaksTheChainAtThatRowAndErasureDoesNot() async throws {
        let harness = try await ConsentHarness.start(environment: ["MYSEHAT_ROLE_SEEDS": "9300000009:admin"])
        let (admin, _) = try await harness.signup("9300000009")
        let (token, _) = try await harness.signup("9300000001")
        #expect(try await harness.grant(token, "location", "emergency").status == 200)
        #expect(try await harness.request(.PATCH, "/api/v1/my-data", token: token, json: ["field": "name"]).status == 200)
        #expect(try await harness.request(.GET, "/api/v1/my-data", token: token).status == 200)
        let demo = try await harness.login("9999999999")
        #expect(try await harness.request(.GET, "/auth/me", token: demo).status == 200)

        // Erasure pseudonymises rows in place; the chain still verifies.
        #expect(try await harness.request(.DELETE, "/api/v1/my-data?confirm=true", token: token).status == 200)
        let rows = try await harness.count("SELECT COUNT(*) AS n FROM audit_log")
        #expect(rows >= 10)
        let valid = try await GatewayProcess.run(["audit", "verify", "--data-dir", harness.dataDirectory])
        #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
        #expect(valid.stdout.contains("chain valid, \(rows) rows checked"), "\(valid.stdout)")

        // Any other edit of a row, made on the file from outside, breaks the chain at that row.
        let target = Int64(rows / 2)
        let outside = try SQLiteStore(path: harness.databasePath)
        let original = try #require(try await outside.one("SELECT action, success FROM audit_log WHERE id = ?", [.integer(target)]))
        let changed = try await outside.execute("UPDATE audit_log SET action = 'delete', success = 0 WHERE id = ?", [.integer(target)])
        #expect(changed.changes == 1)
        let broken = try await GatewayProcess.run(["audit", "verify", "--data-dir", harness.dataDirectory])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("chain broken at row \(target) (\(target) rows checked)"), "\(broken.stdout)")
        let answer = try #require(try await harness.request(.GET, "/api/v1/audit/verify", token: admin).json)
        #expect(answer["valid"] == false && answer["first_invalid_id"] == .int(target))

        // Put back, it verifies again; a removed row shows at the row after it.
        try await outside.execute(
            "UPDATE audit_log SET action = ?, success = ? WHERE id = ?", [original["action"] ?? .null, original["success"] ?? .null, .integer(target)])
        #expect(try await GatewayProcess.run(["audit", "verify", "--data-dir", harness.dataDirectory]).status == 0)
        try await outside.execute("DELETE FROM audit_log WHERE id = ?", [.integer(target)])
        let gap = try await GatewayProcess.run(["audit", "verify", "--data-dir", harness.dataDirectory])
        #expect(gap.status == 1 && gap.stdout.contains("chain broken at row \(target + 1)"), "\(gap.stdout)")
        await harness.stop()
    }

    /// 01-auth §8: the auth service's events land in the same log, the writes in their transaction.
    @Test func authEventsReachTheAuditLog() async throws {
        let harness = try await ConsentHarness.start()
        let signup = try await harness.request(.POST, "/auth/signup", json: [
            "name": "Audit Me", "phone_number": "9300000002", "consents": ConsentHarness.mandatoryConsents,
        ])
        let token = try #require(signup.json?["access_token"]?.stringValue)
        let userID = String(try #require(signup.json?["user"]?["id"]?.intValue))
        #expect(try await harness.request(.POST, "/auth/login", json: ["phone_number": "9300000002", "otp": "000000"]).status == 401)
        let relogin = try await harness.login("9300000002")
        #expect(try await harness.request(.GET, "/auth/me", token: relogin).status == 200)
        #expect(try await harness.request(.PUT, "/auth/me", token: relogin, json: ["name": "Audit Me Too"]).status == 200)
        #expect(try await harness.request(.POST, "/auth/logout", token: token).status == 200)

        let rows = try await harness.store.query(
            "SELECT action, resource_type, success, request_id, service, actor_id FROM audit_log WHERE user_id = ? ORDER BY id", [.text(userID)])
        #expect(rows.map { "\($0.string("action") ?? "") \($0.string("resource_type") ?? "") \($0.bool("success") == true)" } == [
            "write user_profile true", "consent_granted consent true", "consent_granted consent true", "consent_granted consent true",
            "login session false", "login session true", "read user_profile true", "update user_profile true", "logout session true",
        ])
        #expect(rows.prefix(4).allSatisfy { $0.string("request_id") == signup.header("X-Request-ID") && $0.string("actor_id") == userID })
        #expect(rows.allSatisfy { $0.string("service") == "auth" })
        #expect(try await harness.audit.verify().valid)
        await harness.stop()
    }

    @Test func missingDatabaseFails() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("no-data-\(UUID().uuidString)").path
        let result = try await GatewayProcess.run(["audit", "verify", "--data-dir", folder])
        #expect(result.status == 1 && result.stderr.contains("no database at \(folder)/mysehat.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: folder))
    }
}

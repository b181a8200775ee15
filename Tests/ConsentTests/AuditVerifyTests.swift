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
        let valid = try GatewayProcess.run(["audit", "verify", "--data-dir", harness.dataDirectory])
        #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
        #expect(valid.stdout.contains("chain valid, \(rows) rows checked"), "\(valid.stdout)")

        // Any other edit of a row, made on the file from outside, breaks the chain at that row.
        let target = Int64(rows / 2)
        let outside = try SQLiteStore(path: harness.databasePath)
        let original = try #require(try await outside.one("SELECT action, success FROM audit_log WHERE id = ?", [.integer(target)]))
        let changed = try await outside.execute("UPDATE audit_log SET action = 'delete', success = 0 WHERE id = ?", [.integer(target)])
        #expect(changed.changes == 1)
        let broken = try GatewayProcess.run(["audit", "verify", "--data-dir", harness.dataDirectory])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("chain broken at row \(target) (\(target) rows checked)"), "\(broken.stdout)")
        let answer = try #require(try await harness.request(.GET, "/api/v1/audit/verify", token: admin).json)
        #expect(answer["valid"] == false && answer["first_invalid_id"] == .int(target))

        // Put back, it verifies again; a removed row shows at the row after it.
        try await outside.execute(
            "UPDATE audit_log SET action = ?, success = ? WHERE id = ?", [original["action"] ?? .null, original["success"] ?? .null, .integer(target)])
        #expect(try GatewayProcess.run(["audit", "verify", "--data-dir", harness.dataDirectory]).status == 0)
        try await outside.execute("DELETE FROM audit_log WHERE id = ?", [.integer(target)])
        let gap = try GatewayProcess.run(["audit", "verify", "--data-dir", harness.dataDirectory])
        #expect(gap.status == 1 && gap.stdout.contains("chain broken at row \(target + 1)"), "\(gap.stdout)")
        await harness.stop()
    }

    @Test func missingDatabaseFails() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("no-data-\(UUID().uuidString)").path
        let result = try GatewayProcess.run(["audit", "verify", "--data-dir", folder])
        #expect(result.status == 1 && result.stderr.contains("no database at \(folder)/mysehat.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: folder))
    }
}

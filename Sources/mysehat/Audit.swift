import ArgumentParser
import ConsentService
import Foundation
import Store

/// `mysehat audit`: tools for the audit log of the data folder.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Inspect the audit log.", subcommands: [VerifyAudit.self])
}

/// `mysehat audit verify`: recomputes the hash chain (02 §6.5) of the data folder's database;
/// exits 1 naming the first row that does not match.
struct VerifyAudit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check the audit log's hash chain.")

    @Option(help: "Data folder holding mysehat.sqlite (default: $DATA_DIR or ./data).")
    var dataDir: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let path = Composition.databasePath(in: dataDir ?? Composition.dataDirectory(environment))
        guard FileManager.default.fileExists(atPath: path) else {
            printError("error: no database at \(path)")
            throw ExitCode(1)
        }
        let result: AuditLog.Verification
        do {
            let store = try SQLiteStore(path: path)
            result = try await AuditLog.open(store: store, configuredKey: environment["AUDIT_HMAC_KEY"]).verify()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        guard result.valid, result.firstInvalidID == nil else {
            print("audit log: chain broken at row \(result.firstInvalidID.map(String.init) ?? "?") (\(result.rowsChecked) rows checked)")
            throw ExitCode(1)
        }
        print("audit log: chain valid, \(result.rowsChecked) rows checked, last hash \(result.lastHash)")
    }
}

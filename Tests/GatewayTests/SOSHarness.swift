import AuthService
import ConsentService
import Foundation
import Gateway
import Logging
import LuaRuntime
import ServiceKit
import Store
import Testing
import TestSupport

/// The real gateway with the repository's shipped routes/, policies/ and services/, the real auth
/// service (its tables hold the account profiles SOS reads), the real consent service, consent
/// store and audit log on a SQLite file in a temp folder, and the Lua primitives built as the
/// composition root builds them. Tokens are `user:<id>:<role>` (FixedIdentity), or real signup
/// tokens with `realTokens`.
struct SOSHarness {
    let gateway: TestGateway
    let folder: TestConfigFolder
    let store: SQLiteStore
    let audit: AuditLog

    /// Lua config values (`config.get`); travel and sweep times are short unless a test says otherwise.
    static func start(config: [String: String] = [:], realTokens: Bool = false) async throws -> SOSHarness {
        let folder = try TestConfigFolder()
        try copyShippedConfig(into: folder.path)
        let store = try SQLiteStore(path: folder.path + "/mysehat.sqlite")
        let audit = try await AuditLog.open(store: store, configuredKey: "test-audit-key")
        try await ConsentRecords.migrate(store)
        var logger = Logger(label: "sos-test")
        logger.logLevel = .critical
        let auth = AuthService(
            store: store,
            configuration: try AuthConfiguration.fromEnvironment(["JWT_SECRET_KEY": String(repeating: "k", count: 32), "SEED_DEMO_USERS": "false"]),
            audit: audit, logger: logger)
        let rights = DataRightsRegistry()
        let consentService = ConsentService(store: store, audit: audit, rights: rights, logger: logger)
        let consent = ConsentRecords(store, audit: audit)
        var values = ["sos_travel_seconds": "30", "sos_sweep_seconds": "0.5"]
        for (key, value) in config { values[key] = value }
        var primitives = LuaPrimitives()
        primitives.addBasics(config: values)
        primitives.addHTTP(allowedHosts: [])
        primitives.addDatabase(store)
        primitives.addConsent(consent, overrides: EmergencyOverrideRecords(audit: audit))
        primitives.addAudit(audit)
        primitives.addCrypto()
        primitives.addFiles(root: folder.path)
        primitives.addShared()
        let gateway = try await TestGateway.start(
            configDirectory: folder.path, services: [auth, consentService],
            identity: realTokens ? auth.identityVerifier : FixedIdentity(), consent: consent, audit: audit,
            upstream: NoUpstream(), luaPrimitives: primitives, store: store, logLevel: .critical)
        let runtime = gateway.server.runtime
        rights.provide { [auth.rightsParticipant] + LuaRightsParticipant.all(in: runtime.config) }
        return SOSHarness(gateway: gateway, folder: folder, store: store, audit: audit)
    }

    /// routes/, policies/ and services/ of this repository.
    static func copyShippedConfig(into path: String) throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        for folder in ["routes", "policies", "services"] {
            let target = path + "/" + folder
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: root.appendingPathComponent(folder).path, toPath: target)
        }
    }

    func stop() async {
        await gateway.stop()
        folder.remove()
    }

    // MARK: Requests

    static func token(_ user: String, _ role: String = "patient") -> [(String, String)] {
        [("Authorization", "Bearer user:\(user):\(role)")]
    }

    func get(_ path: String, as user: String? = nil, role: String = "patient") async throws -> TestResponse {
        try await gateway.request(.GET, path, headers: user.map { Self.token($0, role) } ?? [])
    }

    func send(_ method: HTTPMethodName, _ path: String, as user: String, role: String = "patient", json: JSONValue) async throws -> TestResponse {
        try await gateway.request(method, path, headers: Self.token(user, role), json: json)
    }

    func trigger(as user: String, latitude: Double = 28.6139, longitude: Double = 77.209, type: String = "Medical") async throws -> JSONObject {
        let response = try await send(.POST, "/sos", as: user, json: ["latitude": .double(latitude), "longitude": .double(longitude), "emergency_type": .string(type)])
        #expect(response.status == 200, "\(response.text)")
        return try #require(response.json?.objectValue)
    }

    /// Polls `GET /sos/{id}` until the event has `status` (or the timeout passes).
    func waitForStatus(_ status: String, event id: Int64, as user: String = "1", timeout: Duration = .seconds(10)) async throws -> JSONObject {
        let deadline = ContinuousClock.now + timeout
        var last: JSONObject = [:]
        while ContinuousClock.now < deadline {
            last = try #require(try await get("/sos/\(id)", as: user).json?.objectValue)
            if last["status"]?.stringValue == status { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("event \(id) did not reach \(status); last: \(last)")
        return last
    }

    /// Signs up through the gateway with the mandatory consents (development: no code needed);
    /// returns the access token and the user id.
    func signup(_ phone: String, name: String) async throws -> (token: String, id: String) {
        let consents: JSONValue = [
            ["data_category": "emergency", "purpose": "emergency_sharing", "granted": true],
            ["data_category": "health_records", "purpose": "health_record_storage", "granted": true],
            ["data_category": "ai_symptoms", "purpose": "ai_symptom_checker", "granted": true],
        ]
        let response = try await gateway.request(.POST, "/auth/signup", json: ["name": .string(name), "phone_number": .string(phone), "consents": consents])
        #expect(response.status == 201, "\(response.text)")
        return (try #require(response.json?["access_token"]?.stringValue), String(try #require(response.json?["user"]?["id"]?.intValue)))
    }

    // MARK: Database

    func row(_ sql: String, _ params: SQLValue...) async throws -> Row? {
        try await store.one(sql, params)
    }

    func count(_ sql: String, _ params: SQLValue...) async throws -> Int {
        try await store.one(sql, params)?.int("n") ?? -1
    }

    /// An account in the auth service's table, as signup would leave it.
    func addAccount(id: Int64, name: String, bloodGroup: String? = nil, allergies: [String] = [], conditions: [String] = [],
                    contact: String? = nil, phone: String? = nil) async throws {
        let now = Instant.now()
        try await store.execute(
            """
            INSERT INTO users (id, name, phone_number, age, blood_group, allergies, conditions, emergency_contact, emergency_phone,
                role, is_active, created_at, updated_at)
            VALUES (?, ?, ?, 40, ?, ?, ?, ?, ?, 'patient', 1, ?, ?)
            """,
            [.integer(id), .text(name), .text("90000000\(id)"), SQLValue(bloodGroup), .text(JSON.encodeString(.array(allergies.map { .string($0) }))),
             .text(JSON.encodeString(.array(conditions.map { .string($0) }))), SQLValue(contact), SQLValue(phone), .text(now), .text(now)])
    }

    /// Audit rows of an action, oldest first.
    func auditRows(action: String, resourceType: String? = nil) async throws -> [Row] {
        if let resourceType {
            return try await store.query("SELECT * FROM audit_log WHERE action = ? AND resource_type = ? ORDER BY id", [.text(action), .text(resourceType)])
        }
        return try await store.query("SELECT * FROM audit_log WHERE action = ? ORDER BY id", [.text(action)])
    }
}

extension JSONValue {
    /// The item at `index` of an array.
    subscript(index: Int) -> JSONValue? {
        guard let items = arrayValue, items.indices.contains(index) else { return nil }
        return items[index]
    }

    /// A JSON-encoded string field decoded.
    var decodedString: JSONValue? {
        guard let text = stringValue else { return nil }
        return try? JSON.decode(Array(text.utf8))
    }
}

import AuthService
import DiagnosticsService
import Foundation
import Gateway
import HummingbirdCore
import Logging
import LuaRuntime
import ServiceKit
import Store
import Synchronization
import TestSupport
import Testing

@testable import ConsentService

/// The real gateway with the real auth and consent services over one SQLite file in a temp
/// folder, the repository's routes and policies, the real diagnostics service, and three
/// consent-gated test targets: a Swift service (`/vault`), a Lua service (`/notes`) and an
/// upstream route (`/records-upstream`). Auth, diagnostics, the vault and the notes keep rows per
/// user and take part in export and erasure.
final class ConsentHarness: Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    let folder: TestConfigFolder
    let store: SQLiteStore
    let audit: AuditLog
    let gateway: TestGateway
    let upstream: RecordingUpstream
    let registry: DataRightsRegistry

    /// The data folder: the database is `mysehat.sqlite` in it, as `mysehat` lays it out.
    var dataDirectory: String { folder.path + "/data" }
    var databasePath: String { dataDirectory + "/mysehat.sqlite" }

    init(folder: TestConfigFolder, store: SQLiteStore, audit: AuditLog, gateway: TestGateway, upstream: RecordingUpstream, registry: DataRightsRegistry) {
        self.folder = folder
        self.store = store
        self.audit = audit
        self.gateway = gateway
        self.upstream = upstream
        self.registry = registry
    }

    /// - Parameter extraParticipants: appended after the Lua services' participants.
    static func start(environment: [String: String] = [:], extraParticipants: [any DataRightsParticipant] = []) async throws -> ConsentHarness {
        let folder = try TestConfigFolder(files: [
            "routes/tests.lua": testRoutes, "policies/tests.lua": testPolicies, "services/notes.lua": notesService,
        ])
        for file in ["routes/mysehat.lua", "policies/mysehat.lua", "policies/cors.lua"] {
            try folder.write(file, try String(contentsOfFile: repository + "/" + file, encoding: .utf8))
        }
        let store = try SQLiteStore(path: folder.path + "/data/mysehat.sqlite")
        var logger = Logger(label: "consent-test")
        logger.logLevel = .critical
        // No configured key: the log generates one and keeps it in the database, as in production.
        let audit = try await AuditLog.open(store: store, configuredKey: nil)
        var env = ["SEED_DEMO_USERS": "true", "JWT_SECRET_KEY": String(repeating: "k", count: 32)]
        for (key, value) in environment { env[key] = value }
        let auth = AuthService(store: store, configuration: try AuthConfiguration.fromEnvironment(env), audit: audit, logger: logger)
        let registry = DataRightsRegistry()
        let consentService = ConsentService(store: store, audit: audit, rights: registry, logger: logger)
        let consent = ConsentRecords(store, audit: audit)
        let diagnostics = DiagnosticsService(store: store, imageDescriber: nil, audit: audit)
        var primitives = LuaPrimitives()
        primitives.addBasics(config: [:])
        primitives.addDatabase(store)
        primitives.addConsent(consent)
        primitives.addAudit(audit)
        let upstream = RecordingUpstream()
        let gateway = try await TestGateway.start(
            configDirectory: folder.path, services: [auth, consentService, diagnostics, VaultService(store: store, audit: audit)],
            identity: auth.identityVerifier, consent: consent, audit: audit, upstream: upstream, luaPrimitives: primitives, store: store,
            logLevel: .critical)
        let runtime = gateway.server.runtime
        let swiftParticipants: [any DataRightsParticipant] = [auth.rightsParticipant, diagnostics.rightsParticipant, VaultRights()]
        registry.provide { swiftParticipants + LuaRightsParticipant.all(in: runtime.config) + extraParticipants }
        return ConsentHarness(folder: folder, store: store, audit: audit, gateway: gateway, upstream: upstream, registry: registry)
    }

    func stop() async {
        await gateway.stop()
        folder.remove()
    }

    // MARK: Requests

    func request(_ method: HTTPMethodName, _ path: String, token: String? = nil, json: JSONValue? = nil) async throws -> TestResponse {
        let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
        if let json { return try await gateway.request(method, path, headers: headers, json: json) }
        return try await gateway.request(method, path, headers: headers)
    }

    static let mandatoryConsents: JSONValue = [
        ["data_category": "emergency", "purpose": "emergency_sharing", "granted": true],
        ["data_category": "health_records", "purpose": "health_record_storage", "granted": true],
        ["data_category": "ai_symptoms", "purpose": "ai_symptom_checker", "granted": true],
    ]

    /// Signs up through the gateway (development: no code needed); returns (token, user id).
    func signup(_ phone: String, name: String = "Consent Tester") async throws -> (token: String, userID: String) {
        let response = try await request(.POST, "/auth/signup", json: [
            "name": .string(name), "phone_number": .string(phone), "consents": Self.mandatoryConsents,
        ])
        #expect(response.status == 201, "\(response.text)")
        let token = try #require(response.json?["access_token"]?.stringValue)
        let id = try #require(response.json?["user"]?["id"]?.intValue)
        return (token, String(id))
    }

    /// Logs in with the development code.
    func login(_ phone: String) async throws -> String {
        let response = try await request(.POST, "/auth/login", json: ["phone_number": .string(phone), "otp": "123456"])
        #expect(response.status == 200, "\(response.text)")
        return try #require(response.json?["access_token"]?.stringValue)
    }

    func grant(_ token: String, _ category: String, _ purpose: String, to recipient: String = "self") async throws -> TestResponse {
        try await request(.POST, "/api/v1/consent/grant", token: token, json: [
            "data_category": .string(category), "purpose": .string(purpose), "granted_to": .string(recipient),
        ])
    }

    /// Moves the expiry of the user's records of `purpose` into the past, as time passing would.
    func expire(userID: String, purpose: String) async throws {
        try await store.execute(
            "UPDATE consents SET expires_at = '2020-01-01T00:00:00.000Z' WHERE user_id = ? AND purpose = ?", [.text(userID), .text(purpose)])
    }

    func count(_ sql: String, _ params: SQLValue...) async throws -> Int {
        try await store.one(sql, params)?.int("n") ?? -1
    }

    /// The audit actions recorded for a subject, oldest first.
    func auditActions(subject: String) async throws -> [String] {
        try await store.query("SELECT action FROM audit_log WHERE user_id = ? ORDER BY id", [.text(subject)]).compactMap { $0.string("action") }
    }
}

// MARK: Test configuration

let testPolicies = """
    return {
      vault = { auth = "jwt", consent = "medicine_reminders" },
      notes = { auth = "jwt", consent = "mental_health_processing" },
      records_upstream = { auth = "jwt", consent = "hospital_data_sharing", audit = "health_record" },
    }
    """

let testRoutes = """
    return {
      { prefix = "/vault", service = "vault", policy = "vault" },
      { prefix = "/notes", service = "lua:notes", policy = "notes" },
      { prefix = "/records-upstream", upstream = "http://127.0.0.1:9", policy = "records_upstream" },
    }
    """

/// A Lua service with its own table, audited writes and reads, and rights hooks.
let notesService = """
    local notes = service("notes")

    notes:migrate{
      "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL)",
    }

    notes:post("/", function(req)
      local body = req:json()
      local id = db.transaction(function()
        local r = db.exec("INSERT INTO notes (user_id, body, created_at) VALUES (?, ?, ?)", req.user.id, body.body, time.iso())
        audit.log{ action = "write", resource_type = "note", resource_id = r.last_id, purpose = "mental_health_processing" }
        return r.last_id
      end)
      return 200, { id = id }
    end)

    notes:get("/", function(req)
      local rows = db.query("SELECT id, body FROM notes WHERE user_id = ? ORDER BY id", req.user.id)
      audit.log{ action = "read", resource_type = "note", purpose = "mental_health_processing" }
      return 200, { notes = json.array(rows) }
    end)

    notes:on_export(function(user_id)
      return { notes = json.array(db.query("SELECT id, body, created_at FROM notes WHERE user_id = ? ORDER BY id", user_id)) }
    end)

    notes:on_erase(function(user_id)
      return db.exec("DELETE FROM notes WHERE user_id = ?", user_id).changes
    end)

    return notes
    """

// MARK: A Swift service with its own data

/// A Swift service keeping entries per user, each write audited in its transaction.
struct VaultService: Service {
    let name = "vault"
    let store: any Store
    let audit: AuditLog

    static let migrations = ["CREATE TABLE vault_entries (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, entry TEXT NOT NULL)"]

    func start() async throws {
        try await store.migrate(service: "vault", Self.migrations)
    }

    var routes: ServiceRoutes {
        var routes = ServiceRoutes()
        let store = self.store, audit = self.audit
        routes.post("/") { req in
            guard let user = req.user, let entry = try await req.jsonObject()["entry"]?.stringValue else { throw ServiceError(.badRequest, "entry") }
            let id = try await store.transaction { db in
                let id = try await db.execute("INSERT INTO vault_entries (user_id, entry) VALUES (?, ?)", [.text(user.id), .text(entry)]).lastInsertID
                try await audit.record(
                    AuditEvent.by(req, service: "vault", action: "write", resourceType: "vault_entry", resourceID: String(id), purpose: "medicine_reminders"),
                    in: db)
                return id
            }
            return .json(["id": .int(id)])
        }
        routes.get("/") { req in
            guard let user = req.user else { throw ServiceError.unauthorized }
            let rows = try await store.query("SELECT id, entry FROM vault_entries WHERE user_id = ? ORDER BY id", [.text(user.id)])
            return .json(["entries": .array(rows.map { .object($0.json) })])
        }
        return routes
    }
}

struct VaultRights: DataRightsParticipant {
    let dataKey = "vault"

    func exportData(userID: String, from executor: any DatabaseExecutor) async throws -> JSONValue {
        .array(try await executor.query("SELECT id, entry FROM vault_entries WHERE user_id = ? ORDER BY id", [.text(userID)]).map { .object($0.json) })
    }

    func eraseData(userID: String, in transaction: any StoreTransaction) async throws -> Int {
        try await transaction.execute("DELETE FROM vault_entries WHERE user_id = ?", [.text(userID)]).changes
    }
}

/// A participant whose erasure fails after the others have deleted their parts.
struct FailingRights: DataRightsParticipant {
    struct Failure: Error {}
    let dataKey = "broken"

    func exportData(userID: String, from executor: any DatabaseExecutor) async throws -> JSONValue { .null }

    func eraseData(userID: String, in transaction: any StoreTransaction) async throws -> Int {
        throw Failure()
    }
}

/// Stands in for the upstream proxy (the streaming proxy is not on main yet): records what the
/// gateway forwards and answers 200.
final class RecordingUpstream: UpstreamForwarder {
    private let forwarded = Mutex<[String]>([])

    var paths: [String] { forwarded.withLock { $0 } }

    func forward(_ request: ProxyRequest, to target: UpstreamTarget) async throws -> Response {
        forwarded.withLock { $0.append(request.targetPath) }
        return .json(["upstream": true])
    }

    func probe(_ target: UpstreamTarget, path: String, timeout: Duration) async -> Int? { 200 }
}

import AsyncHTTPClient
import Foundation
import Gateway
import Logging
import LuaRuntime
import AuthService
import ConsentService
import DiagnosticsService
import Groq
import ServiceKit
import Store

/// The composition root: builds the compiled-in services, the Lua primitives and the seams the
/// gateway needs, from the environment. A new Swift service is one line in `makeServices`.
struct Composition {
    let environment: [String: String]
    let settings: GatewaySettings
    let dataDirectory: String
    let services: [any Service]
    let identity: (any IdentityVerifier)?
    let consent: (any ConsentChecker)?
    let audit: AuditLog
    /// The Swift services' parts of the user's rights; `bindRights` adds the Lua services'.
    let swiftParticipants: [any DataRightsParticipant]
    let rights: DataRightsRegistry
    let primitives: LuaPrimitives
    let store: any Store
    let logger: Logger

    /// `configDirectory` is the folder `files.read` may read from (relative paths resolve there).
    static func make(
        environment: [String: String] = ProcessInfo.processInfo.environment, dataDirectory: String? = nil, configDirectory: String = "."
    ) async throws -> Composition {
        var logger = Logger(label: "mysehat")
        logger.logLevel = Logger.Level(rawValue: environment["LOG_LEVEL"]?.lowercased() ?? "info") ?? .info
        let settings = GatewaySettings.fromEnvironment(environment)
        let data = dataDirectory ?? Self.dataDirectory(environment)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: Self.databasePath(in: data))
        // Refuses to start in production without JWT_SECRET_KEY (>= 32 bytes).
        let authConfiguration = try AuthConfiguration.fromEnvironment(environment)
        let audit = try await AuditLog.open(store: store, configuredKey: environment["AUDIT_HMAC_KEY"])
        try await ConsentRecords.migrate(store)
        let consent = ConsentRecords(store, audit: audit)
        let auth = AuthService(store: store, configuration: authConfiguration, audit: audit, logger: logger)
        let groq = GroqClient(configuration: GroqConfiguration.fromEnvironment(environment), logger: logger)
        let diagnostics = DiagnosticsService(store: store, imageDescriber: GroqImageDescriber(client: groq), audit: audit)
        let swiftParticipants: [any DataRightsParticipant] = [auth.rightsParticipant, diagnostics.rightsParticipant]
        let rights = DataRightsRegistry { swiftParticipants }
        let consentService = ConsentService(store: store, audit: audit, rights: rights, logger: logger)

        var primitives = LuaPrimitives()
        primitives.addBasics(config: Self.luaConfig(environment))
        primitives.addHTTP(allowedHosts: Self.httpAllowList(environment))
        primitives.addDatabase(store)
        primitives.addJWT(TokenCodec(secret: authConfiguration.secret))
        primitives.addConsent(consent, overrides: EmergencyOverrideRecords(audit: audit))
        primitives.addAudit(audit)
        primitives.addGroq(groq)
        primitives.addCrypto()
        primitives.addFiles(root: configDirectory, readable: Self.readableFiles(environment))
        primitives.addShared()
        return Composition(
            environment: environment, settings: settings, dataDirectory: data, services: [auth, consentService, diagnostics],
            identity: auth.identityVerifier,
            consent: consent, audit: audit, swiftParticipants: swiftParticipants, rights: rights, primitives: primitives, store: store,
            logger: logger)
    }

    static func dataDirectory(_ environment: [String: String]) -> String {
        environment["DATA_DIR"] ?? "./data"
    }

    static func databasePath(in dataDirectory: String) -> String {
        dataDirectory + "/mysehat.sqlite"
    }

    /// Export and erasure reach the Swift services and the Lua services of the gateway's current
    /// configuration generation (which changes with every reload).
    func bindRights(to runtime: GatewayRuntime) {
        let swiftParticipants = self.swiftParticipants
        rights.provide { swiftParticipants + LuaRightsParticipant.all(in: runtime.config) }
    }

    /// For `check`, `routes` and `openapi`: the same services over a throw-away data folder.
    static func forInspection(configDirectory: String) async throws -> Composition {
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("mysehat-inspect-\(UUID().uuidString)").path
        var environment = ProcessInfo.processInfo.environment
        environment["LOG_LEVEL"] = "error"
        return try await make(environment: environment, dataDirectory: temporary, configDirectory: configDirectory)
    }

    func loader(directory: String) -> ConfigLoader {
        let store = self.store
        return ConfigLoader(
            directory: directory, swiftServices: services, production: settings.production, luaPrimitives: primitives,
            luaMigrator: { rule, migrations in try await rule.migrate(migrations, on: store) }, logger: logger)
    }

    /// Values scripts may read with `config.get`: `MYSEHAT_LUA_<KEY>` variables (as lower-case
    /// keys) and a few named settings services need. Never the whole environment.
    static func luaConfig(_ environment: [String: String]) -> [String: String] {
        var values: [String: String] = [:]
        for (key, value) in environment where key.hasPrefix("MYSEHAT_LUA_") {
            values[String(key.dropFirst("MYSEHAT_LUA_".count)).lowercased()] = value
        }
        for key in [
            "SOS_WEBHOOK_URL", "SOS_WEBHOOK_SECRET", "SOS_TRAVEL_SECONDS", "SOS_ROUTER_URL", "SOS_HOSPITALS_FILE", "DEFAULT_TIMEZONE", "MYSEHAT_ENV",
        ] {
            if let value = environment[key] { values[key.lowercased()] = value }
        }
        return values
    }

    /// Files outside the config folder that ops named explicitly, which `files.read` may read.
    static func readableFiles(_ environment: [String: String]) -> [String] {
        ["SOS_HOSPITALS_FILE"].compactMap { environment[$0] }.filter { $0.hasPrefix("/") }
    }

    /// Hosts `http.request` may reach besides loopback: `LUA_HTTP_ALLOW` plus configured webhooks.
    static func httpAllowList(_ environment: [String: String]) -> Set<String> {
        var hosts = Set((environment["LUA_HTTP_ALLOW"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        for key in ["SOS_WEBHOOK_URL", "SOS_ROUTER_URL"] {
            if let url = environment[key], let host = URLComponents(string: url)?.host { hosts.insert(host.lowercased()) }
        }
        hosts.remove("")
        return hosts
    }
}

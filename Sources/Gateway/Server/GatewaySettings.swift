import Foundation

/// Process-wide settings that do not come from the Lua config folder.
public struct GatewaySettings: Sendable {
    public var version: String
    public var production: Bool
    /// Peers whose `X-Forwarded-For` is believed (00-conventions §7).
    public var trustedProxies: Set<String>
    /// Largest request header block (431 beyond it).
    public var maxHeaderBytes: Int
    /// Whether `GROQ_API_KEY` is set (reported on /health).
    public var aiConfigured: Bool
    /// Bound on finishing in-flight requests at shutdown.
    public var shutdownGrace: Duration
    /// One line per request on standard error (`ACCESS_LOG=off` turns it off; so does a log level above info).
    public var accessLog: Bool

    public init(
        version: String = "3.0.0", production: Bool = false, trustedProxies: Set<String> = [], maxHeaderBytes: Int = 16 * 1024,
        aiConfigured: Bool = false, shutdownGrace: Duration = .seconds(10), accessLog: Bool = true
    ) {
        self.version = version
        self.production = production
        self.trustedProxies = trustedProxies
        self.maxHeaderBytes = maxHeaderBytes
        self.aiConfigured = aiConfigured
        self.shutdownGrace = shutdownGrace
        self.accessLog = accessLog
    }

    public static func fromEnvironment(_ environment: [String: String]) -> GatewaySettings {
        var settings = GatewaySettings()
        settings.production = environment["MYSEHAT_ENV"]?.lowercased() == "production"
        settings.trustedProxies = Set((environment["TRUSTED_PROXIES"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        settings.aiConfigured = !(environment["GROQ_API_KEY"] ?? "").isEmpty
        settings.accessLog = !["off", "0", "false", "no"].contains(environment["ACCESS_LOG"]?.lowercased() ?? "on")
        return settings
    }
}

import HTTPTypes
import HummingbirdCore
import LuaRuntime
import ServiceKit

/// The gateway's own endpoints: `/`, `/health`, `/services`, `/openapi.json`, `/docs`, `/redoc`.
struct GatewayEndpoints: Sendable {
    let runtime: GatewayRuntime
    let health: HealthProber

    init(runtime: GatewayRuntime) {
        self.runtime = runtime
        self.health = HealthProber(runtime: runtime)
    }

    static let paths: Set<String> = ["/", "/health", "/services", "/openapi.json", "/docs", "/redoc"]

    func respond(_ context: RequestContext, config: GatewayConfig) async -> Response? {
        let path = context.path
        guard Self.paths.contains(path) else { return nil }
        switch context.method {
        case .get, .head: break
        case .options: return RequestPipeline.optionsAnswer([.get, .head])
        default: return ErrorRenderer.response(for: .methodNotAllowed(allow: [.get, .head]), requestID: context.requestID)
        }
        switch path {
        case "/": return .json(root(config))
        case "/health": return .json(await healthBody(config))
        case "/services": return .json(await servicesBody(config))
        case "/openapi.json": return .json(OpenAPIDocument(config: config, version: runtime.settings.version).build())
        case "/docs": return DocsPage.response(.swagger)
        default: return DocsPage.response(.redoc)
        }
    }

    /// Public names of the areas in `/`, keyed the way the reference wrote them.
    static let areaKeys: [String: String] = [
        "auth": "auth", "diagnostics": "diagnostics", "medicine": "medicine_reminder", "mental-health": "mental_health",
        "sos": "sos_emergency", "fhir": "fhir", "health-records": "health_records",
    ]

    func root(_ config: GatewayConfig) -> JSONObject {
        var services = JSONObject()
        for service in config.services where service.name != "consent" {
            let key = Self.areaKeys[service.name] ?? service.name.replacingOccurrences(of: "-", with: "_")
            let prefix = service.prefix == "/" ? "/*" : service.prefix + "/*"
            services[key] = .string(prefix)
        }
        return [
            "message": "Welcome to MySehat Healthcare Gateway",
            "version": .string(runtime.settings.version),
            "architecture": "gateway",
            "render_compatible": true,
            "dpdp_compliant": true,
            "services": .object(services),
            "dpdp_endpoints": ["consent": "/api/v1/consent", "my_data": "/api/v1/my-data", "audit": "/api/v1/audit"],
            "docs": "/docs",
        ]
    }

    func healthBody(_ config: GatewayConfig) async -> JSONObject {
        let statuses = await health.probeAll(config)
        var services = JSONObject()
        for (name, status) in statuses { services[name] = .string(status.rawValue) }
        let allHealthy = statuses.allSatisfy { $0.1 == .healthy }
        let lastError = runtime.lastReloadError
        return [
            "status": .string(allHealthy && lastError == nil ? "ok" : "degraded"),
            "timestamp": .string(Instant.now()),
            "gateway": "healthy",
            "services": .object(services),
            "ai": .string(runtime.settings.aiConfigured ? "configured" : "not_configured"),
            "dpdp_compliant": true,
            "config": [
                "generation": .int(Int64(config.generation)),
                "loaded_at": .string(config.loadedAt),
                "last_error": JSONValue(lastError),
            ],
        ]
    }

    func servicesBody(_ config: GatewayConfig) async -> JSONObject {
        let statuses = Dictionary(await health.probeAll(config), uniquingKeysWith: { a, _ in a })
        var list: [JSONValue] = []
        for service in config.services {
            let item: JSONObject = [
                "name": .string(service.name),
                "gateway_prefix": .string(service.prefix),
                "status": .string((statuses[service.name] ?? .unavailable).rawValue),
                "kind": .string(service.target.kind),
            ]
            // Internal addresses are not exposed (00-conventions §10.3); `mysehat routes` shows them.
            list.append(.object(item))
        }
        return ["services": .array(list)]
    }
}

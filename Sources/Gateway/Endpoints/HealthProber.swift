import LuaRuntime
import ServiceKit

/// Finds each service's status for `/health` and `/services`: all probes concurrently, each
/// limited to 2 s (00-conventions §10.2).
struct HealthProber: Sendable {
    let runtime: GatewayRuntime
    static let probeTimeout: Duration = .seconds(2)

    func probeAll(_ config: GatewayConfig) async -> [(String, ServiceHealth)] {
        let services = config.services
        let results = await withTaskGroup(of: (Int, ServiceHealth).self) { group in
            for (index, service) in services.enumerated() {
                group.addTask { (index, await probe(service.name, target: service.target, pool: config.lua)) }
            }
            var results: [Int: ServiceHealth] = [:]
            for await (index, status) in group { results[index] = status }
            return results
        }
        return services.enumerated().map { ($0.element.name, results[$0.offset] ?? .unavailable) }
    }

    func probe(_ name: String, target: RouteTarget, pool: LuaWorkerPool) async -> ServiceHealth {
        switch target {
        case .swift(let service):
            return (try? await withDeadline(Self.probeTimeout, onTimeout: ServiceError.timedOut(service: name)) { await service.health() })
                ?? .unavailable
        case .lua(let lua):
            guard lua.declaration.hasHealthCheck else { return .healthy }
            let request = LuaRequest(
                method: "GET", path: "/health", params: [:], query: [], headers: [], body: [], user: nil, requestID: "health-probe",
                clientIP: "127.0.0.1", deadlineNanoseconds: LuaClock.deadline(after: Self.probeTimeout))
            guard let outcome = await pool.next().healthCheck(service: lua.declaration.name, request: request) else { return .healthy }
            if case .response(let answer) = outcome { return answer.status == 200 ? .healthy : .degraded }
            return .degraded
        case .upstream(let upstream, let supervised):
            let path = supervised?.healthPath ?? "/health"
            guard let status = await runtime.upstream.probe(upstream, path: path, timeout: Self.probeTimeout) else { return .unavailable }
            return status == 200 ? .healthy : .degraded
        }
    }
}

import LuaRuntime
import ServiceKit

/// One validated, immutable generation of the configuration. Requests capture the generation
/// they start on and finish on it, whatever reloads happen meanwhile.
public final class GatewayConfig: Sendable {
    public let generation: Int
    public let loadedAt: String
    public let routes: RouteTable
    public let policies: [String: Policy]
    public let cors: CORSPolicy
    public let lua: LuaWorkerPool
    public let warnings: [ConfigIssue]
    /// Files the configuration was read from, with their modification times, for change detection.
    public let sourceFiles: [String]

    init(
        generation: Int, loadedAt: String, routes: RouteTable, policies: [String: Policy], cors: CORSPolicy, lua: LuaWorkerPool,
        warnings: [ConfigIssue], sourceFiles: [String]
    ) {
        self.generation = generation
        self.loadedAt = loadedAt
        self.routes = routes
        self.policies = policies
        self.cors = cors
        self.lua = lua
        self.warnings = warnings
        self.sourceFiles = sourceFiles
    }

    /// Each routed service once, in routing-table order, with its first public prefix.
    public var services: [(name: String, prefix: String, target: RouteTarget)] {
        var seen: Set<String> = []
        var result: [(String, String, RouteTarget)] = []
        for entry in routes.entries where seen.insert(entry.serviceName).inserted {
            result.append((entry.serviceName, entry.publicPrefix, entry.target))
        }
        return result
    }
}

import AsyncHTTPClient
import HummingbirdCore
import Logging
import ServiceKit

// Interim: replaced by the streaming proxy from the proxy branch.
public final class UpstreamProxy: UpstreamForwarder {
    public init(httpClient: HTTPClient, logger: Logger) {}

    public func forward(_ request: ProxyRequest, to target: UpstreamTarget) async throws -> Response {
        throw ServiceError.unavailable(service: target.name)
    }

    public func probe(_ target: UpstreamTarget, path: String, timeout: Duration) async -> Int? { nil }
}

// Interim: replaced by the supervisor from the proxy branch.
public actor UpstreamSupervisor: ChildProcessSupervisor {
    public init(name: String, command: [String], workingDirectory: String, environment: [String: String], healthURL: String,
                logger: Logger, readyTimeout: Duration = .seconds(30)) {}
    public func start() async throws {}
    public func stop() async {}
    public var isReady: Bool { false }
}

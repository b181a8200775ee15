import HTTPTypes
import HummingbirdCore
import ServiceKit

/// The pipeline's view of the upstream proxy.
public protocol UpstreamForwarder: Sendable {
    func forward(_ request: ProxyRequest, to target: UpstreamTarget) async throws -> Response
    /// `GET path` on the upstream: its status, or nil when it does not answer in time.
    func probe(_ target: UpstreamTarget, path: String, timeout: Duration) async -> Int?
}

/// One request to forward. Headers are the client's, already cleaned of X-User-Id/X-User-Role by
/// the pipeline; the proxy adds the verified identity from `user`.
public struct ProxyRequest: Sendable {
    public var method: HTTPRequest.Method
    public var targetPath: String
    public var query: String?
    public var headers: HTTPFields
    public var body: RequestBody
    public var publicPath: String
    public var publicPrefix: String
    public var clientIP: String
    public var publicScheme: String
    public var publicHost: String?
    public var requestID: String
    public var user: VerifiedUser?

    public init(
        method: HTTPRequest.Method, targetPath: String, query: String?, headers: HTTPFields, body: RequestBody, publicPath: String,
        publicPrefix: String, clientIP: String, publicScheme: String, publicHost: String?, requestID: String, user: VerifiedUser?
    ) {
        self.method = method
        self.targetPath = targetPath
        self.query = query
        self.headers = headers
        self.body = body
        self.publicPath = publicPath
        self.publicPrefix = publicPrefix
        self.clientIP = clientIP
        self.publicScheme = publicScheme
        self.publicHost = publicHost
        self.requestID = requestID
        self.user = user
    }
}

/// Where a routing-table entry sends requests.
public struct UpstreamTarget: Sendable {
    public let name: String
    public let scheme: String
    public let host: String
    public let port: Int
    public let basePath: String
    public let timeout: Duration

    public init(name: String, scheme: String, host: String, port: Int, basePath: String, timeout: Duration) {
        self.name = name
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = basePath
        self.timeout = timeout
    }
}

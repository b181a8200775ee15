import HTTPTypes
import HummingbirdCore
import Logging

/// The identity the gateway verified from a bearer token. Services never read identity elsewhere.
public struct VerifiedUser: Sendable, Equatable {
    public let id: String
    public let role: String
    public let tokenID: String?

    public init(id: String, role: String, tokenID: String? = nil) {
        self.id = id
        self.role = role
        self.tokenID = tokenID
    }
}

/// Health as `/health` and `/services` report it.
public enum ServiceHealth: String, Sendable {
    case healthy, degraded, unavailable
}

/// A service compiled into the binary. The composition root registers each one by name; routing
/// tables refer to it with `service = "name"`.
public protocol Service: Sendable {
    /// The name used in routing tables, error texts and `/services`.
    var name: String { get }
    /// The service's endpoints, relative to the path the gateway hands it.
    var routes: ServiceRoutes { get }
    /// Called once before the gateway serves (migrations, seeds).
    func start() async throws
    func health() async -> ServiceHealth
}

extension Service {
    public func start() async throws {}
    public func health() async -> ServiceHealth { .healthy }
}

/// What a handler sees of a request.
public struct ServiceRequest: Sendable {
    public var method: HTTPRequest.Method
    /// The path as handed to the service (after prefix stripping or rewrite), percent-decoded.
    public var path: String
    /// The path the client used.
    public var publicPath: String
    /// The raw query string, without `?`.
    public var query: String?
    public var headers: HTTPFields
    public var body: RequestBody
    /// Path parameters from the service's own route template (and the routing-table entry).
    public var params: [String: String]
    public var user: VerifiedUser?
    public var requestID: String
    public var clientIP: String
    /// The body limit of the route's policy; `collectBody()` enforces it.
    public var maxBodySize: Int
    public var logger: Logger

    public init(
        method: HTTPRequest.Method, path: String, publicPath: String, query: String?, headers: HTTPFields,
        body: RequestBody, params: [String: String] = [:], user: VerifiedUser? = nil, requestID: String,
        clientIP: String, maxBodySize: Int = 1 << 20, logger: Logger
    ) {
        self.method = method
        self.path = path
        self.publicPath = publicPath
        self.query = query
        self.headers = headers
        self.body = body
        self.params = params
        self.user = user
        self.requestID = requestID
        self.clientIP = clientIP
        self.maxBodySize = maxBodySize
        self.logger = logger
    }

    /// The verified caller; 401 when the gateway handed over none (a route whose policy should
    /// have required a token).
    public func verifiedUser() throws -> VerifiedUser {
        guard let user else { throw ServiceError.invalidToken }
        return user
    }

    /// The verified caller holding one of `roles` (defence in depth behind the route's policy).
    public func verifiedUser(withRole roles: String...) throws -> VerifiedUser {
        let user = try verifiedUser()
        guard roles.contains(user.role) else { throw ServiceError.requiresRole(roles) }
        return user
    }

    /// Query parameters, percent-decoded (`+` as space), in order.
    public var queryItems: [(name: String, value: String)] { QueryString.parse(query) }

    /// The first value of a query parameter.
    public func query(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// The whole body, answering 413 when it exceeds the route's limit.
    public func collectBody() async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in body {
            guard bytes.count + chunk.readableBytes <= maxBodySize else { throw ServiceError.bodyTooLarge }
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return bytes
    }

    /// The body parsed as JSON. Enforces the JSON content type (415) and answers 422 `json_invalid`
    /// for a syntax error, as 00-conventions §3.2 says.
    public func jsonBody() async throws -> JSONValue {
        if let type = headers[.contentType], !MediaType.isJSON(type) { throw ServiceError.unsupportedMediaType }
        return try Self.decodeJSON(try await collectBody())
    }

    /// A collected body parsed as JSON; 422 `json_invalid` at the error's byte offset.
    public static func decodeJSON(_ bytes: [UInt8]) throws -> JSONValue {
        do {
            return try JSON.decode(bytes)
        } catch {
            throw ServiceError.validation([
                ValidationIssue(type: "json_invalid", loc: ["body", .int(Int64(error.offset))], msg: "JSON decode error",
                                ctx: ["error": .string(error.message)])
            ])
        }
    }
}

public enum MediaType {
    /// `application/json`, any `+json` type.
    public static func isJSON(_ contentType: String) -> Bool {
        let first = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        let essence = first.filter { $0 != " " && $0 != "\t" }.lowercased()
        return essence == "application/json" || essence.hasSuffix("+json")
    }
}


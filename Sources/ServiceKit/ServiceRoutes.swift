import HTTPTypes
import HummingbirdCore

/// A request handler of a Swift service.
public typealias ServiceHandler = @Sendable (ServiceRequest) async throws -> Response

/// What a service tells OpenAPI about one endpoint.
public struct OperationInfo: Sendable {
    public var summary: String
    public var description: String?
    public var tags: [String]
    public var requestBody: JSONValue?
    public var response: JSONValue?

    public init(summary: String = "", description: String? = nil, tags: [String] = [], requestBody: JSONValue? = nil, response: JSONValue? = nil) {
        self.summary = summary
        self.description = description
        self.tags = tags
        self.requestBody = requestBody
        self.response = response
    }
}

/// One endpoint of a service: method, path template, handler.
public struct ServiceRoute: Sendable {
    public let method: HTTPRequest.Method
    public let template: PathTemplate
    public let info: OperationInfo
    public let handler: ServiceHandler
}

/// A service's own route table. Literal segments beat parameters; a known path with the wrong method
/// is a 405 listing the methods it accepts. GET routes also answer HEAD.
public struct ServiceRoutes: Sendable {
    public private(set) var routes: [ServiceRoute] = []

    public init() {}

    public enum Match: Sendable {
        case found(ServiceRoute, params: [String: String])
        case methodNotAllowed(allow: [HTTPRequest.Method])
        case notFound
    }

    public mutating func add(_ method: HTTPRequest.Method, _ path: String, _ info: OperationInfo = .init(), handler: @escaping ServiceHandler) {
        let template: PathTemplate
        do {
            template = try PathTemplate(path)
        } catch {
            preconditionFailure("invalid route template in service code: \(error)")
        }
        routes.append(ServiceRoute(method: method, template: template, info: info, handler: handler))
        // Keep the most specific templates first so the first hit is the right one.
        routes.sort { $0.template.isMoreSpecific(than: $1.template) && !$1.template.isMoreSpecific(than: $0.template) }
    }

    public mutating func get(_ path: String, _ info: OperationInfo = .init(), handler: @escaping ServiceHandler) {
        add(.get, path, info, handler: handler)
    }
    public mutating func post(_ path: String, _ info: OperationInfo = .init(), handler: @escaping ServiceHandler) {
        add(.post, path, info, handler: handler)
    }
    public mutating func put(_ path: String, _ info: OperationInfo = .init(), handler: @escaping ServiceHandler) {
        add(.put, path, info, handler: handler)
    }
    public mutating func patch(_ path: String, _ info: OperationInfo = .init(), handler: @escaping ServiceHandler) {
        add(.patch, path, info, handler: handler)
    }
    public mutating func delete(_ path: String, _ info: OperationInfo = .init(), handler: @escaping ServiceHandler) {
        add(.delete, path, info, handler: handler)
    }

    public func match(method: HTTPRequest.Method, path: String) -> Match {
        let parts = PathTemplate.split(path)
        var allow: [HTTPRequest.Method] = []
        var best: (ServiceRoute, [String: String])?
        for route in routes {
            guard let params = route.template.match(parts) else { continue }
            if route.method == method || (method == .head && route.method == .get) {
                if let current = best, !route.template.isMoreSpecific(than: current.0.template) { continue }
                best = (route, params)
            } else if !allow.contains(route.method) {
                allow.append(route.method)
            }
        }
        if let best { return .found(best.0, params: best.1) }
        if allow.isEmpty { return .notFound }
        if allow.contains(.get) { allow.append(.head) }
        return .methodNotAllowed(allow: allow)
    }

    /// Methods accepted at a path (for OPTIONS answers).
    public func allowedMethods(path: String) -> [HTTPRequest.Method] {
        let parts = PathTemplate.split(path)
        var allow: [HTTPRequest.Method] = []
        for route in routes where route.template.match(parts) != nil && !allow.contains(route.method) {
            allow.append(route.method)
        }
        if allow.contains(.get) && !allow.contains(.head) { allow.append(.head) }
        return allow
    }
}

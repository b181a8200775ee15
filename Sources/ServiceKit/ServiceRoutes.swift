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

/// A service's own route table.
public struct ServiceRoutes: Sendable {
    public private(set) var matcher = TemplateMatcher<ServiceRoute>()

    public init() {}

    public var routes: [ServiceRoute] { matcher.entries.map(\.value) }

    public mutating func add(_ method: HTTPRequest.Method, _ path: String, _ info: OperationInfo = .init(), handler: @escaping ServiceHandler) {
        let template: PathTemplate
        do {
            template = try PathTemplate(path)
        } catch {
            preconditionFailure("invalid route template in service code: \(error)")
        }
        matcher.add(method, template, ServiceRoute(method: method, template: template, info: info, handler: handler))
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

    public func match(method: HTTPRequest.Method, path: String) -> TemplateMatcher<ServiceRoute>.Match {
        matcher.match(method: method, path: path)
    }

    public func allowedMethods(path: String) -> [HTTPRequest.Method] {
        matcher.allowedMethods(path: path)
    }
}

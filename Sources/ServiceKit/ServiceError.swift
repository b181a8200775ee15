import HTTPTypes

/// An error a handler throws to answer with `{"detail": ...}` (plus documented extra keys).
///
/// The gateway renders it in the route's error format (plain JSON, or an OperationOutcome on FHIR
/// routes) and adds the request id.
public struct ServiceError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var detail: JSONValue
    public var extra: JSONObject
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ detail: String, extra: JSONObject = [:], headers: HTTPFields = [:]) {
        self.status = status
        self.detail = .string(detail)
        self.extra = extra
        self.headers = headers
    }

    public init(_ status: HTTPResponse.Status, detail: JSONValue, extra: JSONObject = [:], headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.extra = extra
        self.headers = headers
    }

    /// The JSON body: `detail` first, then the extra keys.
    public var body: JSONObject {
        var object: JSONObject = ["detail": detail]
        for (key, value) in extra { object[key] = value }
        return object
    }

    public static let notFound = ServiceError(.notFound, "Not Found")
    public static let internalError = ServiceError(.internalServerError, "Internal Server Error")
    public static let bodyTooLarge = ServiceError(.contentTooLarge, "Request body too large")
    public static let unsupportedMediaType = ServiceError(.unsupportedMediaType, "Unsupported Media Type")
    public static let unauthorized = ServiceError(
        .unauthorized, "Not authenticated", headers: [.wwwAuthenticate: "Bearer"])

    /// A missing, invalid, expired or revoked token (00-conventions §2.1).
    public static let invalidToken = ServiceError(.unauthorized, "Invalid or expired token", headers: [.wwwAuthenticate: "Bearer"])

    /// A caller without one of the roles (00-conventions §2.3).
    public static func requiresRole(_ roles: [String]) -> ServiceError {
        ServiceError(.forbidden, "This endpoint requires one of the roles: \(roles.joined(separator: ", "))")
    }

    public static func methodNotAllowed(allow: [HTTPRequest.Method]) -> ServiceError {
        ServiceError(.methodNotAllowed, "Method Not Allowed", headers: [.allow: allow.map(\.rawValue).joined(separator: ", ")])
    }

    public static func unavailable(service: String) -> ServiceError {
        ServiceError(.serviceUnavailable, "Service '\(service)' is unavailable")
    }

    public static func timedOut(service: String) -> ServiceError {
        ServiceError(.gatewayTimeout, "Service '\(service)' timed out")
    }

    public static func invalidResponse(service: String) -> ServiceError {
        ServiceError(.badGateway, "Service '\(service)' returned an invalid response")
    }
}

/// One problem in a 422 answer (00-conventions §3.2).
public struct ValidationIssue: Sendable, Equatable {
    public var type: String
    public var loc: [JSONValue]
    public var msg: String
    public var input: JSONValue?
    public var ctx: JSONObject?

    public init(type: String, loc: [JSONValue], msg: String, input: JSONValue? = nil, ctx: JSONObject? = nil) {
        self.type = type
        self.loc = loc
        self.msg = msg
        self.input = input
        self.ctx = ctx
    }

    public var json: JSONValue {
        var object: JSONObject = ["type": .string(type), "loc": .array(loc), "msg": .string(msg)]
        if let input { object["input"] = input }
        if let ctx { object["ctx"] = .object(ctx) }
        return .object(object)
    }
}

extension ServiceError {
    /// 422 with the list of every problem found.
    public static func validation(_ issues: [ValidationIssue]) -> ServiceError {
        ServiceError(.unprocessableContent, detail: .array(issues.map(\.json)))
    }
}

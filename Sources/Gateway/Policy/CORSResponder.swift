import HTTPTypes
import HummingbirdCore
import ServiceKit

/// Answers CORS preflights and decorates actual responses (00-conventions §8).
struct CORSResponder {
    let policy: CORSPolicy

    static let requestMethod = HTTPField.Name("Access-Control-Request-Method")!
    static let requestHeaders = HTTPField.Name("Access-Control-Request-Headers")!
    static let allowOrigin = HTTPField.Name("Access-Control-Allow-Origin")!
    static let allowMethods = HTTPField.Name("Access-Control-Allow-Methods")!
    static let allowHeaders = HTTPField.Name("Access-Control-Allow-Headers")!
    static let allowCredentials = HTTPField.Name("Access-Control-Allow-Credentials")!
    static let exposeHeaders = HTTPField.Name("Access-Control-Expose-Headers")!
    static let maxAge = HTTPField.Name("Access-Control-Max-Age")!
    static let origin = HTTPField.Name("Origin")!

    static func isPreflight(_ request: HTTPRequest) -> Bool {
        request.method == .options && request.headerFields[origin] != nil && request.headerFields[requestMethod] != nil
    }

    /// 204 with the CORS headers, or 403 naming what is not allowed.
    func preflight(_ request: HTTPRequest) -> Result<HTTPFields, ServiceError> {
        let origin = request.headerFields[Self.origin] ?? ""
        guard policy.allows(origin: origin) else { return .failure(ServiceError(.forbidden, "CORS origin not allowed")) }
        let method = (request.headerFields[Self.requestMethod] ?? "").uppercased()
        guard policy.methods.contains(method) else { return .failure(ServiceError(.forbidden, "CORS method not allowed")) }
        let requested = (request.headerFields[Self.requestHeaders] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }
        if let allowed = policy.allowHeaders {
            for header in requested where !allowed.contains(header.lowercased()) {
                return .failure(ServiceError(.forbidden, "CORS header not allowed"))
            }
        }
        var headers = HTTPFields()
        headers[Self.allowOrigin] = policy.isBareWildcard ? "*" : origin
        headers[Self.allowMethods] = policy.methods.joined(separator: ", ")
        if !requested.isEmpty { headers[Self.allowHeaders] = requested.joined(separator: ", ") }
        headers[Self.maxAge] = String(policy.maxAge)
        if policy.allowCredentials { headers[Self.allowCredentials] = "true" }
        headers[.vary] = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        return .success(headers)
    }

    /// Headers for an actual (non-preflight) response.
    func decorate(_ headers: inout HTTPFields, origin: String?) {
        if !policy.isBareWildcard { Self.appendVary("Origin", to: &headers) }
        guard let origin, policy.allows(origin: origin) else { return }
        headers[Self.allowOrigin] = policy.isBareWildcard ? "*" : origin
        if !policy.exposeHeaders.isEmpty { headers[Self.exposeHeaders] = policy.exposeHeaders.joined(separator: ", ") }
        if policy.allowCredentials { headers[Self.allowCredentials] = "true" }
    }

    static func appendVary(_ value: String, to headers: inout HTTPFields) {
        if let existing = headers[.vary] {
            let parts = existing.split(separator: ",").map { $0.trimmingCharacters(in: " ").lowercased() }
            if !parts.contains(value.lowercased()) { headers[.vary] = existing + ", " + value }
        } else {
            headers[.vary] = value
        }
    }
}

extension Substring {
    func trimmingCharacters(in characters: String) -> String {
        String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}

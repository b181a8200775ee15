import ServiceKit

/// What a route requires before its target runs (issue order: size limits, rate limit, auth,
/// roles, consent, access hook).
public struct Policy: Sendable {
    public enum Auth: String, Sendable {
        case none, optional, jwt
    }

    /// How errors on the route are written: `{"detail": ...}` or a FHIR OperationOutcome.
    public enum ErrorFormat: String, Sendable {
        case json, fhir
    }

    public var auth: Auth = .none
    /// Roles allowed; nil allows every role.
    public var roles: [String]?
    public var rateLimits: [RateLimitRule] = []
    /// Largest request body in bytes.
    public var maxBody: Int = 1 << 20
    /// Consent purpose the verified user must hold.
    public var consent: String?
    /// Lua function run before the target; may answer the request itself.
    public var access: LuaFunctionReference?
    /// Resource type recorded in the audit log for requests on the route.
    public var audit: String?
    public var errorFormat: ErrorFormat = .json
    /// Overrides the route's time limit.
    public var timeout: Duration?

    public init() {}

    public static let open = Policy()
}

/// A token-bucket rate limit.
public struct RateLimitRule: Sendable, Equatable {
    public enum Key: Sendable, Equatable {
        case ip
        case user
        case route
        /// A field of the JSON body (e.g. the phone number of a login).
        case bodyField(String)
    }

    /// Which callers the rule counts.
    public enum Scope: String, Sendable {
        case all, anonymous, users
    }

    /// Requests allowed per `period` seconds (the bucket refills continuously).
    public let limit: Int
    public let period: Double
    /// Bucket size; defaults to `limit`.
    public let burst: Int
    public let key: Key
    /// `detail` of the 429 answer.
    public let message: String
    public let scope: Scope

    public var refillPerSecond: Double { Double(limit) / period }
}

/// Names a Lua function a config file returned, by file and key path.
public struct LuaFunctionReference: Sendable, Equatable {
    public let file: String
    public let path: [JSONValue]
}

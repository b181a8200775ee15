/// The CORS settings of `policies/cors.lua` (00-conventions §8).
public struct CORSPolicy: Sendable {
    public enum OriginRule: Sendable, Equatable {
        case any
        case exact(String)
        /// `https://*.example.org`: scheme, then a suffix the host must end with after a label.
        case wildcard(scheme: String, suffix: String)

        func matches(_ origin: String) -> Bool {
            switch self {
            case .any: return true
            case .exact(let value): return value == origin
            case .wildcard(let scheme, let suffix):
                guard origin.hasPrefix(scheme + "://") else { return false }
                let host = origin.dropFirst(scheme.count + 3)
                return host.hasSuffix(suffix) && host.count > suffix.count && !host.dropLast(suffix.count).contains("/")
            }
        }
    }

    public var origins: [OriginRule]
    public var methods: [String]
    /// nil allows every requested header.
    public var allowHeaders: [String]?
    public var exposeHeaders: [String]
    public var allowCredentials: Bool
    public var maxAge: Int

    public static let defaultMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    public static let defaultExposeHeaders = ["X-Request-ID", "Retry-After", "Content-Disposition", "WWW-Authenticate"]

    /// Development: any origin without credentials. Production: no origin until configured.
    public static func defaults(production: Bool) -> CORSPolicy {
        CORSPolicy(
            origins: production ? [] : [.any], methods: defaultMethods, allowHeaders: nil,
            exposeHeaders: defaultExposeHeaders, allowCredentials: false, maxAge: 600)
    }

    /// The bare wildcard sends `*` and no `Vary: Origin`.
    public var isBareWildcard: Bool { origins == [.any] && !allowCredentials }

    public func allows(origin: String) -> Bool {
        origins.contains { $0.matches(origin) }
    }
}

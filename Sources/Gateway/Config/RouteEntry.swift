import HTTPTypes
import LuaRuntime
import ServiceKit

/// Where a route sends its requests.
public enum RouteTarget: Sendable {
    /// A Swift service compiled into the binary.
    case swift(any Service)
    /// A Lua service declared in services/.
    case lua(LuaServiceTarget)
    /// An HTTP service on loopback (or a public host the entry allows explicitly).
    case upstream(UpstreamTarget, supervised: SupervisedCommand?)

    public var kind: String {
        switch self {
        case .swift: "swift"
        case .lua: "lua"
        case .upstream: "upstream"
        }
    }
}

/// A Lua service with its routes indexed for matching.
public struct LuaServiceTarget: Sendable {
    public let declaration: LuaServiceDeclaration
    /// Route index within the declaration, by method and path template.
    public let matcher: TemplateMatcher<Int>
}

/// A child process the gateway starts and keeps alive for an upstream route.
public struct SupervisedCommand: Sendable, Hashable {
    public let command: [String]
    public let healthPath: String
    public let environment: [String: String]
}

/// How a route entry matches request paths.
public enum RouteMatch: Sendable, CustomStringConvertible {
    case exact(String)
    case prefix(String)
    case template(PathTemplate)

    public var description: String {
        switch self {
        case .exact(let path): path
        case .prefix(let prefix): prefix == "/" ? "/*" : prefix + "/*"
        case .template(let template): template.description
        }
    }

    /// Rank in the precedence order: exact, then prefix, then parameterised.
    var rank: Int {
        switch self {
        case .exact: 0
        case .prefix: 1
        case .template: 2
        }
    }
}

/// Where in the config folder something was declared.
public struct SourceLocation: Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int?

    public var description: String { line.map { "\(file):\($0)" } ?? file }
}

/// One validated line of a routing table.
public struct RouteEntry: Sendable {
    public let match: RouteMatch
    /// nil accepts every method.
    public let methods: [HTTPRequest.Method]?
    public let policy: Policy
    public let policyName: String?
    public let target: RouteTarget
    /// The service name used in error texts and /services.
    public let serviceName: String
    public let stripPrefix: Bool
    /// The path handed to the target instead of the public one (with `{param}` substitution for
    /// exact and parameterised routes; as a replacement of the matched prefix for prefix routes).
    public let rewrite: String?
    public let timeout: Duration
    public let location: SourceLocation
    /// Segments of an exact path or prefix, computed once.
    let literalSegments: [Substring]

    init(
        match: RouteMatch, methods: [HTTPRequest.Method]?, policy: Policy, policyName: String?, target: RouteTarget,
        serviceName: String, stripPrefix: Bool, rewrite: String?, timeout: Duration, location: SourceLocation
    ) {
        self.match = match
        self.methods = methods
        self.policy = policy
        self.policyName = policyName
        self.target = target
        self.serviceName = serviceName
        self.stripPrefix = stripPrefix
        self.rewrite = rewrite
        self.timeout = timeout
        self.location = location
        switch match {
        case .exact(let path), .prefix(let path): literalSegments = PathTemplate.split(path)
        case .template: literalSegments = []
        }
    }

    public func accepts(_ method: HTTPRequest.Method) -> Bool {
        guard let methods else { return true }
        return methods.contains(method) || (method == .head && methods.contains(.get))
    }

    /// The public prefix shown in `/services` and used for Location rewriting.
    public var publicPrefix: String {
        switch match {
        case .exact(let path): path
        case .prefix(let prefix): prefix
        case .template(let template): template.description
        }
    }

    /// The path the target receives for a request whose (raw) path segments are `segments`.
    func targetPath(rawSegments segments: [Substring], params: [String: String]) -> String {
        switch match {
        case .prefix:
            let rest = segments.dropFirst(literalSegments.count).joined(separator: "/")
            if let rewrite {
                let base = rewrite == "/" ? "" : rewrite
                return rest.isEmpty ? (base.isEmpty ? "/" : base) : base + "/" + rest
            }
            if stripPrefix { return "/" + rest }
            return "/" + segments.joined(separator: "/")
        case .exact, .template:
            if let rewrite { return Self.substitute(rewrite, params: params) }
            return "/" + segments.joined(separator: "/")
        }
    }

    static func substitute(_ template: String, params: [String: String]) -> String {
        guard template.contains("{") else { return template }
        var result = template
        for (name, value) in params {
            result = result.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return result
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var remainder = Substring(self)
        while let range = remainder.firstRange(of: target) {
            result += remainder[..<range.lowerBound]
            result += replacement
            remainder = remainder[range.upperBound...]
        }
        result += remainder
        return result
    }
}

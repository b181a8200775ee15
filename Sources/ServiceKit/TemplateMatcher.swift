import HTTPTypes

/// Method + path-template matching shared by Swift service routes and Lua service routes.
/// Literal segments beat parameters; a known path with the wrong method is a 405 listing the
/// methods it accepts; GET also answers HEAD.
public struct TemplateMatcher<Value: Sendable>: Sendable {
    public struct Entry: Sendable {
        public let method: HTTPRequest.Method
        public let template: PathTemplate
        public let value: Value
    }

    public enum Match: Sendable {
        case found(Value, params: [String: String])
        case methodNotAllowed(allow: [HTTPRequest.Method])
        case notFound
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public mutating func add(_ method: HTTPRequest.Method, _ template: PathTemplate, _ value: Value) {
        entries.append(Entry(method: method, template: template, value: value))
    }

    public func match(method: HTTPRequest.Method, path: String) -> Match {
        match(method: method, segments: PathTemplate.split(path))
    }

    public func match(method: HTTPRequest.Method, segments: [Substring]) -> Match {
        var allow: [HTTPRequest.Method] = []
        var best: (Entry, [String: String])?
        for entry in entries {
            guard let params = entry.template.match(segments) else { continue }
            if entry.method == method || (method == .head && entry.method == .get) {
                if let current = best, !entry.template.isMoreSpecific(than: current.0.template) { continue }
                best = (entry, params)
            } else if !allow.contains(entry.method) {
                allow.append(entry.method)
            }
        }
        if let best { return .found(best.0.value, params: best.1) }
        if allow.isEmpty { return .notFound }
        if allow.contains(.get) && !allow.contains(.head) { allow.append(.head) }
        return .methodNotAllowed(allow: allow)
    }

    /// Methods accepted at a path (for OPTIONS answers); empty when the path is unknown.
    public func allowedMethods(path: String) -> [HTTPRequest.Method] {
        let segments = PathTemplate.split(path)
        var allow: [HTTPRequest.Method] = []
        for entry in entries where entry.template.match(segments) != nil && !allow.contains(entry.method) {
            allow.append(entry.method)
        }
        if allow.contains(.get) && !allow.contains(.head) { allow.append(.head) }
        return allow
    }
}

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
    /// Method and template of each entry, kept apart from the values so matching walks small
    /// structs instead of copying (and retaining) every value on the way.
    private var keys: [(method: HTTPRequest.Method, template: PathTemplate)] = []

    public init() {}

    public mutating func add(_ method: HTTPRequest.Method, _ template: PathTemplate, _ value: Value) {
        entries.append(Entry(method: method, template: template, value: value))
        keys.append((method, template))
    }

    public func match(method: HTTPRequest.Method, path: String) -> Match {
        match(method: method, segments: PathTemplate.split(path))
    }

    public func match(method: HTTPRequest.Method, segments: [Substring]) -> Match {
        var allow: [HTTPRequest.Method] = []
        var best: (index: Int, params: [String: String])?
        for index in keys.indices {
            let key = keys[index]
            guard let params = key.template.match(segments) else { continue }
            if key.method == method || (method == .head && key.method == .get) {
                if let current = best, !key.template.isMoreSpecific(than: keys[current.index].template) { continue }
                best = (index, params)
            } else if !allow.contains(key.method) {
                allow.append(key.method)
            }
        }
        if let best { return .found(entries[best.index].value, params: best.params) }
        if allow.isEmpty { return .notFound }
        if allow.contains(.get) && !allow.contains(.head) { allow.append(.head) }
        return .methodNotAllowed(allow: allow)
    }

    /// Methods accepted at a path (for OPTIONS answers); empty when the path is unknown.
    public func allowedMethods(path: String) -> [HTTPRequest.Method] {
        let segments = PathTemplate.split(path)
        var allow: [HTTPRequest.Method] = []
        for key in keys where key.template.match(segments) != nil && !allow.contains(key.method) {
            allow.append(key.method)
        }
        if allow.contains(.get) && !allow.contains(.head) { allow.append(.head) }
        return allow
    }
}

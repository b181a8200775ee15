import HTTPTypes
import ServiceKit

/// The routing table: exact paths, then the longest prefix, then parameterised paths (literal
/// segments beating parameters). A path that matches but not for the method is a 405.
public struct RouteTable: Sendable {
    public let entries: [RouteEntry]
    private let exact: [String: [Int]]
    /// Prefix entries, longest first.
    private let prefixes: [Int]
    /// Parameterised entries, most specific first.
    private let templates: [Int]

    public enum Match {
        case found(RouteEntry, params: [String: String])
        case methodNotAllowed(allow: [HTTPRequest.Method])
        case notFound
    }

    public init(entries: [RouteEntry]) {
        self.entries = entries
        var exact: [String: [Int]] = [:]
        var prefixes: [Int] = []
        var templates: [Int] = []
        for (index, entry) in entries.enumerated() {
            switch entry.match {
            case .exact: exact["/" + entry.literalSegments.joined(separator: "/"), default: []].append(index)
            case .prefix: prefixes.append(index)
            case .template: templates.append(index)
            }
        }
        prefixes.sort { entries[$0].literalSegments.count > entries[$1].literalSegments.count }
        templates.sort { a, b in
            guard case .template(let x) = entries[a].match, case .template(let y) = entries[b].match else { return false }
            return x.isMoreSpecific(than: y)
        }
        self.exact = exact
        self.prefixes = prefixes
        self.templates = templates
    }

    /// Candidates for a (decoded) path, in precedence order.
    func candidates(segments: [Substring]) -> [(RouteEntry, [String: String])] {
        var result: [(RouteEntry, [String: String])] = []
        let normalised = "/" + segments.joined(separator: "/")
        for index in exact[normalised] ?? [] { result.append((entries[index], [:])) }
        for index in prefixes {
            let prefix = entries[index].literalSegments
            if segments.count >= prefix.count, zip(prefix, segments).allSatisfy({ $0 == $1 }) {
                result.append((entries[index], [:]))
            }
        }
        for index in templates {
            guard case .template(let template) = entries[index].match, let params = template.match(segments) else { continue }
            result.append((entries[index], params))
        }
        return result
    }

    public func match(method: HTTPRequest.Method, segments: [Substring]) -> Match {
        let candidates = candidates(segments: segments)
        var allow: [HTTPRequest.Method] = []
        for (entry, params) in candidates {
            if entry.accepts(method) { return .found(entry, params: params) }
            for m in entry.methods ?? [] where !allow.contains(m) { allow.append(m) }
        }
        if candidates.isEmpty { return .notFound }
        if allow.contains(.get) && !allow.contains(.head) { allow.append(.head) }
        return .methodNotAllowed(allow: allow)
    }

    /// The first entry whose path matches, whatever the method (for OPTIONS and CORS).
    public func anyMatch(segments: [Substring]) -> Bool {
        !candidates(segments: segments).isEmpty
    }
}

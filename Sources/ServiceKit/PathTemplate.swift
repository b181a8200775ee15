/// A path pattern such as `/sos/{sos_id}/emergency-data`: literal segments and `{name}` parameters.
///
/// Trailing slashes are not significant (00-conventions §1): `/sos` and `/sos/` are one path.
public struct PathTemplate: Sendable, Hashable, CustomStringConvertible {
    public enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    public let segments: [Segment]
    public let description: String

    public struct InvalidTemplate: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(_ text: String) throws(InvalidTemplate) {
        guard text.hasPrefix("/") else { throw InvalidTemplate(description: "path '\(text)' must start with '/'") }
        var segments: [Segment] = []
        var names: Set<String> = []
        for part in PathTemplate.split(text) {
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                let name = String(part.dropFirst().dropLast())
                guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw InvalidTemplate(description: "bad parameter name '{\(name)}' in '\(text)'")
                }
                guard names.insert(name).inserted else {
                    throw InvalidTemplate(description: "parameter '{\(name)}' appears twice in '\(text)'")
                }
                segments.append(.parameter(name))
            } else if part.contains("{") || part.contains("}") {
                throw InvalidTemplate(description: "a segment of '\(text)' mixes text and a parameter")
            } else {
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
        self.description = "/" + segments.map { segment in
            switch segment {
            case .literal(let s): s
            case .parameter(let name): "{\(name)}"
            }
        }.joined(separator: "/")
    }

    public var hasParameters: Bool {
        segments.contains { if case .parameter = $0 { true } else { false } }
    }

    public var parameterNames: [String] {
        segments.compactMap { if case .parameter(let name) = $0 { name } else { nil } }
    }

    /// Splits a path into its non-empty segments.
    public static func split(_ path: some StringProtocol) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { Substring($0) }
    }

    /// Matches already-split path segments; returns the parameters or nil.
    public func match(_ parts: [Substring]) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var params: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal):
                guard part == literal else { return nil }
            case .parameter(let name):
                params[name] = String(part)
            }
        }
        return params
    }

    /// Ordering for "literal segments beat parameters": compares segment by segment, a literal
    /// ranks before a parameter at the first position where they differ.
    public func isMoreSpecific(than other: PathTemplate) -> Bool {
        for (a, b) in zip(segments, other.segments) {
            switch (a, b) {
            case (.literal, .parameter): return true
            case (.parameter, .literal): return false
            default: continue
            }
        }
        return false
    }

    /// Whether some concrete path could match both templates.
    public func overlaps(_ other: PathTemplate) -> Bool {
        guard segments.count == other.segments.count else { return false }
        for (a, b) in zip(segments, other.segments) {
            if case .literal(let x) = a, case .literal(let y) = b, x != y { return false }
        }
        return true
    }
}

import Foundation

/// Rewrites a `Location` the upstream sent so that it points at the gateway (00-conventions §11).
///
/// An absolute URL whose host is the upstream's own address or any loopback address becomes
/// `publicScheme://publicHost` + public prefix + the rest of the path (the upstream's base path
/// removed); without a known public host it becomes the path alone, which clients resolve against
/// the address they used. A path-absolute reference (`/x`) is relative to the upstream's root,
/// which the client sees under the public prefix, so it gets the prefix too. Anything else (another
/// host, a relative path, `//host/...` of a foreign host) passes unchanged.
struct LocationRewriter {
    let target: UpstreamTarget
    let publicScheme: String
    let publicHost: String?
    /// Prepended to upstream paths; "" when the route hands the upstream the public path unchanged.
    let publicPrefix: String

    func rewrite(_ location: String) -> String {
        if location.hasPrefix("/") && !location.hasPrefix("//") {
            return publicPath(forUpstreamPath: Substring(location))
        }
        guard let url = AbsoluteURL(location), pointsAtUpstream(url) else { return location }
        let path = publicPath(forUpstreamPath: url.rest)
        guard let publicHost else { return path }
        return "\(publicScheme)://\(publicHost)\(path)"
    }

    private func pointsAtUpstream(_ url: AbsoluteURL) -> Bool {
        if Self.isLoopback(url.host) { return true }
        let defaultPort = url.scheme == "https" ? 443 : 80
        return url.host == target.host.lowercased() && (url.port ?? defaultPort) == target.port
    }

    /// `rest` is path, query and fragment as the upstream wrote them ("" or starting with / ? #).
    private func publicPath(forUpstreamPath rest: Substring) -> String {
        var rest = rest
        let base = target.basePath.hasSuffix("/") ? String(target.basePath.dropLast()) : target.basePath
        if !base.isEmpty, rest.hasPrefix(base), rest.dropFirst(base.count).first.map({ "/?#".contains($0) }) ?? true {
            rest = rest.dropFirst(base.count)
        }
        let prefix = publicPrefix.hasSuffix("/") ? String(publicPrefix.dropLast()) : publicPrefix
        if rest.first == "/" { return prefix + rest }
        // "", "?q" or "#f": the upstream's root, which is the prefix itself.
        return (prefix.isEmpty ? "/" : prefix) + rest
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}

/// The parts of `scheme://[userinfo@]host[:port]rest` a Location rewrite needs; host in lower
/// case without IPv6 brackets.
struct AbsoluteURL {
    let scheme: String
    let host: String
    let port: Int?
    let rest: Substring

    init?(_ text: String) {
        guard let separator = text.range(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let afterScheme = text[separator.upperBound...]
        let authorityEnd = afterScheme.firstIndex { "/?#".contains($0) } ?? afterScheme.endIndex
        var authority = afterScheme[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterHost = authority[authority.index(after: close)...]
            if afterHost.hasPrefix(":") { port = afterHost.dropFirst() }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        if let port, !port.isEmpty {
            guard let number = Int(port) else { return nil }
            self.port = number
        } else {
            self.port = nil
        }
        self.scheme = scheme
        self.host = host.lowercased()
        self.rest = afterScheme[authorityEnd...]
    }
}

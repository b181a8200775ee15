import HTTPTypes
import NIOHTTP1
import ServiceKit

/// The header rewriting of 00-conventions §11, in both directions.
///
/// Names are compared in lower case: HTTPFields' canonical names and NIO's raw names both reduce to it.
enum ForwardedHeaders {
    /// Hop-by-hop headers (RFC 9110 §7.6.1) plus the non-standard Proxy-Connection: they describe
    /// one connection, so they never cross the proxy.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade", "proxy-connection",
    ]

    /// Request headers the proxy sets itself, so the client's values are dropped. `Expect` is
    /// answered (or not) by the gateway's own server: a 100 Continue from the upstream could not
    /// be relayed. `Content-Length` is set by the client library from the body's declared length.
    static let replacedOnRequest: Set<String> = [
        "host", "expect", "content-length", "x-forwarded-proto", "x-forwarded-host", "x-request-id", "x-original-path",
        "x-forwarded-by", "x-user-id", "x-user-role",
    ]

    /// The names a message's Connection headers list (lower case); usually none.
    static func connectionNamed(_ connectionValues: some Sequence<some StringProtocol>) -> Set<String> {
        var names: Set<String> = []
        for value in connectionValues {
            for token in value.split(separator: ",") {
                let name = String(token.filter { $0 != " " && $0 != "\t" }).lowercased()
                if !name.isEmpty { names.insert(name) }
            }
        }
        return names
    }

    /// The headers the upstream receives for `request`.
    static func upstreamRequest(_ request: ProxyRequest, target: UpstreamTarget) -> HTTPHeaders {
        let named = connectionNamed(request.headers[values: .connection])
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + 10)
        headers.add(name: "Host", value: target.hostHeader)
        var forwardedFor: [String] = []
        var cookies: [String] = []
        for field in request.headers {
            let name = field.name.canonicalName
            if hopByHop.contains(name) || replacedOnRequest.contains(name) || named.contains(name) { continue }
            switch name {
            case "x-forwarded-for": forwardedFor.append(field.value)
            // HTTP/2-style split cookies go back into the single header HTTP/1.1 requires.
            case "cookie": cookies.append(field.value)
            default: headers.add(name: field.name.rawName, value: field.value)
            }
        }
        if !cookies.isEmpty { headers.add(name: "Cookie", value: cookies.joined(separator: "; ")) }
        forwardedFor.append(request.clientIP)
        headers.add(name: "X-Forwarded-For", value: forwardedFor.joined(separator: ", "))
        headers.add(name: "X-Forwarded-Proto", value: request.publicScheme)
        if let publicHost = request.publicHost { headers.add(name: "X-Forwarded-Host", value: publicHost) }
        headers.add(name: "X-Request-ID", value: request.requestID)
        headers.add(name: "X-Original-Path", value: String(request.publicPath.prefix { $0 != "?" }))
        headers.add(name: "X-Forwarded-By", value: "mysehat-gateway")
        // Identity comes only from the verified token; without one the headers stay removed.
        if let user = request.user {
            headers.add(name: "X-User-Id", value: user.id)
            headers.add(name: "X-User-Role", value: user.role)
        }
        return headers
    }

    /// The upstream's response headers as the client receives them: hop-by-hop headers removed,
    /// repeated headers (Set-Cookie) kept as separate fields, order kept.
    static func clientResponse(_ upstream: HTTPHeaders) -> HTTPFields {
        let named = connectionNamed(upstream[canonicalForm: "connection"])
        var fields = HTTPFields()
        fields.reserveCapacity(upstream.count)
        for (name, value) in upstream {
            guard let fieldName = HTTPField.Name(name) else { continue }
            let canonical = fieldName.canonicalName
            if hopByHop.contains(canonical) || named.contains(canonical) { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return fields
    }
}

extension UpstreamTarget {
    /// `Host` for the upstream: host, and the port unless it is the scheme's default.
    var hostHeader: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? host : "\(host):\(port)"
    }
}

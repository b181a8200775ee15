import HTTPTypes
import NIOCore

/// The client address for rate limits and audit rows: the TCP peer, or, when the peer is a trusted
/// proxy, the right-most `X-Forwarded-For` address that is not itself trusted (00-conventions §7).
enum ClientAddress {
    static func resolve(peer: SocketAddress?, headers: HTTPFields, trusted: Set<String>) -> (ip: String, scheme: String) {
        let peerIP = peer?.ipAddress ?? "unknown"
        guard !trusted.isEmpty, trusted.contains(peerIP) else { return (peerIP, "http") }
        var client = peerIP
        if let forwarded = headers[.xForwardedFor] {
            let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: " \t") }
            for hop in hops.reversed() where !hop.isEmpty {
                client = hop
                if !trusted.contains(hop) { break }
            }
        }
        let proto = headers[.xForwardedProto]?.lowercased() == "https" ? "https" : "http"
        return (client, proto)
    }
}

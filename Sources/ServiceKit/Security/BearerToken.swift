import HTTPTypes

/// Reads `Authorization: Bearer <token>`: the scheme case-insensitively, one or more spaces
/// (00-conventions §2.1). The gateway uses it to verify; services that act on the presented token
/// itself (logout, validate) use it to find that token.
public enum BearerToken {
    public enum Presence: Sendable {
        case absent
        case malformed
        case token(String)
    }

    public static func read(_ headers: HTTPFields) -> Presence {
        guard let value = headers[.authorization] else { return .absent }
        let utf8 = Array(value.utf8)
        guard utf8.count > 7 else { return .malformed }
        let scheme = String(decoding: utf8[0..<6], as: UTF8.self).lowercased()
        guard scheme == "bearer", utf8[6] == 0x20 else { return .malformed }
        let token = value.dropFirst(6).drop { $0 == " " }
        guard !token.isEmpty, !token.contains(" ") else { return .malformed }
        return .token(String(token))
    }

    /// The token, or nil when the header is absent or malformed.
    public static func token(in headers: HTTPFields) -> String? {
        if case .token(let token) = read(headers) { return token }
        return nil
    }
}

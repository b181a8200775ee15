import Crypto

/// Why a token was refused. Callers answer every case the same way (401); the cases exist for
/// logs and tests.
public enum TokenError: Error, Sendable, Equatable {
    /// Not three base64url parts, a part that is not a JSON object, or an oversized token.
    case malformed
    /// The header names an algorithm other than HS256 (including `none`), or critical extensions.
    case unsupportedAlgorithm
    case invalidSignature
    case expired
    case notYetValid
    /// A claim is missing or has the wrong type or value; the text names it.
    case invalidClaims(String)
}

/// HS256 JSON Web Tokens in compact form (RFC 7519 / 7515).
///
/// The server fixes the algorithm: a token is verified with HMAC-SHA256 and the configured secret
/// whatever its header says, and any header that does not name `HS256` is refused before the
/// signature is looked at. Nothing in a token chooses how it is checked.
public struct TokenCodec: Sendable {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    public static let leewaySeconds: Int64 = 30
    /// Longer tokens are refused unparsed; ours are about 250 bytes.
    public static let maximumLength = 8 * 1024

    static let header: JSONObject = ["alg": "HS256", "typ": "JWT"]

    public let secret: JWTSecret

    public init(secret: JWTSecret) {
        self.secret = secret
    }

    /// Signs `claims` exactly as given; the caller adds `exp` and friends.
    public func sign(_ claims: JSONObject) -> String {
        sign(claims, header: Self.header)
    }

    /// Any header, so tests can forge what an attacker would send.
    func sign(_ claims: JSONObject, header: JSONObject) -> String {
        sign(encodedHeader: Base64URL.encode(JSON.encode(.object(header))), encodedPayload: Base64URL.encode(JSON.encode(.object(claims))))
    }

    func sign(encodedHeader: String, encodedPayload: String) -> String {
        let signingInput = encodedHeader + "." + encodedPayload
        let mac = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: secret.key)
        return signingInput + "." + Base64URL.encode(Array(mac))
    }

    /// The claims of a token whose header, signature and time claims are valid at `now` (Unix
    /// seconds). `exp`, `nbf` and `iat` are optional here, but when present they must be numbers
    /// and hold, with 30 s of leeway.
    public func verify(_ token: String, now: Int64 = Instant.nowSeconds()) throws(TokenError) -> JSONObject {
        guard token.utf8.count <= Self.maximumLength else { throw .malformed }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { throw .malformed }

        guard let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { throw .malformed }

        let header = try Self.object(headerBytes)
        guard header["alg"] == .string("HS256") else { throw .unsupportedAlgorithm }
        // RFC 7515 §4.1.11: extensions we do not understand make the token unacceptable.
        guard header["crit"] == nil else { throw .unsupportedAlgorithm }

        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        // isValidAuthenticationCode compares in constant time.
        guard signature.count == SHA256.byteCount,
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: secret.key)
        else { throw .invalidSignature }

        // The payload is parsed only once it is known to be ours.
        let claims = try Self.object(payloadBytes)
        try Self.checkTimes(claims, now: now)
        return claims
    }

    static func object(_ bytes: [UInt8]) throws(TokenError) -> JSONObject {
        guard let value = try? JSON.decode(bytes), let object = value.objectValue else { throw .malformed }
        return object
    }

    static func checkTimes(_ claims: JSONObject, now: Int64) throws(TokenError) {
        func time(_ name: String) throws(TokenError) -> Double? {
            guard let value = claims[name] else { return nil }
            guard let seconds = value.doubleValue, seconds.isFinite else { throw .invalidClaims("\(name) is not a number") }
            return seconds
        }
        let now = Double(now), leeway = Double(leewaySeconds)
        if let expiry = try time("exp"), now >= expiry + leeway { throw .expired }
        if let notBefore = try time("nbf"), notBefore > now + leeway { throw .notYetValid }
        if let issuedAt = try time("iat"), issuedAt > now + leeway { throw .notYetValid }
    }
}

/// The claims of an access token (00-conventions §2.1).
public struct AccessTokenClaims: Sendable, Equatable {
    public static let roles: Set<String> = ["patient", "clinician", "responder", "admin"]

    /// `sub`: the account id as a decimal string.
    public let userID: String
    public let role: String
    /// `jti`: 32 lowercase hex characters.
    public let tokenID: String
    public let issuedAt: Int64
    public let expiresAt: Int64

    public init(userID: String, role: String, tokenID: String, issuedAt: Int64, expiresAt: Int64) {
        self.userID = userID
        self.role = role
        self.tokenID = tokenID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }

    /// In the order the spec's example shows them.
    public var json: JSONObject {
        [
            "sub": .string(userID), "iat": .int(issuedAt), "exp": .int(expiresAt), "jti": .string(tokenID),
            "type": "access", "role": .string(role),
        ]
    }

    /// Reads and checks every claim an access token must carry.
    public init(claims: JSONObject) throws(TokenError) {
        guard claims["type"] == "access" else { throw .invalidClaims("type is not access") }
        guard let sub = claims["sub"]?.stringValue, !sub.isEmpty else { throw .invalidClaims("sub") }
        guard case .int(let iat)? = claims["iat"] else { throw .invalidClaims("iat") }
        guard case .int(let exp)? = claims["exp"] else { throw .invalidClaims("exp") }
        guard let jti = claims["jti"]?.stringValue, Hex.isLowercase(jti, length: 32) else { throw .invalidClaims("jti") }
        guard let role = claims["role"]?.stringValue, Self.roles.contains(role) else { throw .invalidClaims("role") }
        self.init(userID: sub, role: role, tokenID: jti, issuedAt: iat, expiresAt: exp)
    }
}

extension TokenCodec {
    /// A signed access token with a fresh `jti`, valid for `lifetime` seconds from `now`.
    public func issueAccessToken(
        userID: String, role: String, lifetime: Int64, now: Int64 = Instant.nowSeconds()
    ) -> (token: String, claims: AccessTokenClaims) {
        let claims = AccessTokenClaims(
            userID: userID, role: role, tokenID: SecureRandom.hex(16), issuedAt: now, expiresAt: now + lifetime)
        return (sign(claims.json), claims)
    }

    /// Signature, header, time claims and the access-token claims. Revocation and the account
    /// are the caller's to check.
    public func verifyAccessToken(_ token: String, now: Int64 = Instant.nowSeconds()) throws(TokenError) -> AccessTokenClaims {
        let claims = try verify(token, now: now)
        guard claims["exp"] != nil else { throw .invalidClaims("exp") }
        return try AccessTokenClaims(claims: claims)
    }
}

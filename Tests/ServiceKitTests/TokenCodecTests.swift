import Testing

@testable import ServiceKit

@Suite struct TokenCodecTests {
    let now: Int64 = 1_772_360_130
    let codec = TokenCodec(secret: try! JWTSecret(bytes: Array("0123456789abcdef0123456789abcdef".utf8)))

    func accessToken(lifetime: Int64 = 86_400) -> (token: String, claims: AccessTokenClaims) {
        codec.issueAccessToken(userID: "1", role: "patient", lifetime: lifetime, now: now)
    }

    func parts(_ token: String) -> [String] { token.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }

    func b64(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }

    @Test func issuesAndVerifiesAnAccessToken() throws {
        let (token, claims) = accessToken()
        #expect(parts(token)[0] == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9")
        #expect(claims.expiresAt == now + 86_400)
        #expect(Hex.isLowercase(claims.tokenID, length: 32))
        let verified = try codec.verifyAccessToken(token, now: now + 10)
        #expect(verified == claims)
        #expect(Array(try codec.verify(token, now: now).keys) == ["sub", "iat", "exp", "jti", "type", "role"])
    }

    @Test func tokenIDsAreUnique() {
        #expect(accessToken().claims.tokenID != accessToken().claims.tokenID)
    }

    @Test func genericClaimsRoundTrip() throws {
        let claims: JSONObject = ["purpose": "lua", "n": 3, "nested": ["a": [1, 2]]]
        let token = codec.sign(claims)
        #expect(try codec.verify(token, now: now) == claims)
    }

    @Test func refusesAlgNone() {
        let claims = accessToken().claims.json
        let unsigned = b64(#"{"alg":"none","typ":"JWT"}"#) + "." + Base64URL.encode(JSON.encode(.object(claims))) + "."
        #expect(throws: TokenError.malformed) { try codec.verify(unsigned, now: now) }
        // Even with a valid HS256 signature over that header, `none` is refused.
        let signed = codec.sign(claims, header: ["alg": "none", "typ": "JWT"])
        #expect(throws: TokenError.unsupportedAlgorithm) { try codec.verify(signed, now: now) }
        let noneCase = codec.sign(claims, header: ["alg": "None"])
        #expect(throws: TokenError.unsupportedAlgorithm) { try codec.verify(noneCase, now: now) }
    }

    @Test(arguments: ["RS256", "ES256", "HS384", "HS512", "PS256", "hs256", "HS256 ", ""])
    func refusesOtherAlgorithmsEvenWithAValidHS256Signature(alg: String) {
        let token = codec.sign(accessToken().claims.json, header: ["alg": .string(alg), "typ": "JWT"])
        #expect(throws: TokenError.unsupportedAlgorithm) { try codec.verify(token, now: now) }
    }

    @Test func refusesHeadersWithoutAStringAlg() {
        let claims = accessToken().claims.json
        for header: JSONObject in [["typ": "JWT"], ["alg": ["HS256"]], ["alg": .null], ["alg": "HS256", "crit": ["exp"]]] {
            let token = codec.sign(claims, header: header)
            #expect(throws: TokenError.unsupportedAlgorithm) { try codec.verify(token, now: now) }
        }
    }

    @Test func refusesAnotherKey() throws {
        let other = TokenCodec(secret: .random())
        let token = other.sign(accessToken().claims.json)
        #expect(throws: TokenError.invalidSignature) { try codec.verify(token, now: now) }
    }

    @Test func refusesExpiredTokens() throws {
        let (token, _) = accessToken(lifetime: 60)
        #expect(throws: Never.self) { try codec.verifyAccessToken(token, now: now + 60 + 29) }
        #expect(throws: TokenError.expired) { try codec.verifyAccessToken(token, now: now + 60 + 30) }
        #expect(throws: TokenError.expired) { try codec.verify(token, now: now + 10_000) }
    }

    @Test func refusesTokensNotYetValid() {
        let future = codec.sign(["sub": "1", "nbf": .int(now + 31)])
        #expect(throws: TokenError.notYetValid) { try codec.verify(future, now: now) }
        #expect(throws: Never.self) { try codec.verify(codec.sign(["nbf": .int(now + 30)]), now: now) }
        let issuedLater = codec.issueAccessToken(userID: "1", role: "patient", lifetime: 3600, now: now + 120).token
        #expect(throws: TokenError.notYetValid) { try codec.verifyAccessToken(issuedLater, now: now) }
        let textTime = codec.sign(["exp": "tomorrow"])
        #expect(throws: TokenError.invalidClaims("exp is not a number")) { try codec.verify(textTime, now: now) }
    }

    @Test func refusesATamperedPayload() {
        let (token, claims) = accessToken()
        var elevated = claims.json
        elevated["role"] = "admin"
        let p = parts(token)
        let forged = p[0] + "." + Base64URL.encode(JSON.encode(.object(elevated))) + "." + p[2]
        #expect(throws: TokenError.invalidSignature) { try codec.verify(forged, now: now) }
        // Flipping one signature character.
        var signature = Array(p[2])
        signature[0] = signature[0] == "A" ? "B" : "A"
        #expect(throws: TokenError.invalidSignature) { try codec.verify(p[0] + "." + p[1] + "." + String(signature), now: now) }
        // A truncated signature.
        #expect(throws: TokenError.invalidSignature) { try codec.verify(p[0] + "." + p[1] + "." + String(p[2].prefix(40)), now: now) }
    }

    @Test func refusesMalformedTokens() {
        let token = accessToken().token
        let p = parts(token)
        let cases = [
            "", ".", "..", "abc", p[0] + "." + p[1], p[0] + "." + p[1] + "." + p[2] + ".x", p[0] + ".." + p[2],
            p[0] + "." + p[1] + ".", "." + p[1] + "." + p[2],
            b64("not json") + "." + p[1] + "." + p[2], b64("[1]") + "." + p[1] + "." + p[2],
            String(repeating: "a", count: TokenCodec.maximumLength + 1),
        ]
        for text in cases {
            #expect(throws: TokenError.malformed, "\(text)") { try codec.verify(text, now: now) }
        }
        // Correctly signed, but a part is not a JSON object.
        let header = Base64URL.encode(JSON.encode(.object(TokenCodec.header)))
        for (h, payload) in [(header, b64("[1]")), (header, b64("{\"a\":")), (b64("\"HS256\""), p[1])] {
            let signed = codec.sign(encodedHeader: h, encodedPayload: payload)
            #expect(throws: TokenError.malformed) { try codec.verify(signed, now: now) }
        }
    }

    @Test func refusesBadBase64() {
        let p = parts(accessToken().token)
        let cases = [
            p[0] + "=" + "." + p[1] + "." + p[2],            // padding
            p[0] + "." + p[1] + "." + p[2] + "=",
            p[0].replacing("J", with: "+") + "." + p[1] + "." + p[2],  // standard alphabet
            p[0] + "." + p[1] + "." + p[2].dropLast() + "/",
            p[0] + "." + p[1] + "." + p[2] + "AA",             // impossible length (4n + 1)
            p[0] + "." + p[1] + "!" + "." + p[2],
        ]
        for text in cases {
            #expect(throws: TokenError.malformed, "\(text)") { try codec.verify(text, now: now) }
        }
    }

    @Test func accessTokensNeedEveryClaim() throws {
        let base = accessToken().claims.json
        for (name, value) in [("type", JSONValue.string("refresh")), ("sub", ""), ("iat", "1"), ("exp", 1.5),
                              ("jti", "ABCDEF0123456789ABCDEF0123456789"), ("jti", "12"), ("role", "root")] {
            var claims = base
            claims[name] = value
            #expect(throws: TokenError.self, "\(name)") { try codec.verifyAccessToken(codec.sign(claims), now: now) }
        }
        for name in ["type", "sub", "iat", "exp", "jti", "role"] {
            var claims = base
            claims[name] = nil
            #expect(throws: TokenError.self, "\(name)") { try codec.verifyAccessToken(codec.sign(claims), now: now) }
        }
    }
}

@Suite struct Base64URLTests {
    @Test func roundTripsEveryLength() {
        for count in 0..<40 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
        #expect(Base64URL.encode(Array("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".utf8)) == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9")
    }

    @Test func rejectsNonCanonicalSpellings() {
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("QR") == nil)   // trailing bits set
        #expect(Base64URL.decode("QQ==") == nil)
        #expect(Base64URL.decode("Q") == nil)
        #expect(Base64URL.decode("Q Q") == nil)
    }
}

@Suite struct JWTSecretTests {
    let strong = String(repeating: "k", count: 32)

    @Test func productionRequiresASecret() {
        #expect(throws: JWTSecret.ConfigurationError.self) { try JWTSecret.fromEnvironment(["MYSEHAT_ENV": "production"]) }
        #expect(throws: JWTSecret.ConfigurationError.self) {
            try JWTSecret.fromEnvironment(["MYSEHAT_ENV": "production", "JWT_SECRET_KEY": ""])
        }
        do {
            _ = try JWTSecret.fromEnvironment(["MYSEHAT_ENV": "Production"])
            Issue.record("production without a secret started")
        } catch {
            #expect(error.description.contains("JWT_SECRET_KEY is required"))
        }
    }

    @Test func shortSecretsAreRefused() {
        #expect(throws: JWTSecret.ConfigurationError.self) {
            try JWTSecret.fromEnvironment(["MYSEHAT_ENV": "production", "JWT_SECRET_KEY": String(strong.dropLast())])
        }
        #expect(throws: JWTSecret.ConfigurationError.self) { try JWTSecret.fromEnvironment(["JWT_SECRET_KEY": "short"]) }
    }

    @Test func configuredSecretsAreStable() throws {
        let a = TokenCodec(secret: try JWTSecret.fromEnvironment(["MYSEHAT_ENV": "production", "JWT_SECRET_KEY": strong]))
        let b = TokenCodec(secret: try JWTSecret.fromEnvironment(["JWT_SECRET_KEY": strong]))
        #expect(!a.secret.isGenerated)
        #expect(try b.verify(a.sign(["x": 1])) == ["x": 1])
    }

    @Test func developmentGeneratesARandomSecretPerStart() throws {
        let a = try JWTSecret.fromEnvironment([:])
        let b = try JWTSecret.fromEnvironment(["MYSEHAT_ENV": "development"])
        #expect(a.isGenerated && b.isGenerated)
        let token = TokenCodec(secret: a).sign(["x": 1])
        #expect(throws: TokenError.invalidSignature) { try TokenCodec(secret: b).verify(token) }
    }
}

@Suite struct ConstantTimeTests {
    @Test func compares() {
        #expect(ConstantTime.equals(Array("123456".utf8), Array("123456".utf8)))
        #expect(!ConstantTime.equals(Array("123456".utf8), Array("123457".utf8)))
        #expect(!ConstantTime.equals(Array("12345".utf8), Array("123456".utf8)))
    }
}

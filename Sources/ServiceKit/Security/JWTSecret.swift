import Crypto

/// The HS256 key that signs and verifies tokens (00-conventions §13, `JWT_SECRET_KEY`).
public struct JWTSecret: Sendable {
    public static let minimumBytes = 32

    // Kept as bytes: SymmetricKey is not Sendable on Linux; a key is made per use (cheap).
    let bytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: bytes) }
    /// True when no secret was configured and a random one was made for this process: tokens do
    /// not survive a restart, and the caller should log a warning saying so.
    public let isGenerated: Bool

    public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// A secret from configured bytes; at least 32 of them, as HS256 needs a key as long as its hash.
    public init(bytes: some Collection<UInt8>) throws(ConfigurationError) {
        guard bytes.count >= Self.minimumBytes else {
            throw ConfigurationError(description:
                "JWT_SECRET_KEY must be at least \(Self.minimumBytes) bytes long (got \(bytes.count))")
        }
        self.init(bytes: Array(bytes), isGenerated: false)
    }

    init(bytes: [UInt8], isGenerated: Bool) {
        self.bytes = bytes
        self.isGenerated = isGenerated
    }

    /// 32 random bytes, for development runs and tests.
    public static func random() -> JWTSecret {
        JWTSecret(bytes: SecureRandom.bytes(minimumBytes), isGenerated: true)
    }

    /// `JWT_SECRET_KEY` from the environment. Production (`MYSEHAT_ENV=production`) refuses to
    /// start without one; development makes a random secret per start and flags it. A configured
    /// secret that is too short is refused in both modes rather than silently replaced.
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> JWTSecret {
        let production = environment["MYSEHAT_ENV"]?.lowercased() == "production"
        guard let configured = environment["JWT_SECRET_KEY"], !configured.isEmpty else {
            if production {
                throw ConfigurationError(description:
                    "JWT_SECRET_KEY is required when MYSEHAT_ENV=production (at least \(minimumBytes) bytes); refusing to start")
            }
            return random()
        }
        return try JWTSecret(bytes: Array(configured.utf8))
    }
}

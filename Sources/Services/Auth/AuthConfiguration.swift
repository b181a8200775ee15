import ServiceKit

/// The auth service's settings (00-conventions §13), read once at start.
public struct AuthConfiguration: Sendable {
    public static let roles = ["patient", "clinician", "responder", "admin"]

    public var production: Bool
    public var secret: JWTSecret
    /// `JWT_ACCESS_TTL_SECONDS`
    public var accessTokenLifetime: Int64
    /// `DEV_OTP_CODE`; always nil in production, where it is never accepted.
    public var devOTPCode: String?
    /// `SMS_WEBHOOK_URL`
    public var smsWebhookURL: String?
    /// `MYSEHAT_ROLE_SEEDS`: phone number -> role.
    public var roleSeeds: [String: String]
    /// `SEED_DEMO_USERS`
    public var seedDemoUsers: Bool

    public init(
        production: Bool = false, secret: JWTSecret = .random(), accessTokenLifetime: Int64 = 86_400, devOTPCode: String? = "123456",
        smsWebhookURL: String? = nil, roleSeeds: [String: String] = [:], seedDemoUsers: Bool = false
    ) {
        self.production = production
        self.secret = secret
        self.accessTokenLifetime = accessTokenLifetime
        self.devOTPCode = production ? nil : devOTPCode
        self.smsWebhookURL = smsWebhookURL
        self.roleSeeds = roleSeeds
        self.seedDemoUsers = seedDemoUsers
    }

    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Every setting from the environment. Throws a message naming the variable when a value is
    /// unusable, or when production has no `JWT_SECRET_KEY`: the server must not start then.
    public static func fromEnvironment(_ environment: [String: String]) throws -> AuthConfiguration {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmed, !text.isEmpty else { return nil }
            return text
        }
        let production = environment["MYSEHAT_ENV"]?.lowercased() == "production"
        let secret: JWTSecret
        do {
            secret = try JWTSecret.fromEnvironment(environment)
        } catch {
            throw Error(description: error.description)
        }

        var lifetime: Int64 = 86_400
        if let text = value("JWT_ACCESS_TTL_SECONDS") {
            guard let seconds = Int64(text), seconds > 0 else {
                throw Error(description: "JWT_ACCESS_TTL_SECONDS must be a positive number of seconds, not '\(text)'")
            }
            lifetime = seconds
        }

        let devCode = value("DEV_OTP_CODE") ?? "123456"
        // Ignored in production, so only checked in development.
        guard production || OTPRules.isCode(devCode) else { throw Error(description: "DEV_OTP_CODE must be 6 digits") }

        var seedDemo = !production
        if let text = value("SEED_DEMO_USERS") {
            guard let flag = BooleanText.parse(text) else {
                throw Error(description: "SEED_DEMO_USERS must be true or false, not '\(text)'")
            }
            seedDemo = flag
        }

        return AuthConfiguration(
            production: production, secret: secret, accessTokenLifetime: lifetime, devOTPCode: devCode,
            smsWebhookURL: value("SMS_WEBHOOK_URL"), roleSeeds: try parseRoleSeeds(value("MYSEHAT_ROLE_SEEDS") ?? ""),
            seedDemoUsers: seedDemo)
    }

    /// `9000000001:admin,9000000002:responder`
    static func parseRoleSeeds(_ text: String) throws -> [String: String] {
        var seeds: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmed }
            guard parts.count == 2, OTPRules.isPhoneNumber(parts[0]), roles.contains(parts[1]) else {
                throw Error(description:
                    "MYSEHAT_ROLE_SEEDS entry '\(entry.trimmed)' must be phone:role with a 10-digit phone and one of \(roles.joined(separator: ", "))")
            }
            seeds[parts[0]] = parts[1]
        }
        return seeds
    }
}

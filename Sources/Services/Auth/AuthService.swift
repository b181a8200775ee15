import ConsentService
import HTTPTypes
import Logging
import ServiceKit
import Store

/// Accounts, OTP login, tokens, profile and preferences (01-auth). The gateway verifies tokens
/// (with `identityVerifier`) and enforces roles by policy; handlers read identity from
/// `req.user` only and still check it where the spec names a user or an admin.
public struct AuthService: Service {
    public let name = "auth"
    public let routes: ServiceRoutes
    /// The `IdentityVerifier` the gateway should use.
    public let identityVerifier: AuthIdentityVerifier
    /// The auth service's part of export and erasure (the account itself).
    public let rightsParticipant: AuthRightsParticipant
    let context: AuthContext

    /// - Parameter smsSender: OTP delivery; by default a webhook sender when `SMS_WEBHOOK_URL` is
    ///   set, the log in development, and none in production (OTP requests then answer 503).
    /// - Parameter audit: the system's audit log; nil only in tests of the service alone.
    public init(
        store: any Store, configuration: AuthConfiguration, smsSender: (any SMSSender)? = nil, audit: (any AuditSink)? = nil, logger: Logger
    ) {
        let sender = smsSender ?? Self.defaultSender(configuration, logger: logger)
        let context = AuthContext(
            store: store, configuration: configuration, codec: TokenCodec(secret: configuration.secret), sms: sender, logger: logger,
            audit: AuthAudit(sink: audit, logger: logger), verifiedTokens: VerifiedTokenCache())
        self.context = context
        self.identityVerifier = AuthIdentityVerifier(store: store, codec: context.codec, logger: logger, cache: context.verifiedTokens)
        self.rightsParticipant = AuthRightsParticipant(verifiedTokens: context.verifiedTokens)
        var routes = ServiceRoutes()
        let status: ServiceHandler = { _ in .json(["status": "ok", "service": "auth_backend"]) }
        routes.get("/", OperationInfo(summary: "Auth service status", tags: ["auth"]), handler: status)
        routes.get("/health", OperationInfo(summary: "Auth service health", tags: ["auth"]), handler: status)
        SessionEndpoints(context: context).register(in: &routes)
        ProfileEndpoints(context: context).register(in: &routes)
        AdminEndpoints(context: context).register(in: &routes)
        self.routes = routes
    }

    static func defaultSender(_ configuration: AuthConfiguration, logger: Logger) -> (any SMSSender)? {
        if let url = configuration.smsWebhookURL { return WebhookSMSSender(url: url) }
        return configuration.production ? nil : LogSMSSender(logger: logger)
    }

    /// Migrations, purges of dead tokens and codes, demo accounts and role seeds.
    public func start() async throws {
        let store = context.store
        try await ConsentRecords.migrate(store)
        try await store.migrate(service: "auth", AuthSchema.migrations)
        try await SessionStore(store).purge()
        try await OTPStore(store).purgeExpired()
        if context.configuration.seedDemoUsers {
            try await DemoAccounts.seed(in: store, logger: context.logger)
        }
        try await RoleSeeds.apply(context.configuration.roleSeeds, in: store, forgetting: context.verifiedTokens, logger: context.logger)
        if context.configuration.secret.isGenerated {
            context.logger.warning("JWT_SECRET_KEY is not set: using a random secret; tokens will not survive a restart")
        }
    }

    public func health() async -> ServiceHealth {
        await context.store.ping() ? .healthy : .unavailable
    }
}

/// What every endpoint group shares.
struct AuthContext: Sendable {
    let store: any Store
    let configuration: AuthConfiguration
    let codec: TokenCodec
    let sms: (any SMSSender)?
    let logger: Logger
    let audit: AuthAudit
    /// Shared with `identityVerifier`: whoever revokes tokens or changes a role forgets them here first.
    let verifiedTokens: VerifiedTokenCache

    static let invalidToken = ServiceError.invalidToken

    /// The verified caller; 401 when the gateway handed over none.
    func caller(_ req: ServiceRequest) throws -> VerifiedUser {
        try req.verifiedUser()
    }

    /// The caller's account; 401 when it no longer exists or is inactive.
    func callerAccount(_ req: ServiceRequest, in db: (any DatabaseExecutor)? = nil) async throws -> Account {
        let user = try caller(req)
        guard let account = try await AccountStore(db ?? store).account(userID: user.id) else { throw Self.invalidToken }
        return account
    }

    /// Defence in depth behind the gateway's role policy (00-conventions §2.3).
    func requireAdmin(_ req: ServiceRequest) throws -> VerifiedUser {
        try req.verifiedUser(withRole: "admin")
    }

    /// Issues a token for the account and records it (inside the caller's transaction).
    func issueToken(for account: Account, req: ServiceRequest, in db: any DatabaseExecutor) async throws -> (token: String, claims: AccessTokenClaims) {
        let issued = codec.issueAccessToken(userID: account.userID, role: account.role, lifetime: configuration.accessTokenLifetime)
        try await SessionStore(db).record(issued.claims, userID: account.id, deviceInfo: req.headers[.userAgent], clientIP: req.clientIP)
        return issued
    }

    /// TokenResponse (01-auth §1.4); SignupResponse when a message is given.
    func tokenResponse(token: String, expiresIn: Int64, user: JSONObject, message: String? = nil) -> JSONObject {
        var body = JSONObject()
        if let message { body["message"] = .string(message) }
        body["access_token"] = .string(token)
        body["token_type"] = "bearer"
        body["expires_in"] = .int(expiresIn)
        body["user"] = .object(user)
        return body
    }
}

import Logging
import ServiceKit
import Synchronization

/// The live state of the gateway: the current configuration generation and the result of the
/// last reload. Requests read the current generation once and keep it to the end.
public final class GatewayRuntime: Sendable {
    public let loader: ConfigLoader
    public let settings: GatewaySettings
    public let identity: (any IdentityVerifier)?
    public let consent: (any ConsentChecker)?
    public let audit: (any AuditSink)?
    public let upstream: any UpstreamForwarder
    public let rateLimiter: RateLimiter
    let logger: Logger

    private struct State {
        var config: GatewayConfig
        var lastError: String?
        var lastAttemptAt: String?
    }

    private let state: Mutex<State>

    public init(
        initial: GatewayConfig, loader: ConfigLoader, settings: GatewaySettings, identity: (any IdentityVerifier)?,
        consent: (any ConsentChecker)?, audit: (any AuditSink)? = nil, upstream: any UpstreamForwarder, logger: Logger
    ) {
        self.audit = audit
        self.loader = loader
        self.settings = settings
        self.identity = identity
        self.consent = consent
        self.upstream = upstream
        self.rateLimiter = RateLimiter()
        self.logger = logger
        self.state = Mutex(State(config: initial, lastError: nil))
    }

    public var config: GatewayConfig { state.withLock { $0.config } }
    public var lastReloadError: String? { state.withLock { $0.lastError } }

    /// Makes `config` current (the caller validated it).
    func install(_ config: GatewayConfig) {
        state.withLock {
            $0.config = config
            $0.lastError = nil
        }
    }

    func recordFailure(_ message: String) {
        state.withLock { $0.lastError = message }
    }
}

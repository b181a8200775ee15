/// Where the chat-completions API lives, which models to use and how patient to be.
///
/// `apiKey == nil` means AI features are off: the client fails fast with `.notConfigured`.
public struct GroqConfiguration: Sendable {
    public static let defaultBaseURL = "https://api.groq.com/openai/v1"
    public static let defaultModel = "llama-3.3-70b-versatile"
    public static let defaultFastModel = "llama-3.1-8b-instant"
    public static let defaultVisionModel = "meta-llama/llama-4-scout-17b-16e-instruct"

    public var apiKey: String?
    /// Base of the OpenAI-compatible API, without a trailing slash; requests go to `{baseURL}/chat/completions`.
    public var baseURL: String
    /// Text model: companion chat, document extraction. Used when a request names no model.
    public var model: String
    /// Cheap model: daily check-in summaries.
    public var fastModel: String
    /// Image-capable model: triage photos, document images.
    public var visionModel: String
    /// Overall budget of one `chat` call, retries and waits included.
    public var timeout: Duration
    /// Retries after the first attempt (so at most `maxRetries + 1` requests).
    public var maxRetries: Int
    /// First backoff step; each retry doubles it (plus jitter), capped at `maxRetryDelay`.
    public var retryBaseDelay: Duration
    public var maxRetryDelay: Duration

    public init(
        apiKey: String?, baseURL: String = Self.defaultBaseURL, model: String = Self.defaultModel,
        fastModel: String = Self.defaultFastModel, visionModel: String = Self.defaultVisionModel,
        timeout: Duration = .seconds(30), maxRetries: Int = 3,
        retryBaseDelay: Duration = .milliseconds(500), maxRetryDelay: Duration = .seconds(8)
    ) {
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.baseURL = Self.trimmingTrailingSlashes(baseURL)
        self.model = model
        self.fastModel = fastModel
        self.visionModel = visionModel
        self.timeout = timeout
        self.maxRetries = max(0, maxRetries)
        self.retryBaseDelay = retryBaseDelay
        self.maxRetryDelay = maxRetryDelay
    }

    /// Reads GROQ_API_KEY, GROQ_BASE_URL, GROQ_MODEL, GROQ_FAST_MODEL and GROQ_VISION_MODEL
    /// (00-conventions, environment table). Empty values count as unset.
    public static func fromEnvironment(_ environment: [String: String]) -> GroqConfiguration {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingWhitespace(), !raw.isEmpty else { return nil }
            return raw
        }
        return GroqConfiguration(
            apiKey: value("GROQ_API_KEY"),
            baseURL: value("GROQ_BASE_URL") ?? defaultBaseURL,
            model: value("GROQ_MODEL") ?? defaultModel,
            fastModel: value("GROQ_FAST_MODEL") ?? defaultFastModel,
            visionModel: value("GROQ_VISION_MODEL") ?? defaultVisionModel)
    }

    public var isConfigured: Bool { apiKey != nil }

    static func trimmingTrailingSlashes(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

/// Printing a configuration (logs, test failures) never shows the key.
extension GroqConfiguration: CustomStringConvertible {
    public var description: String {
        "GroqConfiguration(apiKey: \(apiKey == nil ? "nil" : "<redacted>"), baseURL: \(baseURL), model: \(model), "
            + "fastModel: \(fastModel), visionModel: \(visionModel), timeout: \(timeout), maxRetries: \(maxRetries))"
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

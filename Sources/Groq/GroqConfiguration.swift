/// Where and how the Groq (OpenAI-compatible) chat-completions API is called.
///
/// Printing or dumping a configuration never shows the API key.
public struct GroqConfiguration: Sendable {
    public static let defaultBaseURL = "https://api.groq.com/openai/v1"
    public static let defaultModel = "llama-3.3-70b-versatile"
    public static let defaultFastModel = "llama-3.1-8b-instant"
    public static let defaultVisionModel = "meta-llama/llama-4-scout-17b-16e-instruct"

    /// Nil (or empty) means AI features are off: calls fail fast with `GroqError.notConfigured`.
    public var apiKey: String?
    /// The API root; `/chat/completions` is appended.
    public var baseURL: String
    /// Text model: companion chat, document extraction.
    public var model: String
    /// Cheap model: daily check-in summary.
    public var fastModel: String
    /// Model that reads images: triage photos, document images.
    public var visionModel: String
    /// Overall time for one `chat` call, retries and waits included.
    public var timeout: Duration
    /// Retries after the first attempt, for 429, 5xx and connection failures.
    public var maxRetries: Int
    /// First backoff step; each retry doubles it (with jitter) up to `maxRetryDelay`.
    public var retryBaseDelay: Duration
    public var maxRetryDelay: Duration

    public init(
        apiKey: String?,
        baseURL: String = GroqConfiguration.defaultBaseURL,
        model: String = GroqConfiguration.defaultModel,
        fastModel: String = GroqConfiguration.defaultFastModel,
        visionModel: String = GroqConfiguration.defaultVisionModel,
        timeout: Duration = .seconds(60),
        maxRetries: Int = 2,
        retryBaseDelay: Duration = .milliseconds(500),
        maxRetryDelay: Duration = .seconds(8)
    ) {
        let key = apiKey.map(Self.trimmed)
        self.apiKey = key?.isEmpty == false ? key : nil
        var base = Self.trimmed(baseURL)
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.model = model
        self.fastModel = fastModel
        self.visionModel = visionModel
        self.timeout = timeout
        self.maxRetries = max(0, maxRetries)
        self.retryBaseDelay = retryBaseDelay
        self.maxRetryDelay = maxRetryDelay
    }

    /// Reads GROQ_API_KEY, GROQ_BASE_URL, GROQ_MODEL, GROQ_FAST_MODEL and GROQ_VISION_MODEL; an empty
    /// value counts as unset (00-conventions §13).
    public static func fromEnvironment(_ environment: [String: String]) -> GroqConfiguration {
        func value(_ name: String) -> String? {
            guard let raw = environment[name] else { return nil }
            let text = trimmed(raw)
            return text.isEmpty ? nil : text
        }
        return GroqConfiguration(
            apiKey: value("GROQ_API_KEY"),
            baseURL: value("GROQ_BASE_URL") ?? defaultBaseURL,
            model: value("GROQ_MODEL") ?? defaultModel,
            fastModel: value("GROQ_FAST_MODEL") ?? defaultFastModel,
            visionModel: value("GROQ_VISION_MODEL") ?? defaultVisionModel
        )
    }

    public var isConfigured: Bool { apiKey != nil }

    var chatCompletionsURL: String { baseURL + "/chat/completions" }

    private static func trimmed(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension GroqConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "GroqConfiguration(baseURL: \(baseURL), model: \(model), fastModel: \(fastModel), "
            + "visionModel: \(visionModel), apiKey: \(isConfigured ? "set" : "not set"), timeout: \(timeout), "
            + "maxRetries: \(maxRetries))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "baseURL": baseURL, "model": model, "fastModel": fastModel, "visionModel": visionModel,
                "apiKey": isConfigured ? "set" : "not set", "timeout": timeout, "maxRetries": maxRetries,
            ])
    }
}

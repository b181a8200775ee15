/// Why a chat call failed. Descriptions are safe to log: they never contain the API key.
public enum GroqError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No API key: the call failed before any network traffic.
    case notConfigured
    /// The overall deadline passed.
    case timeout
    /// 429 after the retries; `retryAfter` in seconds when the API said.
    case rateLimited(retryAfter: Int?)
    /// A non-2xx answer that was not retried or stayed failing; `message` is the API's error message.
    case http(status: Int, message: String)
    /// A 2xx answer that is not a chat completion.
    case malformedResponse(String)
    /// The API could not be reached (connection refused, reset, TLS, ...).
    case transport(String)
    /// The calling task was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .notConfigured: "Groq is not configured (GROQ_API_KEY is not set)"
        case .timeout: "Groq request timed out"
        case .rateLimited(let retryAfter?): "Groq rate limit reached (retry after \(retryAfter) s)"
        case .rateLimited(nil): "Groq rate limit reached"
        case .http(let status, let message): "Groq answered HTTP \(status): \(message)"
        case .malformedResponse(let detail): "Groq answer could not be read: \(detail)"
        case .transport(let detail): "Groq could not be reached: \(detail)"
        case .cancelled: "Groq request cancelled"
        }
    }

    /// Worth another attempt: rate limits, server errors, lost connections.
    var isRetryable: Bool {
        switch self {
        case .rateLimited, .transport: true
        case .http(let status, _): status == 408 || status >= 500
        case .notConfigured, .timeout, .malformedResponse, .cancelled: false
        }
    }
}

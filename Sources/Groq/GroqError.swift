import ServiceKit

/// Why a chat call failed. Descriptions are safe to log: they never contain the API key.
public enum GroqError: Error, Sendable, Equatable {
    /// No API key: nothing was sent.
    case notConfigured
    /// The overall deadline passed (retries and waits included).
    case timeout
    /// 429 on the last attempt; `retryAfter` in seconds when the API said so.
    case rateLimited(retryAfter: Int?)
    /// A non-success status that is not retried (4xx) or that persisted through the retries (5xx).
    case http(status: Int, message: String)
    /// A 200 whose body is not a chat completion.
    case malformedResponse(String)
    /// Connecting, sending or receiving failed.
    case transport(String)
}

extension GroqError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notConfigured: "Groq is not configured (GROQ_API_KEY is not set)"
        case .timeout: "Groq request timed out"
        case .rateLimited(let retryAfter?): "Groq rate limit reached (retry after \(retryAfter) s)"
        case .rateLimited(nil): "Groq rate limit reached"
        case .http(let status, let message): "Groq answered HTTP \(status): \(message)"
        case .malformedResponse(let reason): "Groq answer is malformed: \(reason)"
        case .transport(let reason): "Groq request failed: \(reason)"
        }
    }
}

extension GroqError {
    /// The API's own message (`{"error": {"message": ...}}`) or the start of the body, with any
    /// echo of the key removed (some providers quote the key they rejected).
    static func http(status: Int, body: [UInt8], apiKey: String) -> GroqError {
        let document = try? JSON.decode(body)
        let message =
            document?["error"]?["message"]?.stringValue
            ?? document?["error"]?.stringValue
            ?? String(decoding: body.prefix(300), as: UTF8.self)
        return .http(status: status, message: redacting(apiKey, in: message))
    }

    static func redacting(_ secret: String, in text: String) -> String {
        guard !secret.isEmpty else { return text }
        return text.replacing(secret, with: "<redacted>")
    }
}

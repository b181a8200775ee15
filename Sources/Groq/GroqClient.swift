import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ServiceKit

/// Client of an OpenAI-compatible chat-completions API (Groq by default).
///
/// One `chat` call has one deadline (`timeout`): attempts, backoff waits and `Retry-After` waits all
/// fit inside it. 429, 5xx and connection failures are retried; other 4xx and malformed answers are
/// not, since sending the same request again would give the same answer.
public final class GroqClient: Sendable {
    public let configuration: GroqConfiguration
    let httpClient: HTTPClient
    let logger: Logger
    let backoff: RetryBackoff

    /// Largest answer body read; chat answers are a few kilobytes.
    static let maxResponseBytes = 8 * 1024 * 1024

    /// `httpClient` defaults to `HTTPClient.shared`, which this client never shuts down; an injected
    /// client stays owned by the caller.
    public init(configuration: GroqConfiguration, httpClient: HTTPClient = .shared, logger: Logger = Logger(label: "mysehat.groq")) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
        self.backoff = RetryBackoff(base: configuration.retryBaseDelay, cap: configuration.maxRetryDelay)
    }

    public var isConfigured: Bool { configuration.isConfigured }

    public func chat(_ request: ChatRequest) async throws(GroqError) -> ChatResult {
        guard let apiKey = configuration.apiKey else { throw .notConfigured }
        let url = configuration.baseURL + "/chat/completions"
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw .transport("GROQ_BASE_URL is not an http(s) URL")
        }
        let model = request.model ?? configuration.model
        let attempt = Attempt(
            url: url, apiKey: apiKey, model: model, body: JSON.encode(request.body(model: model)),
            deadline: ContinuousClock.now + (request.timeout ?? configuration.timeout))

        var retries = 0
        while true {
            switch await send(attempt, number: retries + 1) {
            case .answer(let result):
                return result
            case .failed(let error):
                throw error
            case .retryable(let error, let retryAfter):
                guard retries < configuration.maxRetries else { throw error }
                retries += 1
                let delay = backoff.delay(beforeRetry: retries, retryAfter: retryAfter)
                // Waiting past the deadline would only turn a known failure into a timeout.
                guard ContinuousClock.now + delay < attempt.deadline else {
                    logger.debug("groq giving up: the next attempt would start after the deadline", metadata: ["error": "\(error)"])
                    throw error
                }
                logger.debug("groq retrying", metadata: ["retry": "\(retries)", "delay": "\(delay)", "error": "\(error)"])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw .transport("request cancelled")
                }
            }
        }
    }

    /// What one call sends, the same on every attempt.
    struct Attempt {
        let url: String
        let apiKey: String
        let model: String
        let body: [UInt8]
        let deadline: ContinuousClock.Instant
    }

    enum Outcome {
        case answer(ChatResult)
        case failed(GroqError)
        /// `retryAfter`: what the server asked for, if anything.
        case retryable(GroqError, retryAfter: Duration?)
    }

    func send(_ attempt: Attempt, number: Int) async -> Outcome {
        let remaining = attempt.deadline - ContinuousClock.now
        guard remaining > .zero else { return .failed(.timeout) }

        var request = HTTPClientRequest(url: attempt.url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(attempt.apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: attempt.body))

        let started = ContinuousClock.now
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
        do {
            let response = try await httpClient.execute(request, deadline: .now() + .nanoseconds(remaining.nanoseconds), logger: logger)
            status = Int(response.status.code)
            headers = response.headers
            body = Array(buffer: try await response.body.collect(upTo: Self.maxResponseBytes))
        } catch {
            let outcome = classify(error, deadline: attempt.deadline, apiKey: attempt.apiKey)
            logger.debug(
                "groq attempt failed",
                metadata: ["attempt": "\(number)", "model": "\(attempt.model)", "elapsed": "\(ContinuousClock.now - started)", "outcome": "\(outcome)"])
            return outcome
        }
        logger.debug(
            "groq attempt answered",
            metadata: ["attempt": "\(number)", "model": "\(attempt.model)", "status": "\(status)", "elapsed": "\(ContinuousClock.now - started)"])

        switch status {
        case 200..<300:
            do {
                return .answer(try ChatResult.parse(body, requestedModel: attempt.model))
            } catch {
                return .failed(error)
            }
        case 429:
            let retryAfter = RetryBackoff.parseRetryAfter(headers.first(name: "Retry-After"))
            return .retryable(.rateLimited(retryAfter: retryAfter?.wholeSecondsRoundedUp), retryAfter: retryAfter)
        case 500..<600:
            let retryAfter = RetryBackoff.parseRetryAfter(headers.first(name: "Retry-After"))
            return .retryable(.http(status: status, body: body, apiKey: attempt.apiKey), retryAfter: retryAfter)
        default:
            return .failed(.http(status: status, body: body, apiKey: attempt.apiKey))
        }
    }

    /// Errors thrown while sending or reading. AsyncHTTPClient keeps retrying a failed connect until
    /// the request deadline and then throws the last connection error, so an error at the deadline
    /// is reported as what it is (e.g. "connection refused") rather than as a timeout; only the
    /// client's own deadline error is `.timeout`.
    func classify(_ error: any Error, deadline: ContinuousClock.Instant, apiKey: String) -> Outcome {
        if Task.isCancelled || error is CancellationError || (error as? HTTPClientError) == .cancelled {
            return .failed(.transport("request cancelled"))
        }
        if (error as? HTTPClientError) == .deadlineExceeded {
            return .failed(.timeout)
        }
        if error is NIOTooManyBytesError {
            return .failed(.malformedResponse("body larger than \(Self.maxResponseBytes) bytes"))
        }
        if let clientError = error as? HTTPClientError, [.invalidURL, .emptyHost, .emptyScheme].contains(clientError) {
            return .failed(.transport("invalid GROQ_BASE_URL (\(clientError))"))
        }
        let transport = GroqError.transport(GroqError.redacting(apiKey, in: "\(error)"))
        return ContinuousClock.now >= deadline ? .failed(transport) : .retryable(transport, retryAfter: nil)
    }
}

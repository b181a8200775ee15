import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ServiceKit

/// Calls the Groq (OpenAI-compatible) chat-completions API.
///
/// One `chat` call has one deadline (the request's timeout or the configuration's); attempts that
/// fail with 429, 5xx or a lost connection are retried with exponential backoff and jitter, or after
/// the server's Retry-After, as long as the wait ends before the deadline.
public struct GroqClient: Sendable {
    public let configuration: GroqConfiguration
    private let httpClient: HTTPClient
    private let logger: Logger

    /// A larger answer is not a chat completion we asked for.
    static let maxResponseBytes = 8 << 20

    /// - Parameter httpClient: defaults to `HTTPClient.shared`, which is never shut down.
    public init(
        configuration: GroqConfiguration,
        httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "mysehat.groq")
    ) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
    }

    public var isConfigured: Bool { configuration.isConfigured }

    public func chat(_ request: ChatRequest) async throws(GroqError) -> ChatResult {
        guard let apiKey = configuration.apiKey else { throw .notConfigured }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: request.timeout ?? configuration.timeout)
        let model = request.model ?? configuration.model
        let body = ByteBuffer(bytes: JSON.encode(request.body(model: model)))
        var attempt = 0
        while true {
            attempt += 1
            let started = clock.now
            let outcome = await send(body, apiKey: apiKey, model: model, deadline: deadline)
            let elapsed = "\(started.duration(to: clock.now).milliseconds)ms"
            let failure: AttemptFailure
            switch outcome {
            case .success(let result):
                logger.debug(
                    "groq chat answered",
                    metadata: ["attempt": "\(attempt)", "model": "\(model)", "elapsed": "\(elapsed)",
                               "total_tokens": "\(result.usage.totalTokens)"])
                return result
            case .failure(let attemptFailure):
                failure = attemptFailure
            }
            logger.debug(
                "groq chat attempt failed",
                metadata: ["attempt": "\(attempt)", "model": "\(model)", "elapsed": "\(elapsed)",
                           "error": "\(failure.error)"])
            guard failure.error.isRetryable, attempt <= configuration.maxRetries else { throw failure.error }
            let wait = failure.retryAfter ?? backoff(afterAttempt: attempt)
            // Waiting past the deadline could only end in a timeout: report what actually happened.
            guard wait < clock.now.duration(to: deadline) else { throw failure.error }
            do {
                try await Task.sleep(for: wait)
            } catch {
                throw .cancelled
            }
        }
    }

    /// Exponential backoff with equal jitter: half the step is fixed, half random, so callers that
    /// failed together do not come back together.
    func backoff(afterAttempt attempt: Int) -> Duration {
        let step = min(configuration.retryBaseDelay * (1 << min(attempt - 1, 20)), configuration.maxRetryDelay)
        let half = step / 2
        return half + half * Double.random(in: 0...1)
    }

    // MARK: One attempt

    struct AttemptFailure: Error {
        var error: GroqError
        /// The server's Retry-After, when it gave one.
        var retryAfter: Duration? = nil
    }

    private struct DeadlineExceeded: Error {}

    private struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    private func send(
        _ body: ByteBuffer, apiKey: String, model: String, deadline: ContinuousClock.Instant
    ) async -> Result<ChatResult, AttemptFailure> {
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return .failure(AttemptFailure(error: .timeout)) }
        var request = HTTPClientRequest(url: configuration.chatCompletionsURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(body)

        let answer: Answer
        do {
            let client = httpClient
            let request = request
            let nioDeadline = NIODeadline.now() + .nanoseconds(remaining.nanoseconds)
            // AsyncHTTPClient's deadline covers the request and reports why it failed (a refused
            // connection is retried until then); the race, a little later, bounds reading the body.
            answer = try await Self.withDeadline(deadline.advanced(by: .milliseconds(100))) {
                let response = try await client.execute(request, deadline: nioDeadline)
                let bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
                return Answer(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
            }
        } catch {
            return .failure(failure(for: error, apiKey: apiKey))
        }

        switch answer.status {
        case 200..<300:
            do throws(GroqError) {
                return .success(try ChatResult(body: answer.body, requestedModel: model))
            } catch {
                return .failure(AttemptFailure(error: error))
            }
        case 429:
            let retryAfter = Self.retryAfterSeconds(answer.headers)
            return .failure(
                AttemptFailure(error: .rateLimited(retryAfter: retryAfter), retryAfter: retryAfter.map { .seconds($0) }))
        default:
            let message = Self.redact(Self.errorMessage(answer.body), apiKey: apiKey)
            return .failure(
                AttemptFailure(
                    error: .http(status: answer.status, message: message),
                    retryAfter: Self.retryAfterSeconds(answer.headers).map { .seconds($0) }))
        }
    }

    private func failure(for error: any Error, apiKey: String) -> AttemptFailure {
        if error is DeadlineExceeded { return AttemptFailure(error: .timeout) }
        if Task.isCancelled || error is CancellationError { return AttemptFailure(error: .cancelled) }
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded { return AttemptFailure(error: .timeout) }
            if error == .cancelled { return AttemptFailure(error: .cancelled) }
        }
        if error is NIOTooManyBytesError {
            return AttemptFailure(error: .malformedResponse("answer larger than \(Self.maxResponseBytes) bytes"))
        }
        return AttemptFailure(error: .transport(Self.redact(String(describing: error), apiKey: apiKey)))
    }

    private static func withDeadline<T: Sendable>(
        _ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask(operation: body)
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                throw DeadlineExceeded()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    // MARK: Reading answers

    /// Retry-After in whole seconds (fractions round up); HTTP-date forms are ignored.
    static func retryAfterSeconds(_ headers: HTTPHeaders) -> Int? {
        guard let text = headers.first(name: "retry-after"), let seconds = Double(text), seconds >= 0,
            seconds < 86_400
        else { return nil }
        return Int(seconds.rounded(.up))
    }

    /// The API's error message (`{"error": {"message": ...}}`), else the start of the body.
    static func errorMessage(_ body: [UInt8]) -> String {
        if let document = try? JSON.decode(body) {
            if let message = document["error"]?["message"]?.stringValue { return message }
            if let message = document["error"]?.stringValue { return message }
            if let message = document["detail"]?.stringValue { return message }
        }
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return text.isEmpty ? "no error message" : text
    }

    /// Keeps the key out of anything that may be logged, whatever a server echoes back.
    static func redact(_ text: String, apiKey: String) -> String {
        text.replacing(apiKey, with: "[redacted]")
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}

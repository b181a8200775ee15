import Groq
import ServiceKit
import TestSupport
import Testing

/// Runs body against a fresh fake Groq API and a client pointed at it; stops the server after.
@discardableResult
func withFakeGroq<T>(
    timeout: Duration = .seconds(5),
    maxRetries: Int = 2,
    _ body: (FakeGroqServer, GroqClient) async throws -> T
) async throws -> T {
    let server = try await FakeGroqServer.start()
    let client = GroqClient(
        configuration: GroqConfiguration(
            apiKey: GroqClientTests.apiKey, baseURL: server.baseURL, timeout: timeout, maxRetries: maxRetries,
            retryBaseDelay: .milliseconds(20)))
    do {
        let value = try await body(server, client)
        await server.stop()
        return value
    } catch {
        await server.stop()
        throw error
    }
}

/// Seconds since `start`, for timing assertions.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let (whole, atto) = start.duration(to: .now).components
    return Double(whole) + Double(atto) / 1e18
}

@Suite struct GroqClientTests {
    static let apiKey = "gsk_test-key-0123456789"
    static let greeting = ChatRequest(messages: [.system("You are terse."), .user("Say hello to the tests")])

    @Test func successSendsTheRequestAndReadsTheAnswer() async throws {
        try await withFakeGroq { server, client in
            server.enqueue(.ok(content: "Hello there, tests"))
            var request = Self.greeting
            request.temperature = 0.75
            request.maxTokens = 512
            let result = try await client.chat(request)
            #expect(result.content == "Hello there, tests")
            #expect(result.model == GroqConfiguration.defaultModel)
            #expect(result.finishReason == "stop")
            // The fake counts words: 3 + 5 prompt words, 3 completion words.
            #expect(result.usage == ChatUsage(promptTokens: 8, completionTokens: 3, totalTokens: 11))

            let sent = try #require(server.requests.first)
            #expect(server.requestCount == 1)
            #expect(sent.method == "POST")
            #expect(sent.path == "/chat/completions")
            #expect(sent.authorization == "Bearer \(Self.apiKey)")
            #expect(sent.header("Content-Type") == "application/json")
            #expect(sent.model == GroqConfiguration.defaultModel)
            #expect(sent.messages == [
                ["role": "system", "content": "You are terse."],
                ["role": "user", "content": "Say hello to the tests"],
            ])
            #expect(sent.body?["temperature"] == .double(0.75))
            #expect(sent.body?["max_tokens"] == .int(512))
            #expect(sent.responseFormat == nil)
        }
    }

    @Test func jsonModeAndModelOverrideAreSent() async throws {
        try await withFakeGroq { server, client in
            server.enqueue(.ok(content: #"{"reply": "hi"}"#))
            let result = try await client.chat(
                ChatRequest(model: client.configuration.fastModel, messages: [.user("json please")], jsonMode: true))
            #expect(result.content == #"{"reply": "hi"}"#)
            #expect(result.model == "llama-3.1-8b-instant")
            let sent = try #require(server.requests.first)
            #expect(sent.responseFormat == ["type": "json_object"])
            #expect(sent.model == "llama-3.1-8b-instant")
        }
    }

    @Test func visionMessageCarriesTextAndImageParts() async throws {
        try await withFakeGroq { server, client in
            let image = "/9j/4AAQSkZJRgABAQ=="
            _ = try await client.chat(
                ChatRequest(
                    model: client.configuration.visionModel,
                    messages: [.user([.text("Describe the skin in this photo."), .jpeg(base64: image)])],
                    temperature: 0.1, jsonMode: true))
            let sent = try #require(server.requests.first)
            #expect(sent.model == "meta-llama/llama-4-scout-17b-16e-instruct")
            #expect(sent.messages == [
                [
                    "role": "user",
                    "content": [
                        ["type": "text", "text": "Describe the skin in this photo."],
                        ["type": "image_url", "image_url": ["url": .string("data:image/jpeg;base64," + image)]],
                    ],
                ]
            ])
        }
    }

    @Test func rateLimitHonoursRetryAfterThenSucceeds() async throws {
        try await withFakeGroq { server, client in
            server.enqueue(
                .status(429, body: #"{"error":{"message":"Rate limit reached"}}"#, retryAfter: 1),
                .ok(content: "after the wait"))
            let start = ContinuousClock.now
            let result = try await client.chat(Self.greeting)
            #expect(result.content == "after the wait")
            #expect(server.requestCount == 2)
            #expect(seconds(since: start) >= 0.95)  // waited the server's second, not the 20 ms backoff
        }
    }

    @Test func retryAfterBeyondTheDeadlineFailsAtOnce() async throws {
        try await withFakeGroq(timeout: .seconds(3)) { server, client in
            server.enqueue(.status(429, body: "slow down", retryAfter: 30))
            let start = ContinuousClock.now
            await #expect(throws: GroqError.rateLimited(retryAfter: 30)) { try await client.chat(Self.greeting) }
            #expect(server.requestCount == 1)
            #expect(seconds(since: start) < 1)
        }
    }

    @Test func serverErrorIsRetried() async throws {
        try await withFakeGroq { server, client in
            server.enqueue(.status(500, body: #"{"error":{"message":"internal"}}"#, retryAfter: nil), .ok(content: "recovered"))
            let result = try await client.chat(Self.greeting)
            #expect(result.content == "recovered")
            #expect(server.requestCount == 2)
        }
    }

    @Test func exhaustedRetriesReportTheLastFailure() async throws {
        try await withFakeGroq(maxRetries: 2) { server, client in
            server.setDefaultBehaviour(.status(503, body: #"{"error":{"message":"over capacity"}}"#, retryAfter: nil))
            await #expect(throws: GroqError.http(status: 503, message: "over capacity")) {
                try await client.chat(Self.greeting)
            }
            #expect(server.requestCount == 3)  // the first attempt and two retries

            server.reset()
            server.setDefaultBehaviour(.status(429, body: "{}", retryAfter: 0))
            await #expect(throws: GroqError.rateLimited(retryAfter: 0)) { try await client.chat(Self.greeting) }
            #expect(server.requestCount == 3)
        }
    }

    @Test func clientErrorsAreNotRetried() async throws {
        try await withFakeGroq { server, client in
            server.enqueue(.status(400, body: #"{"error":{"message":"model not found"}}"#, retryAfter: nil))
            await #expect(throws: GroqError.http(status: 400, message: "model not found")) {
                try await client.chat(Self.greeting)
            }
            #expect(server.requestCount == 1)
        }
    }

    @Test func slowServerTimesOut() async throws {
        try await withFakeGroq { server, client in
            server.enqueue(.slow(seconds: 5, then: .ok(content: "too late")))
            var request = Self.greeting
            request.timeout = .milliseconds(500)
            let start = ContinuousClock.now
            await #expect(throws: GroqError.timeout) { try await client.chat(request) }
            let elapsed = seconds(since: start)
            #expect(elapsed >= 0.45 && elapsed < 2)
            #expect(server.requestCount == 1)
        }
    }

    @Test func malformedAnswersAreReported() async throws {
        try await withFakeGroq { server, client in
            server.enqueue(.malformed, .garbageJSON)
            let notJSON = await #expect(throws: GroqError.self) { try await client.chat(Self.greeting) }
            guard case .malformedResponse(let detail)? = notJSON else {
                Issue.record("expected malformedResponse, got \(String(describing: notJSON))")
                return
            }
            #expect(detail.hasPrefix("body is not JSON"))
            await #expect(throws: GroqError.malformedResponse("no choices")) { try await client.chat(Self.greeting) }
            #expect(server.requestCount == 2)  // neither was retried
        }
    }

    @Test func notConfiguredFailsFastWithoutTraffic() async throws {
        try await withFakeGroq { server, _ in
            for key in [nil, "", "   "] as [String?] {
                let client = GroqClient(configuration: GroqConfiguration(apiKey: key, baseURL: server.baseURL))
                #expect(!client.isConfigured)
                await #expect(throws: GroqError.notConfigured) { try await client.chat(Self.greeting) }
            }
            #expect(server.requestCount == 0)
        }
    }

    @Test func unreachableServerIsATransportError() async throws {
        let stopped = try await FakeGroqServer.start()
        let baseURL = stopped.baseURL
        await stopped.stop()
        let client = GroqClient(
            configuration: GroqConfiguration(
                apiKey: Self.apiKey, baseURL: baseURL, timeout: .seconds(1), maxRetries: 1,
                retryBaseDelay: .milliseconds(10)))
        let error = await #expect(throws: GroqError.self) { try await client.chat(Self.greeting) }
        // AsyncHTTPClient keeps trying to connect until the deadline, then reports the connection error.
        guard case .transport(let detail)? = error else {
            Issue.record("expected transport, got \(String(describing: error))")
            return
        }
        #expect(detail.lowercased().contains("refused"))
    }

    @Test func cancellationStopsTheCall() async throws {
        try await withFakeGroq { server, client in
            server.enqueue(.slow(seconds: 5, then: .ok(content: "never read")))
            let call = Task { try await client.chat(Self.greeting) }
            try await Task.sleep(for: .milliseconds(200))
            call.cancel()
            let start = ContinuousClock.now
            await #expect(throws: GroqError.cancelled) { try await call.value }
            #expect(seconds(since: start) < 1)
        }
    }

    @Test func errorsNeverShowTheAPIKey() async throws {
        try await withFakeGroq { server, client in
            server.enqueue(
                .status(401, body: #"{"error":{"message":"Invalid API Key: \#(Self.apiKey)"}}"#, retryAfter: nil))
            let error = await #expect(throws: GroqError.self) { try await client.chat(Self.greeting) }
            let text = "\(String(describing: error)) \(String(reflecting: error))"
            #expect(!text.contains(Self.apiKey))
            #expect(text.contains("Invalid API Key: [redacted]"))
            #expect(!"\(client.configuration)".contains(Self.apiKey))
            var dumped = ""
            dump(client.configuration, to: &dumped)
            #expect(!dumped.contains(Self.apiKey))
        }
    }
}

@Suite struct GroqConfigurationTests {
    @Test func environmentDefaults() {
        let configuration = GroqConfiguration.fromEnvironment([:])
        #expect(!configuration.isConfigured)
        #expect(configuration.baseURL == "https://api.groq.com/openai/v1")
        #expect(configuration.model == "llama-3.3-70b-versatile")
        #expect(configuration.fastModel == "llama-3.1-8b-instant")
        #expect(configuration.visionModel == "meta-llama/llama-4-scout-17b-16e-instruct")
    }

    @Test func environmentOverrides() {
        let configuration = GroqConfiguration.fromEnvironment([
            "GROQ_API_KEY": " gsk_abc ", "GROQ_BASE_URL": "http://127.0.0.1:9999/v1/", "GROQ_MODEL": "m1",
            "GROQ_FAST_MODEL": "m2", "GROQ_VISION_MODEL": "m3",
        ])
        #expect(configuration.isConfigured)
        #expect(configuration.apiKey == "gsk_abc")
        #expect(configuration.baseURL == "http://127.0.0.1:9999/v1")
        #expect([configuration.model, configuration.fastModel, configuration.visionModel] == ["m1", "m2", "m3"])
    }

    @Test func emptyValuesCountAsUnset() {
        let configuration = GroqConfiguration.fromEnvironment(["GROQ_API_KEY": "", "GROQ_MODEL": "  "])
        #expect(!configuration.isConfigured)
        #expect(configuration.model == "llama-3.3-70b-versatile")
    }
}

import Groq
import ServiceKit
import TestSupport
import Testing

/// The client against a real HTTP server on loopback (FakeGroqServer), one server per test.
@Suite struct GroqClientTests {
    static let apiKey = "gsk_test_7f3a9c1e5b"

    /// Short backoff so retry tests take milliseconds; Retry-After waits stay real.
    static func configuration(_ server: FakeGroqServer, timeout: Duration = .seconds(10), maxRetries: Int = 3) -> GroqConfiguration {
        GroqConfiguration(
            apiKey: apiKey, baseURL: server.baseURL, timeout: timeout, maxRetries: maxRetries,
            retryBaseDelay: .milliseconds(20), maxRetryDelay: .milliseconds(200))
    }

    static let hello = ChatRequest(messages: [.system("You are terse."), .user("Say hello")])

    /// Starts a fake server, runs `body`, stops the server even when `body` fails.
    func withServer(_ body: (FakeGroqServer) async throws -> Void) async throws {
        let server = try await FakeGroqServer.start()
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// The error a call fails with, or nil when it succeeds.
    func failure(_ client: GroqClient, _ request: ChatRequest = hello) async -> GroqError? {
        do {
            _ = try await client.chat(request)
            return nil
        } catch {
            return error
        }
    }

    @Test func successReturnsContentUsageAndModel() async throws {
        try await withServer { server in
            server.enqueue(.ok(content: "Hello there, friend"))
            let client = GroqClient(configuration: Self.configuration(server))
            let result = try await client.chat(ChatRequest(messages: [.system("You are terse."), .user("Say hello")], temperature: 0.2, maxTokens: 50))

            #expect(result.content == "Hello there, friend")
            #expect(result.usage == TokenUsage(promptTokens: 12, completionTokens: 3, totalTokens: 15))
            #expect(result.model == GroqConfiguration.defaultModel)

            let received = server.received
            try #require(received.count == 1)
            #expect(received[0].method == "POST")
            #expect(received[0].path == "/openai/v1/chat/completions")
            let body = try #require(received[0].json)
            #expect(body["model"] == .string(GroqConfiguration.defaultModel))
            #expect(
                body["messages"]
                    == [
                        ["role": "system", "content": "You are terse."],
                        ["role": "user", "content": "Say hello"],
                    ])
            #expect(body["temperature"]?.doubleValue == 0.2)
            #expect(body["max_tokens"] == 50)
            #expect(body["response_format"] == nil)
        }
    }

    @Test func requestModelOverridesTheDefault() async throws {
        try await withServer { server in
            let configuration = Self.configuration(server)
            let client = GroqClient(configuration: configuration)
            let result = try await client.chat(ChatRequest(model: configuration.fastModel, messages: [.user("hi")]))
            #expect(result.model == "llama-3.1-8b-instant")
            #expect(server.received.first?.json?["model"] == "llama-3.1-8b-instant")
            #expect(server.received.first?.json?["temperature"] == nil)
            #expect(server.received.first?.json?["max_tokens"] == nil)
        }
    }

    @Test func jsonModeSendsResponseFormat() async throws {
        try await withServer { server in
            server.enqueue(.ok(content: #"{"mood": "calm"}"#))
            let client = GroqClient(configuration: Self.configuration(server))
            let result = try await client.chat(ChatRequest(messages: [.user("Answer in JSON")], jsonMode: true))
            #expect(result.content == #"{"mood": "calm"}"#)
            #expect(server.received.first?.json?["response_format"] == ["type": "json_object"])
        }
    }

    @Test func sendsBearerKeyAndJSONContentType() async throws {
        try await withServer { server in
            let client = GroqClient(configuration: Self.configuration(server))
            _ = try await client.chat(Self.hello)
            let request = try #require(server.received.first)
            #expect(request.header("Authorization") == "Bearer \(Self.apiKey)")
            #expect(request.header("Content-Type") == "application/json")
        }
    }

    @Test func rateLimitedHonoursRetryAfterThenSucceeds() async throws {
        try await withServer { server in
            server.enqueue(.status(429, body: #"{"error":{"message":"Rate limit reached"}}"#, retryAfter: 1), .ok(content: "after the wait"))
            let client = GroqClient(configuration: Self.configuration(server))
            let started = ContinuousClock.now
            let result = try await client.chat(Self.hello)
            let elapsed = ContinuousClock.now - started

            #expect(result.content == "after the wait")
            #expect(server.received.count == 2)
            // The backoff alone is ~20 ms: a wait of a second can only come from Retry-After.
            #expect(elapsed >= .seconds(1))
            #expect(elapsed < .seconds(6))
        }
    }

    @Test func retryAfterBeyondTheDeadlineFailsAtOnce() async throws {
        try await withServer { server in
            server.enqueue(.status(429, body: #"{"error":{"message":"Rate limit reached"}}"#, retryAfter: 30))
            // A 10 s deadline: giving up at once takes well under it, waiting for it takes all of it.
            let client = GroqClient(configuration: Self.configuration(server, timeout: .seconds(10)))
            let started = ContinuousClock.now
            let error = await failure(client)
            #expect(error == .rateLimited(retryAfter: 30))
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(server.received.count == 1)
        }
    }

    @Test func serverErrorThenSuccess() async throws {
        try await withServer { server in
            server.enqueue(.status(500, body: #"{"error":{"message":"Internal error"}}"#, retryAfter: nil), .ok(content: "recovered"))
            let client = GroqClient(configuration: Self.configuration(server))
            let result = try await client.chat(Self.hello)
            #expect(result.content == "recovered")
            #expect(server.received.count == 2)
        }
    }

    @Test func retriesExhaustedReportsTheLastStatus() async throws {
        try await withServer { server in
            server.setDefault(.status(503, body: #"{"error":{"message":"Service over capacity"}}"#, retryAfter: nil))
            let client = GroqClient(configuration: Self.configuration(server, maxRetries: 2))
            let error = await failure(client)
            #expect(error == .http(status: 503, message: "Service over capacity"))
            #expect(server.received.count == 3)
        }
    }

    @Test func rateLimitedOnEveryAttempt() async throws {
        try await withServer { server in
            server.setDefault(.status(429, body: "{}", retryAfter: nil))
            let client = GroqClient(configuration: Self.configuration(server, maxRetries: 1))
            #expect(await failure(client) == .rateLimited(retryAfter: nil))
            #expect(server.received.count == 2)
        }
    }

    @Test func clientErrorIsNotRetriedAndNeverShowsTheKey() async throws {
        try await withServer { server in
            // Some providers quote the rejected key back.
            server.setDefault(.status(401, body: #"{"error":{"message":"Invalid API Key: \#(Self.apiKey)"}}"#, retryAfter: nil))
            let client = GroqClient(configuration: Self.configuration(server))
            let error = try #require(await failure(client))
            #expect(error == .http(status: 401, message: "Invalid API Key: <redacted>"))
            #expect(!error.description.contains(Self.apiKey))
            #expect(!"\(client.configuration)".contains(Self.apiKey))
            #expect(server.received.count == 1)
        }
    }

    @Test func slowServerTimesOut() async throws {
        try await withServer { server in
            server.setDefault(.slow(seconds: 5, then: .ok(content: "too late")))
            let client = GroqClient(configuration: Self.configuration(server, timeout: .milliseconds(500)))
            let started = ContinuousClock.now
            let error = await failure(client)
            let elapsed = ContinuousClock.now - started
            #expect(error == .timeout)
            #expect(elapsed >= .milliseconds(400))
            // The server answers after 5 s: a timeout that did not fire would take that long.
            #expect(elapsed < .seconds(4))
        }
    }

    @Test func requestTimeoutOverridesTheConfiguration() async throws {
        try await withServer { server in
            server.setDefault(.slow(seconds: 5, then: .ok(content: "too late")))
            let client = GroqClient(configuration: Self.configuration(server, timeout: .seconds(30)))
            let started = ContinuousClock.now
            let error = await failure(client, ChatRequest(messages: [.user("hi")], timeout: .milliseconds(300)))
            #expect(error == .timeout)
            #expect(ContinuousClock.now - started < .seconds(4), "the server answers after 5 s")
        }
    }

    @Test func nonJSONBodyIsMalformed() async throws {
        try await withServer { server in
            server.enqueue(.malformed)
            let client = GroqClient(configuration: Self.configuration(server))
            let error = await failure(client)
            guard case .malformedResponse(let reason) = error else {
                Issue.record("expected malformedResponse, got \(String(describing: error))")
                return
            }
            #expect(reason.contains("not JSON"))
            #expect(server.received.count == 1)
        }
    }

    @Test func missingChoicesIsMalformed() async throws {
        try await withServer { server in
            server.enqueue(.garbageJSON)
            let client = GroqClient(configuration: Self.configuration(server))
            #expect(await failure(client) == .malformedResponse(#"no "choices" array"#))
            #expect(server.received.count == 1)
        }
    }

    @Test func notConfiguredFailsWithoutSendingAnything() async throws {
        try await withServer { server in
            let client = GroqClient(configuration: GroqConfiguration(apiKey: nil, baseURL: server.baseURL))
            #expect(!client.isConfigured)
            let started = ContinuousClock.now
            #expect(await failure(client) == .notConfigured)
            #expect(ContinuousClock.now - started < .milliseconds(100))
            #expect(server.received.isEmpty)
        }
    }

    @Test func droppedConnectionIsRetried() async throws {
        try await withServer { server in
            server.enqueue(.dropConnection, .ok(content: "second try"))
            let client = GroqClient(configuration: Self.configuration(server))
            let result = try await client.chat(Self.hello)
            #expect(result.content == "second try")
            #expect(server.received.count == 2)
        }
    }

    @Test func droppedConnectionOnEveryAttemptIsATransportError() async throws {
        try await withServer { server in
            server.setDefault(.dropConnection)
            let client = GroqClient(configuration: Self.configuration(server, maxRetries: 2))
            guard case .transport = await failure(client) else {
                Issue.record("expected transport")
                return
            }
            #expect(server.received.count == 3)
        }
    }

    /// AsyncHTTPClient retries the connect itself until the deadline, so keep the deadline short.
    @Test func connectionRefusedIsATransportError() async throws {
        let server = try await FakeGroqServer.start()
        let baseURL = server.baseURL
        await server.stop()
        let client = GroqClient(
            configuration: GroqConfiguration(apiKey: Self.apiKey, baseURL: baseURL, timeout: .milliseconds(500), maxRetries: 1, retryBaseDelay: .milliseconds(10)))
        let started = ContinuousClock.now
        let error = await failure(client)
        guard case .transport(let reason) = error else {
            Issue.record("expected transport, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("refused"))
        #expect(!reason.contains(Self.apiKey))
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func visionMessageShapeOnTheWire() async throws {
        try await withServer { server in
            server.enqueue(.ok(content: "A small rash."))
            let configuration = Self.configuration(server)
            let client = GroqClient(configuration: configuration)
            let pixel: [UInt8] = [0x89, 0x50, 0x4E, 0x47]
            _ = try await client.chat(
                ChatRequest(
                    model: configuration.visionModel,
                    messages: [.user([.text("What is in this photo?"), .image(pixel, mimeType: "image/png")])]))

            let body = try #require(server.received.first?.json)
            #expect(body["model"] == "meta-llama/llama-4-scout-17b-16e-instruct")
            #expect(
                body["messages"]
                    == [
                        [
                            "role": "user",
                            "content": [
                                ["type": "text", "text": "What is in this photo?"],
                                ["type": "image_url", "image_url": ["url": "data:image/png;base64,iVBORw=="]],
                            ],
                        ]
                    ])
        }
    }
}

@Suite struct GroqConfigurationTests {
    @Test func environmentDefaults() {
        let configuration = GroqConfiguration.fromEnvironment([:])
        #expect(configuration.apiKey == nil)
        #expect(!configuration.isConfigured)
        #expect(configuration.baseURL == "https://api.groq.com/openai/v1")
        #expect(configuration.model == "llama-3.3-70b-versatile")
        #expect(configuration.fastModel == "llama-3.1-8b-instant")
        #expect(configuration.visionModel == "meta-llama/llama-4-scout-17b-16e-instruct")
        #expect(configuration.timeout == .seconds(30))
        #expect(configuration.maxRetries == 3)
    }

    @Test func environmentOverrides() {
        let configuration = GroqConfiguration.fromEnvironment([
            "GROQ_API_KEY": "k1", "GROQ_BASE_URL": "http://127.0.0.1:9/v1/", "GROQ_MODEL": "m",
            "GROQ_FAST_MODEL": "f", "GROQ_VISION_MODEL": "v",
        ])
        #expect(configuration.apiKey == "k1")
        #expect(configuration.baseURL == "http://127.0.0.1:9/v1")
        #expect(configuration.model == "m")
        #expect(configuration.fastModel == "f")
        #expect(configuration.visionModel == "v")
    }

    @Test func emptyKeyMeansNotConfigured() {
        #expect(!GroqConfiguration.fromEnvironment(["GROQ_API_KEY": "  "]).isConfigured)
        #expect(!GroqConfiguration(apiKey: "").isConfigured)
    }
}

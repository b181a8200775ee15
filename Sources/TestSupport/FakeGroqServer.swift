import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceKit
import Synchronization

/// A real HTTP server on 127.0.0.1 that plays the Groq chat-completions API for tests.
///
/// `POST /chat/completions` answers with the next scripted `Behaviour`, or the default one when the
/// script is empty. Every request that reaches the server is recorded, whatever its path.
///
/// ```swift
/// let groq = try await FakeGroqServer.start()
/// groq.enqueue(.status(429, body: "{}", retryAfter: 1), .ok(content: "{\"reply\":\"hi\"}"))
/// // ... GroqConfiguration(apiKey: "test", baseURL: groq.baseURL) ...
/// await groq.stop()
/// ```
public final class FakeGroqServer: Sendable {
    public indirect enum Behaviour: Sendable {
        /// 200 with a chat completion whose first choice says `content`.
        case ok(content: String)
        /// Any status with this body (sent as JSON when it parses as JSON) and an optional Retry-After.
        case status(Int, body: String, retryAfter: Int?)
        /// Waits, then behaves as `then`.
        case slow(seconds: Double, then: Behaviour)
        /// 200 whose body is not JSON.
        case malformed
        /// 200 with a JSON object that has no `choices`.
        case garbageJSON
    }

    /// One request as the server received it.
    public struct ReceivedRequest: Sendable {
        public let method: String
        public let path: String
        public let headers: HTTPFields
        public let rawBody: [UInt8]
        /// The body parsed as JSON; nil when it is not JSON.
        public let body: JSONValue?

        public func header(_ name: String) -> String? {
            HTTPField.Name(name).flatMap { headers[$0] }
        }

        public var authorization: String? { header("Authorization") }
        public var model: String? { body?["model"]?.stringValue }
        public var messages: [JSONValue] { body?["messages"]?.arrayValue ?? [] }
        public var responseFormat: JSONValue? { body?["response_format"] }
    }

    /// The scripted behaviours and the record, shared with the responder.
    private final class Script: Sendable {
        struct State {
            var queue: [Behaviour] = []
            var defaultBehaviour: Behaviour
            var requests: [ReceivedRequest] = []
            var channel: (any Channel)?
        }

        let state: Mutex<State>

        init(defaultBehaviour: Behaviour) {
            state = Mutex(State(defaultBehaviour: defaultBehaviour))
        }

        /// Records the request and, for a chat completion, takes the behaviour that answers it.
        func receive(_ request: ReceivedRequest, isChatCompletion: Bool) -> Behaviour? {
            state.withLock { state in
                state.requests.append(request)
                guard isChatCompletion else { return nil }
                return state.queue.isEmpty ? state.defaultBehaviour : state.queue.removeFirst()
            }
        }
    }

    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let script: Script
    private let serverTask: Task<Void, Never>

    private init(port: Int, script: Script, serverTask: Task<Void, Never>) {
        self.port = port
        self.script = script
        self.serverTask = serverTask
    }

    deinit { serverTask.cancel() }

    /// Starts a server on an ephemeral port; returns once it accepts connections.
    public static func start(
        defaultBehaviour: Behaviour = .ok(content: "Hello from the fake Groq API."),
        logger: Logger = FakeGroqServer.quietLogger
    ) async throws -> FakeGroqServer {
        let script = Script(defaultBehaviour: defaultBehaviour)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let server = try HTTPServerBuilder.http1().buildServer(
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            responder: { request, responseWriter, _ in
                let response = try await Self.respond(to: request, script: script)
                try await responseWriter.write(response: response.head, body: response.body)
            },
            onServerRunning: { channel in
                script.state.withLock { $0.channel = channel }
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            })
        let serverTask = Task {
            do {
                try await server.run()
            } catch {
                logger.error("fake Groq server stopped: \(error)")
            }
            portContinuation.finish()
        }
        guard let port = await ports.first(where: { _ in true }), port > 0 else {
            serverTask.cancel()
            throw FakeServerError.didNotStart
        }
        return FakeGroqServer(port: port, script: script, serverTask: serverTask)
    }

    public enum FakeServerError: Error { case didNotStart }

    /// Warnings and errors only: a test run starts many of these servers.
    public static var quietLogger: Logger {
        var logger = Logger(label: "FakeGroqServer")
        logger.logLevel = .warning
        return logger
    }

    /// Stops accepting connections, ends those in progress (a `.slow` answer is cut short) and waits.
    public func stop() async {
        let channel = script.state.withLock { $0.channel }
        try? await channel?.close()
        serverTask.cancel()
        await serverTask.value
    }

    // MARK: Scripting

    /// Adds behaviours for the next chat completions, in order.
    public func enqueue(_ behaviours: Behaviour...) {
        script.state.withLock { $0.queue.append(contentsOf: behaviours) }
    }

    /// The behaviour used once the queue is empty.
    public func setDefaultBehaviour(_ behaviour: Behaviour) {
        script.state.withLock { $0.defaultBehaviour = behaviour }
    }

    /// Every request received so far, in arrival order.
    public var requests: [ReceivedRequest] { script.state.withLock { $0.requests } }

    public var requestCount: Int { script.state.withLock { $0.requests.count } }

    /// Empties the queue and the record.
    public func reset() {
        script.state.withLock { state in
            state.queue.removeAll()
            state.requests.removeAll()
        }
    }

    // MARK: Answers

    private static func respond(to request: Request, script: Script) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 20)
        let bytes = Array(buffer.readableBytesView)
        let received = ReceivedRequest(
            method: request.method.rawValue, path: request.uri.path, headers: request.headers,
            rawBody: bytes, body: try? JSON.decode(bytes))
        let isChatCompletion = received.path == "/chat/completions"
        let behaviour = script.receive(received, isChatCompletion: isChatCompletion && received.method == "POST")
        guard isChatCompletion else { return error(404, "Unknown request URL: \(received.path)") }
        guard let behaviour else { return error(405, "Method Not Allowed") }
        return try await answer(behaviour, to: received)
    }

    private static func answer(_ behaviour: Behaviour, to request: ReceivedRequest) async throws -> Response {
        switch behaviour {
        case .ok(let content):
            return .json(completion(content: content, for: request))
        case .status(let status, let body, let retryAfter):
            var headers = HTTPFields()
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
            let isJSON = (try? JSON.decode(body)) != nil
            return .text(
                body, contentType: isJSON ? "application/json" : "text/plain; charset=utf-8",
                status: HTTPResponse.Status(code: status), headers: headers)
        case .slow(let seconds, let then):
            try await Task.sleep(for: .seconds(seconds))
            return try await answer(then, to: request)
        case .malformed:
            return .text("<html>upstream hiccup</html>", contentType: "application/json")
        case .garbageJSON:
            let noChoices: JSONObject = ["id": "chatcmpl-fake", "object": "chat.completion", "model": JSONValue(request.model)]
            return .json(noChoices)
        }
    }

    /// A completion in the OpenAI shape; token counts are word counts, so tests can predict them.
    private static func completion(content: String, for request: ReceivedRequest) -> JSONObject {
        let promptWords = request.messages.reduce(0) { total, message in
            switch message["content"] {
            case .string(let text)?:
                return total + wordCount(text)
            case .array(let parts)?:
                return total + parts.reduce(0) { $0 + wordCount($1["text"]?.stringValue ?? "") }
            default:
                return total
            }
        }
        let completionWords = wordCount(content)
        return [
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": .int(Instant.nowSeconds()),
            "model": JSONValue(request.model ?? "unknown"),
            "choices": [
                ["index": 0, "message": ["role": "assistant", "content": .string(content)], "finish_reason": "stop"]
            ],
            "usage": [
                "prompt_tokens": .int(Int64(promptWords)),
                "completion_tokens": .int(Int64(completionWords)),
                "total_tokens": .int(Int64(promptWords + completionWords)),
            ],
        ]
    }

    private static func wordCount(_ text: String) -> Int {
        text.split(whereSeparator: \.isWhitespace).count
    }

    private static func error(_ status: Int, _ message: String) -> Response {
        let body: JSONObject = ["error": ["message": .string(message), "type": "invalid_request_error"]]
        return .json(body, status: HTTPResponse.Status(code: status))
    }
}

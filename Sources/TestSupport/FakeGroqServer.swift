import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceKit
import Synchronization

/// A real HTTP server on 127.0.0.1 that speaks enough of the chat-completions API for tests.
///
/// Each request takes the next scripted behaviour (FIFO), or the default one when the script is
/// empty, and is recorded (headers and parsed JSON body) before the behaviour runs, so requests that
/// time out are recorded too.
public final class FakeGroqServer: Sendable {
    public indirect enum Behaviour: Sendable {
        /// 200 with a chat completion whose first choice says `content`.
        case ok(content: String)
        /// Any status with a raw body and an optional `Retry-After` (seconds).
        case status(Int, body: String, retryAfter: Int?)
        /// Waits, then behaves as `then` (the wait ends early when the server stops).
        case slow(seconds: Double, then: Behaviour)
        /// 200 whose body is not JSON.
        case malformed
        /// 200 with JSON that is not a chat completion (no `choices`).
        case garbageJSON
        /// Closes the connection without answering, as a crashed or restarted upstream does.
        case dropConnection
    }

    public struct ReceivedRequest: Sendable {
        public let method: String
        public let path: String
        public let headers: HTTPFields
        /// nil when the body is not JSON.
        public let json: JSONValue?

        public func header(_ name: String) -> String? {
            HTTPField.Name(name).flatMap { headers[$0] }
        }
    }

    /// The script and the recording, shared with the request handler.
    final class Script: Sendable {
        struct State {
            var queue: [Behaviour] = []
            var fallback: Behaviour = .ok(content: "fake reply")
            var received: [ReceivedRequest] = []
        }

        let state = Mutex(State())

        /// Records the request and picks its behaviour in one step, so concurrent requests take
        /// behaviours in arrival order.
        func next(recording request: ReceivedRequest) -> Behaviour {
            state.withLock { state in
                state.received.append(request)
                return state.queue.isEmpty ? state.fallback : state.queue.removeFirst()
            }
        }
    }

    public let port: Int
    private let script: Script
    private let task: Task<Void, any Error>

    /// Includes the `/openai/v1` prefix, like the real `GROQ_BASE_URL`.
    public var baseURL: String { "http://127.0.0.1:\(port)/openai/v1" }

    public static func start() async throws -> FakeGroqServer {
        let script = Script()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "fake-groq")
        // Stopping cancels the server, which HummingbirdCore logs as an error; nothing else is logged.
        logger.logLevel = .critical
        let server = try HTTPServerBuilder.http1().buildServer(
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            responder: { request, responseWriter, _ in
                // Throwing from the responder makes HummingbirdCore close the connection unanswered.
                guard let response = await respond(to: request, script: script) else { throw DroppedConnection() }
                try await responseWriter.write(response: response.head, body: response.body)
            },
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            })
        // Cancelling this task closes the listener and the open connections (and ends `.slow` waits).
        let task = Task {
            defer { continuation.finish() }  // a failed bind must not leave `start` waiting
            try await server.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw TestGatewayError.didNotStart
        }
        return FakeGroqServer(port: port, script: script, task: task)
    }

    private init(port: Int, script: Script, task: Task<Void, any Error>) {
        self.port = port
        self.script = script
        self.task = task
    }

    public func enqueue(_ behaviours: Behaviour...) {
        script.state.withLock { $0.queue.append(contentsOf: behaviours) }
    }

    /// What requests get once the script is used up (initially `.ok(content: "fake reply")`).
    public func setDefault(_ behaviour: Behaviour) {
        script.state.withLock { $0.fallback = behaviour }
    }

    public var received: [ReceivedRequest] {
        script.state.withLock { $0.received }
    }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    // MARK: - Answering

    static let completionPaths: Set<String> = ["/chat/completions", "/openai/v1/chat/completions"]

    struct DroppedConnection: Error {}

    /// nil: drop the connection.
    private static func respond(to request: Request, script: Script) async -> Response? {
        var request = request
        let path = request.uri.path
        guard completionPaths.contains(path) else {
            return .json(["error": ["message": .string("Unknown request URL: \(path)")]], status: .notFound)
        }
        guard request.method == .post else {
            return .json(["error": ["message": "Method not allowed"]], status: .methodNotAllowed)
        }
        let body = (try? await request.collectBody(upTo: 32 * 1024 * 1024)).map { Array(buffer: $0) } ?? []
        let json = try? JSON.decode(body)
        let behaviour = script.next(recording: ReceivedRequest(method: request.method.rawValue, path: path, headers: request.headers, json: json))
        return await perform(behaviour, model: json?["model"]?.stringValue ?? "fake-model")
    }

    private static func perform(_ behaviour: Behaviour, model: String) async -> Response? {
        switch behaviour {
        case .ok(let content):
            return .json(completion(content: content, model: model))
        case .status(let status, let body, let retryAfter):
            var headers = HTTPFields()
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
            return .bytes(body.utf8, contentType: "application/json", status: .init(code: status), headers: headers)
        case .slow(let seconds, let then):
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            return await perform(then, model: model)
        case .malformed:
            return .text("<html>upstream error</html>", contentType: "text/html")
        case .garbageJSON:
            return .json(["id": "chatcmpl-fake", "object": "chat.completion", "model": .string(model)])
        case .dropConnection:
            return nil
        }
    }

    /// A chat completion as the API returns it. Token counts are fixed for the prompt and count words
    /// of the answer, so tests can check that usage is read.
    static func completion(content: String, model: String) -> JSONValue {
        let completionTokens = content.split(whereSeparator: \.isWhitespace).count
        return [
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": .string(model),
            "choices": [
                [
                    "index": 0,
                    "message": ["role": "assistant", "content": .string(content)],
                    "finish_reason": "stop",
                ]
            ],
            "usage": [
                "prompt_tokens": 12,
                "completion_tokens": .int(Int64(completionTokens)),
                "total_tokens": .int(Int64(12 + completionTokens)),
            ],
        ]
    }
}

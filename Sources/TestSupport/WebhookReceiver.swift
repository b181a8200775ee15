import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceKit
import Synchronization

/// A real HTTP server on an ephemeral loopback port that records every request, for tests of
/// code that posts webhooks or calls a small HTTP API. It answers with the scripted statuses first
/// (say `[500]` to make the first delivery fail), then 200, always with the same JSON body.
public final class WebhookReceiver: Sendable {
    /// One request as it arrived.
    public struct Delivery: Sendable {
        public let method: String
        public let path: String
        public let headers: [(String, String)]
        public let body: [UInt8]
        /// When it arrived (monotonic).
        public let receivedAt: ContinuousClock.Instant

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        public var json: JSONValue? { try? JSON.decode(body) }
    }

    /// What arrived, and the answers still scripted.
    private final class Recorder: Sendable {
        private struct State {
            var deliveries: [Delivery] = []
            var statuses: [Int]
        }

        private let state: Mutex<State>

        init(statuses: [Int]) {
            state = Mutex(State(statuses: statuses))
        }

        var deliveries: [Delivery] { state.withLock { $0.deliveries } }

        /// Records a request; returns the status to answer it with.
        func record(_ delivery: Delivery) -> Int {
            state.withLock { state in
                state.deliveries.append(delivery)
                return state.statuses.isEmpty ? 200 : state.statuses.removeFirst()
            }
        }
    }

    public let port: Int
    private let recorder: Recorder
    private let task: Task<Void, any Error>

    public var url: String { "http://127.0.0.1:\(port)" }

    public var deliveries: [Delivery] { recorder.deliveries }

    public static func start(statuses: [Int] = [], body: JSONValue = ["received": true]) async throws -> WebhookReceiver {
        let answer = JSON.encode(body)
        let recorder = Recorder(statuses: statuses)
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = try HTTPServerBuilder.http1().buildServer(
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil, backlog: 64, reuseAddress: true),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            responder: { request, responseWriter, _ in
                let body = try await request.body.collect(upTo: 1 << 20)
                let status = recorder.record(Delivery(
                    method: request.head.method.rawValue, path: request.head.path ?? "/",
                    headers: request.head.headerFields.map { ($0.name.canonicalName, $0.value) }, body: Array(body.readableBytesView),
                    receivedAt: .now))
                let response = Response(
                    status: .init(code: status), headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: answer)))
                try await responseWriter.write(response: response.head, body: response.body)
            },
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        let task = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TestGatewayError.didNotStart }
        return WebhookReceiver(port: port, recorder: recorder, task: task)
    }

    private init(port: Int, recorder: Recorder, task: Task<Void, any Error>) {
        self.port = port
        self.recorder = recorder
        self.task = task
    }

    /// Waits until at least `count` requests arrived (or the timeout passed); returns them all.
    public func waitForDeliveries(_ count: Int, timeout: Duration = .seconds(15)) async -> [Delivery] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = deliveries
            if current.count >= count { return current }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return deliveries
    }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

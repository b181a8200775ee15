import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// One request/response exchange with an upstream, on AsyncHTTPClient's delegate API.
///
/// Why the delegate API and not `execute(_: HTTPClientRequest)`: the async API pulls a streamed
/// request body as fast as its source yields, well ahead of what the connection can send, so a
/// fast client uploading to a slower upstream piles the body up in memory (measured: 235 MB
/// resident for a 300 MB upload). Here each request chunk is pulled only after the previous one
/// was written to the upstream connection (`RequestBodyPump`), and each response chunk is read from
/// the upstream only when the client side has taken the previous ones (the body sequence's
/// back-pressure), so memory stays at a few chunks whatever the sizes and speeds.
final class UpstreamExchange: HTTPClientResponseDelegate, Sendable {
    typealias Response = Void
    typealias BodySequence = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BodyDemand
    >

    private let source: BodySequence.Source
    private let demand: BodyDemand
    /// The request body's window, released as AsyncHTTPClient reports parts written.
    private let window: UploadWindow?
    private let state = Mutex(State())

    private struct State {
        var head: HeadState = .pending
        var task: HTTPClient.Task<Void>?
        var timedOut = false
        /// Handed out once: the exchange must not keep it alive, so that a response dropped unread
        /// ends the exchange (see `takeBody`).
        var body: BodySequence?
    }

    private enum HeadState {
        case pending
        case awaited(CheckedContinuation<HTTPResponseHead, any Error>)
        /// Head or failure known before anyone waited.
        case settled(Result<HTTPResponseHead, any Error>)
        case delivered
    }

    init(window: UploadWindow?) {
        self.window = window
        let demand = BodyDemand()
        let sequence = BodySequence.makeSequence(
            backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2), finishOnDeinit: false, delegate: demand)
        self.source = sequence.source
        self.demand = demand
        state.withLock { $0.body = sequence.sequence }
    }

    /// The response body as it arrives, with back-pressure. Dropping it before the end cancels the
    /// exchange (the connection is closed rather than reused).
    func takeBody() -> BodySequence? {
        state.withLock { state in
            defer { state.body = nil }
            return state.body
        }
    }

    /// For answers that carry no body (HEAD, 204, 304): the exchange ends by itself, and the
    /// connection goes back to the pool.
    func discardBody() {
        guard let body = takeBody(), let task = state.withLock({ $0.task }) else { return }
        task.futureResult.whenComplete { _ in withExtendedLifetime(body) {} }
    }

    /// Sends `request` and waits for the response head; fails with `deadlineExceeded` when it
    /// does not come within `timeout`. The head arrives once: call this once.
    func start(_ request: HTTPClient.Request, on client: HTTPClient, timeout: Duration, logger: Logger) async throws -> HTTPResponseHead {
        let task = client.execute(request: request, delegate: self, eventLoop: .indifferent, deadline: nil, logger: logger)
        state.withLock { $0.task = task }
        demand.onTerminate = { task.cancel() }
        task.futureResult.whenFailure { self.fail($0) }
        let timer = task.eventLoop.scheduleTask(in: TimeAmount(timeout)) { self.timeOut() }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<HTTPResponseHead, any Error>? = state.withLock { state in
                    switch state.head {
                    case .pending:
                        state.head = .awaited(continuation)
                        return nil
                    case .settled(let result):
                        state.head = .delivered
                        return result
                    case .awaited, .delivered:
                        preconditionFailure("the head is awaited once")
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            task.cancel()
        }
    }

    var timedOut: Bool { state.withLock { $0.timedOut } }

    /// Returns once AsyncHTTPClient is done with the exchange, successfully or not.
    func finished() async {
        guard let task = state.withLock({ $0.task }) else { return }
        _ = try? await task.futureResult.get()
    }

    /// Abandons the exchange (the upstream connection is closed, not reused) if it still runs.
    func cancel() {
        state.withLock { $0.task }?.cancel()
    }

    private func timeOut() {
        let (headPending, task) = state.withLock { state -> (Bool, HTTPClient.Task<Void>?) in
            switch state.head {
            case .pending, .awaited:
                state.timedOut = true
                return (true, state.task)
            case .settled, .delivered:
                return (false, nil)
            }
        }
        guard headPending else { return }
        fail(HTTPClientError.deadlineExceeded)
        task?.cancel()
    }

    private func fail(_ error: any Error) {
        settleHead(.failure(error))
        source.finish(error)
        demand.cancel()
        window?.cancel(error)
    }

    /// Hands the head (or why there is none) to `start`, now or when it waits; the first result counts.
    private func settleHead(_ result: Result<HTTPResponseHead, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<HTTPResponseHead, any Error>? in
            switch state.head {
            case .pending:
                state.head = .settled(result)
                return nil
            case .awaited(let continuation):
                state.head = .delivered
                return continuation
            case .settled, .delivered:
                return nil
            }
        }
        continuation?.resume(with: result)
    }

    // MARK: HTTPClientResponseDelegate

    func didSendRequestPart(task: HTTPClient.Task<Void>, _ part: IOData) {
        window?.release(part.readableBytes)
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        settleHead(.success(head))
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        switch source.yield(buffer) {
        case .produceMore:
            return task.eventLoop.makeSucceededVoidFuture()
        case .stopProducing:
            return demand.wait(on: task.eventLoop)
        case .dropped:
            task.cancel()
            return task.eventLoop.makeSucceededVoidFuture()
        }
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        fail(error)
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        source.finish()
    }
}

/// The response body consumer's demand: AsyncHTTPClient reads on from the upstream only once the
/// client side has taken what was buffered.
final class BodyDemand: NIOAsyncSequenceProducerDelegate {
    private struct State {
        var waiting: EventLoopPromise<Void>?
        /// produceMore() came before the reader started waiting.
        var signalled = false
        var terminated = false
        var onTerminate: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    var onTerminate: (@Sendable () -> Void)? {
        get { state.withLock { $0.onTerminate } }
        set { state.withLock { $0.onTerminate = newValue } }
    }

    func wait(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let resumeNow = state.withLock { state in
            if state.signalled || state.terminated {
                state.signalled = false
                return true
            }
            state.waiting = promise
            return false
        }
        if resumeNow { promise.succeed() }
        return promise.futureResult
    }

    func produceMore() {
        let waiting = state.withLock { state in
            guard let waiting = state.waiting else {
                state.signalled = true
                return nil as EventLoopPromise<Void>?
            }
            state.waiting = nil
            return waiting
        }
        waiting?.succeed()
    }

    /// The reader is gone (finished, or the response was dropped): stop the exchange.
    func didTerminate() {
        let (waiting, onTerminate) = state.withLock { state in
            state.terminated = true
            defer { state.waiting = nil }
            return (state.waiting, state.onTerminate)
        }
        waiting?.succeed()
        onTerminate?()
    }

    func cancel() {
        let waiting = state.withLock { state in
            state.terminated = true
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.succeed()
    }
}

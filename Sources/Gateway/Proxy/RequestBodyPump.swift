import AsyncHTTPClient
import HummingbirdCore
import NIOCore
import NIOPosix
import Synchronization

/// Copies the client's request body into the upstream request, one chunk at a time: the next chunk
/// is read from the client only when the window has room, that is once the chunks before it have
/// been written to the upstream connection.
///
/// The copy runs in a task of its own, because the upstream may answer before it has read the whole
/// body. That task must be over before the client connection's handler returns: the server then
/// reads whatever is left of the body itself, and two readers of one body stream are a crash. So
/// whoever ends the exchange calls `drain()` (an answer was given: the rest of the body is read and
/// dropped, and the client connection stays usable) or `abort()` (no answer: stop reading at once;
/// the client connection closes after the error answer).
final class RequestBodyPump: Sendable {
    let window = UploadWindow(limit: 256 * 1024)
    private let body: RequestBody
    private let state = Mutex(State())

    private struct State {
        var task: Task<Void, Never>?
        var stopped = false
        var draining = false
        /// The copy waiting for AsyncHTTPClient to take a chunk.
        var pendingWrite: CheckedContinuation<Void, any Error>?
        /// An error the client's body itself threw (client gone, body over the route's limit).
        var bodyError: (any Error)?
    }

    private struct Stopped: Error {}

    init(body: RequestBody) {
        self.body = body
    }

    /// The error the client's body threw, if any: it is not the upstream's fault.
    var bodyError: (any Error)? { state.withLock { $0.bodyError } }

    /// The body for the upstream request; AsyncHTTPClient starts the copy once the request head is sent.
    func upstreamBody(length: Int64?) -> HTTPClient.Body {
        .stream(contentLength: length) { writer in
            let promise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Void.self)
            let started = self.state.withLock { state in
                guard !state.stopped else { return false }
                state.task = Task {
                    do {
                        try await self.copy(to: writer)
                        promise.succeed()
                    } catch {
                        promise.fail(error)
                    }
                }
                return true
            }
            if !started { promise.fail(Stopped()) }
            return promise.futureResult
        }
    }

    /// Stops forwarding; what the client still sends is read and dropped. Returns at the body's end.
    func drain() async {
        await stop(draining: true)
    }

    /// Stops at once, even in the middle of waiting for the client.
    func abort() async {
        await stop(draining: false)
    }

    private func stop(draining: Bool) async {
        let (task, pendingWrite) = state.withLock { state in
            state.stopped = true
            state.draining = draining
            defer { state.pendingWrite = nil }
            return (state.task, state.pendingWrite)
        }
        guard let task else { return }
        if !draining { task.cancel() }
        window.cancel(Stopped())
        pendingWrite?.resume(throwing: Stopped())
        await task.value
    }

    private func copy(to writer: HTTPClient.Body.StreamWriter) async throws {
        var chunks = body.makeAsyncIterator()
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await chunks.next()
            } catch {
                state.withLock { $0.bodyError = $0.bodyError ?? error }
                throw error
            }
            guard let chunk else { return }
            if state.withLock({ $0.draining }) { continue }
            do {
                try await window.acquire(chunk.readableBytes)
                try await send(chunk, to: writer)
            } catch {
                if state.withLock({ $0.draining }) { continue }
                throw error
            }
        }
    }
}

extension RequestBodyPump {
    /// Hands one chunk to AsyncHTTPClient and waits until it is written, or until the pump is
    /// stopped. Why not just wait for the write: when the upstream answers >= 300 while the body is
    /// still streaming, AsyncHTTPClient pauses the upload and a write it had already accepted may
    /// never complete, which would keep the client connection's handler from ever finishing.
    fileprivate func send(_ chunk: ByteBuffer, to writer: HTTPClient.Body.StreamWriter) async throws {
        let written = writer.write(.byteBuffer(chunk))
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let stopped = state.withLock { state in
                guard !state.stopped else { return true }
                state.pendingWrite = continuation
                return false
            }
            if stopped {
                continuation.resume(throwing: Stopped())
                return
            }
            written.whenComplete { result in
                let waiting = self.state.withLock { state in
                    defer { state.pendingWrite = nil }
                    return state.pendingWrite
                }
                waiting?.resume(with: result)
            }
        }
    }
}

/// Bounds the request body bytes handed to the client library but not yet written to the upstream
/// connection (AsyncHTTPClient reports each written part to the exchange, which releases it here).
final class UploadWindow: Sendable {
    private struct State {
        var inFlight = 0
        var waiter: (needed: Int, continuation: CheckedContinuation<Void, any Error>)?
        var failure: (any Error)?
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// Waits until `count` more bytes fit (a chunk larger than the window waits for an empty
    /// window), then counts them as in flight.
    func acquire(_ count: Int) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result: Result<Void, any Error>? = state.withLock { state in
                if let failure = state.failure { return .failure(failure) }
                if state.inFlight == 0 || state.inFlight + count <= limit {
                    state.inFlight += count
                    return .success(())
                }
                state.waiter = (count, continuation)
                return nil
            }
            if let result { continuation.resume(with: result) }
        }
    }

    func release(_ count: Int) {
        let resumed = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.inFlight = max(0, state.inFlight - count)
            guard let waiter = state.waiter, state.inFlight == 0 || state.inFlight + waiter.needed <= limit else { return nil }
            state.inFlight += waiter.needed
            state.waiter = nil
            return waiter.continuation
        }
        resumed?.resume()
    }

    /// Fails the waiting and every later `acquire`.
    func cancel(_ error: any Error) {
        let waiter = state.withLock { state in
            state.failure = state.failure ?? error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.continuation.resume(throwing: error)
    }
}

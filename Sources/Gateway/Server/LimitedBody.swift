import HummingbirdCore
import NIOCore
import ServiceKit
import Synchronization

/// Enforces a route's body limit while the body streams in (chunked bodies included), so an
/// oversized upload is refused without being buffered.
struct LimitedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    /// Set when the limit was hit, so the pipeline can answer 413 whatever the target made of it.
    final class Tripwire: Sendable {
        private let state = Atomic<Bool>(false)
        var tripped: Bool { state.load(ordering: .relaxed) }
        func trip() { state.store(true, ordering: .relaxed) }
    }

    let base: RequestBody
    let limit: Int
    let tripwire: Tripwire

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let limit: Int
        let tripwire: Tripwire
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            seen += chunk.readableBytes
            if seen > limit {
                tripwire.trip()
                throw ServiceError.bodyTooLarge
            }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), limit: limit, tripwire: tripwire)
    }
}

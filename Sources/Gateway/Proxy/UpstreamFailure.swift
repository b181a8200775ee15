import AsyncHTTPClient
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceKit

/// Why no response head came from an upstream, in the terms of the failure table of
/// 00-conventions §11.
enum UpstreamFailure: Equatable {
    /// Nothing accepted the connection: refused, unreachable, no address, pool exhausted. 503.
    case unavailable
    /// The route's time limit passed before the response head. 504.
    case timedOut
    /// An established connection closed or reset before any response byte: what a request sent on
    /// a pooled connection the upstream has just closed sees. 502, but retryable once for
    /// idempotent requests without a body.
    case connectionLost
    /// The upstream answered something that is not HTTP, or failed in another way. 502.
    case invalidResponse

    init(classifying error: any Error) {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout: self = .timedOut
            case .connectTimeout, .getConnectionFromPoolTimeout: self = .unavailable
            case .remoteConnectionClosed: self = .connectionLost
            default: self = .invalidResponse
            }
        } else if error is NIOConnectionError {
            self = .unavailable
        } else if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ETIMEDOUT: self = .unavailable
            case ECONNRESET, EPIPE, ECONNABORTED: self = .connectionLost
            default: self = .invalidResponse
            }
        } else if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: self = .unavailable
            case .ioOnClosedChannel, .eof, .outputClosed, .alreadyClosed, .inputClosed: self = .connectionLost
            default: self = .invalidResponse
            }
        } else if error is SocketAddressError {
            self = .unavailable
        } else {
            // HTTPParserError (bad status line, bad framing) and anything unforeseen.
            self = .invalidResponse
        }
    }

    func serviceError(service: String) -> ServiceError {
        switch self {
        case .unavailable: .unavailable(service: service)
        case .timedOut: .timedOut(service: service)
        case .connectionLost, .invalidResponse: .invalidResponse(service: service)
        }
    }
}

import AsyncHTTPClient
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceKit

/// Forwards requests to upstream HTTP services (00-conventions §11) over AsyncHTTPClient's pooled
/// keep-alive connections. Bodies stream in both directions: the request body is read from the
/// client as the upstream takes it, and the response body is written to the client as it arrives,
/// so neither is ever held whole.
public final class UpstreamProxy: UpstreamForwarder {
    private let httpClient: HTTPClient
    private let logger: Logger

    /// `httpClient` should come from `makeHTTPClient()`; the caller shuts it down after the server stops.
    public init(httpClient: HTTPClient, logger: Logger) {
        self.httpClient = httpClient
        self.logger = logger
    }

    /// A client configured for proxying to loopback upstreams:
    /// - redirects are passed to the client, never followed; bodies are never decompressed;
    /// - a refused connection fails at once (503) instead of being retried until a timeout, since a
    ///   loopback upstream that refuses is down;
    /// - idle pooled connections are closed after 4 s, before common upstream keep-alive timeouts
    ///   (uvicorn 5 s, Node 5 s), which keeps stale-connection retries rare;
    /// - up to 256 connections per upstream, so the pool does not queue requests under load.
    public static func makeHTTPClient(eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) -> HTTPClient {
        var pool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(4), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        pool.retryConnectionEstablishment = false
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)), connectionPool: pool, decompression: .disabled)
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
    }

    public func forward(_ request: ProxyRequest, to target: UpstreamTarget) async throws -> Response {
        let url = UpstreamRequestURL.make(target: target, path: request.targetPath, query: request.query)
        let method = HTTPMethod(rawValue: request.method.rawValue)
        let headers = ForwardedHeaders.upstreamRequest(request, target: target)
        let hasBody = Self.hasBody(request.headers)
        let length = request.headers[.contentLength].flatMap(Int64.init)
        // A request that sent nothing can be sent again; one whose body was streamed cannot.
        let retryable = !hasBody && Self.idempotentMethods.contains(request.method)
        let deadline = ContinuousClock.now + target.timeout

        var attempt = 1
        while true {
            let pump = hasBody ? RequestBodyPump(body: request.body) : nil
            let exchange = UpstreamExchange(window: pump?.window)
            do {
                let upstreamRequest = try HTTPClient.Request(url: url, method: method, headers: headers, body: pump?.upstreamBody(length: length))
                let head = try await exchange.start(upstreamRequest, on: httpClient, timeout: deadline - .now, logger: logger)
                return clientResponse(head, exchange: exchange, pump: pump, for: request, from: target)
            } catch {
                let bodyError = pump?.bodyError
                await pump?.abort()
                // The client's own body failing (client gone, over the route's limit) is not the upstream's fault.
                if let bodyError { throw bodyError }
                if Task.isCancelled { throw CancellationError() }
                let failure = exchange.timedOut ? .timedOut : UpstreamFailure(classifying: error)
                if failure == .connectionLost && retryable && attempt == 1 {
                    logger.debug("upstream connection lost before the response; retrying once", metadata: Self.metadata(request.requestID, target, error))
                    attempt += 1
                    continue
                }
                logger.warning("upstream request failed: \(failure)", metadata: Self.metadata(request.requestID, target, error))
                throw failure.serviceError(service: target.name)
            }
        }
    }

    public func probe(_ target: UpstreamTarget, path: String, timeout: Duration) async -> Int? {
        var request = HTTPClientRequest(url: UpstreamRequestURL.make(target: target, path: path, query: nil))
        request.headers.add(name: "Host", value: target.hostHeader)
        request.headers.add(name: "X-Forwarded-By", value: "mysehat-gateway")
        do {
            let response = try await httpClient.execute(request, deadline: .now() + TimeAmount(timeout), logger: logger)
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        } catch {
            return nil
        }
    }

    // MARK: Response

    /// The client's response. Writing it also ends the request body copy (see `RequestBodyPump`), so
    /// it must be written or dropped, not kept.
    private func clientResponse(
        _ head: HTTPResponseHead, exchange: UpstreamExchange, pump: RequestBodyPump?, for request: ProxyRequest, from target: UpstreamTarget
    ) -> Response {
        var headers = ForwardedHeaders.clientResponse(head.headers)
        if let location = headers[.location] {
            let rewriter = LocationRewriter(
                target: target, publicScheme: request.publicScheme, publicHost: request.publicHost, publicPrefix: request.publicPrefix)
            headers[.location] = rewriter.rewrite(location)
        }
        let status = HTTPResponse.Status(code: Int(head.status.code), reasonPhrase: head.status.reasonPhrase)
        // HEAD answers carry the GET's Content-Length but no body, as do 204 and 304.
        let code = head.status.code
        guard request.method != .head, code != 204, code != 304, let body = exchange.takeBody() else {
            exchange.discardBody()
            guard let pump else { return Response(status: status, headers: headers, body: ResponseBody()) }
            return Response(
                status: status, headers: headers,
                body: ResponseBody { writer in
                    try await writer.finish(nil)
                    await exchange.finished()
                    await pump.drain()
                })
        }
        let logger = self.logger
        let requestID = request.requestID
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: headers[.contentLength].flatMap(Int.init)) { writer in
                do {
                    // The body ends when the whole exchange is over, request body included.
                    for try await chunk in body { try await writer.write(chunk) }
                    try await writer.finish(nil)
                } catch {
                    // The head is already out: all that is left is to cut the connection.
                    logger.warning("upstream response body interrupted", metadata: Self.metadata(requestID, target, error))
                    exchange.cancel()
                    await pump?.abort()
                    throw error
                }
                await pump?.drain()
            })
    }

    // MARK: Helpers

    /// Methods whose requests may be repeated (RFC 9110 §9.2.2).
    static let idempotentMethods: Set<HTTPRequest.Method> = [.get, .head, .options, .put, .delete]

    /// Whether the client's message has a body, by its framing headers (RFC 9112 §6.3).
    static func hasBody(_ headers: HTTPFields) -> Bool {
        if headers[.transferEncoding] != nil { return true }
        guard let length = headers[.contentLength] else { return false }
        return length != "0"
    }

    private static func metadata(_ requestID: String, _ target: UpstreamTarget, _ error: any Error) -> Logger.Metadata {
        [
            "service": .string(target.name), "request_id": .string(requestID),
            "upstream": .string("\(target.scheme)://\(target.hostHeader)"), "error": .string(String(describing: error)),
        ]
    }
}

/// The upstream URL for a raw (percent-encoded) path and query. Characters that may not appear in
/// a URI are percent-encoded; valid escapes and reserved characters pass unchanged, so the upstream
/// sees the path and query exactly as the client wrote them.
enum UpstreamRequestURL {
    static func make(target: UpstreamTarget, path: String, query: String?) -> String {
        let base = target.basePath.hasSuffix("/") ? String(target.basePath.dropLast()) : target.basePath
        let path = path.isEmpty ? "/" : (path.hasPrefix("/") ? path : "/" + path)
        var url = "\(target.scheme)://\(target.hostHeader)\(escaped(base + path, allowQuestionMark: false))"
        if let query { url += "?" + escaped(query, allowQuestionMark: true) }
        return url
    }

    static func escaped(_ text: String, allowQuestionMark: Bool) -> String {
        let bytes = Array(text.utf8)
        guard bytes.indices.contains(where: { !isAllowed(bytes, at: $0, allowQuestionMark: allowQuestionMark) }) else { return text }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + 16)
        for index in bytes.indices {
            if isAllowed(bytes, at: index, allowQuestionMark: allowQuestionMark) {
                result.append(bytes[index])
            } else {
                result.append(UInt8(ascii: "%"))
                result.append(hexDigits[Int(bytes[index] >> 4)])
                result.append(hexDigits[Int(bytes[index] & 0xF)])
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// RFC 3986 pchar (plus "/" and, in a query, "?"); "%" only as the start of a valid escape.
    private static func isAllowed(_ bytes: [UInt8], at index: Int, allowQuestionMark: Bool) -> Bool {
        let byte = bytes[index]
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "%"):
            return index + 2 < bytes.count && isHex(bytes[index + 1]) && isHex(bytes[index + 2])
        case UInt8(ascii: "?"):
            return allowQuestionMark
        default:
            return "-._~!$&'()*+,;=:@/".utf8.contains(byte)
        }
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }
}

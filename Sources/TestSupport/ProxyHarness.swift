import AsyncHTTPClient
import Foundation
import Gateway
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceKit
import Synchronization

/// A minimal HTTP server whose responder hands every request to `UpstreamProxy.forward`, so proxy
/// tests talk real HTTP through the proxy without the rest of the gateway.
///
/// Requests are routed by the longest matching prefix of `routes`, which is stripped. The test
/// header `X-Test-User: <id>:<role>` stands for a verified token; client-sent `X-User-Id` /
/// `X-User-Role` are passed to the proxy untouched, so tests see the proxy's own defence.
public final class ProxyHarness: Sendable {
    public let port: Int
    public let proxy: UpstreamProxy
    private let httpClient: HTTPClient
    private let task: Task<Void, any Error>

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public static func start(routes: [String: UpstreamTarget], logLevel: Logger.Level = .critical) async throws -> ProxyHarness {
        var logger = Logger(label: "proxy-harness")
        logger.logLevel = logLevel
        let httpClient = UpstreamProxy.makeHTTPClient()
        let proxy = UpstreamProxy(httpClient: httpClient, logger: logger)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let server = try HTTPServerBuilder.http1().buildServer(
            configuration: .init(address: .hostname("127.0.0.1", port: 0)), eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            responder: { request, writer, channel in
                let response = await Self.respond(to: request, clientIP: channel.remoteAddress?.ipAddress ?? "unknown", routes: routes, proxy: proxy)
                try await writer.write(response: response.head, body: response.body)
            },
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            })
        let task = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            try await httpClient.shutdown()
            throw TestGatewayError.didNotStart
        }
        return ProxyHarness(port: port, proxy: proxy, httpClient: httpClient, task: task)
    }

    private init(port: Int, proxy: UpstreamProxy, httpClient: HTTPClient, task: Task<Void, any Error>) {
        self.port = port
        self.proxy = proxy
        self.httpClient = httpClient
        self.task = task
    }

    public func stop() async throws {
        task.cancel()
        _ = try? await task.value
        try await httpClient.shutdown()
    }

    static let testUser = HTTPField.Name("X-Test-User")!

    private static func respond(to request: Request, clientIP: String, routes: [String: UpstreamTarget], proxy: UpstreamProxy) async -> Response {
        let path = request.uri.path
        let matches = routes.filter { path == $0.key || path.hasPrefix($0.key + "/") }
        guard let (prefix, target) = matches.max(by: { $0.key.count < $1.key.count }) else {
            return .json(ServiceError.notFound.body, status: .notFound)
        }
        var headers = request.headers
        let user = headers[testUser].flatMap { value -> VerifiedUser? in
            let parts = value.split(separator: ":")
            return parts.count == 2 ? VerifiedUser(id: String(parts[0]), role: String(parts[1])) : nil
        }
        headers[testUser] = nil
        let rest = String(path.dropFirst(prefix.count))
        let proxyRequest = ProxyRequest(
            method: request.method, targetPath: rest.isEmpty ? "/" : rest, query: request.uri.query, headers: headers, body: request.body,
            publicPath: path, publicPrefix: prefix, clientIP: clientIP, publicScheme: "http", publicHost: request.head.authority,
            requestID: headers[HTTPField.Name("X-Request-ID")!] ?? UUID().uuidString, user: user)
        do {
            return try await proxy.forward(proxyRequest, to: target)
        } catch let error as ServiceError {
            return .json(error.body, status: error.status)
        } catch {
            return .json(ServiceError.internalError.body, status: .internalServerError)
        }
    }
}

/// `Tests/Fixtures/upstream.py` running as a real process on an ephemeral port, started with the
/// gateway's own `ChildProcess` (no descriptor of the test process leaks into it).
public final class PythonUpstream: Sendable {
    public let port: Int
    private let child: ChildProcess

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var pid: Int32 { child.pid }

    /// The fixture script in this package.
    public static var scriptPath: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Tests/Fixtures/upstream.py").path
    }

    /// Starts the script and waits for the port it prints on its first line.
    public static func start(arguments: [String] = []) async throws -> PythonUpstream {
        let (lines, continuation) = AsyncStream<String>.makeStream()
        let child = try await ChildProcess.spawn(
            command: ["python3", scriptPath, "--exit-with-parent"] + arguments,
            environment: ProcessInfo.processInfo.environment,
            output: ChildOutput { event in
                switch event {
                case .line(let text, .stdout): continuation.yield(text)
                case .closed(.stdout): continuation.finish()
                default: break
                }
            })
        var iterator = lines.makeAsyncIterator()
        guard let line = await iterator.next(), let port = Int(line.trimmingCharacters(in: .whitespaces)) else {
            child.signal(SIGKILL)
            throw TestGatewayError.didNotStart
        }
        return PythonUpstream(port: port, child: child)
    }

    private init(port: Int, child: ChildProcess) {
        self.port = port
        self.child = child
    }

    /// SIGKILL (the fixture has nothing to clean up), then waits until it is gone.
    public func stop() async {
        child.signal(SIGKILL)
        _ = await child.waitForExit(timeout: .seconds(10))
    }

    deinit { if !child.hasExited { child.signal(SIGKILL) } }
}

/// The resident set size of this process, from /proc/self/statm.
public enum ProcessMemory {
    public static var residentBytes: Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// A loopback port nothing listens on (bound once by the kernel's choice, then released).
public enum FreePort {
    public static func next() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : 0
    }
}

/// HTTP/1.1 over a plain blocking socket with small kernel buffers, for streaming tests in which
/// the client itself must feel back-pressure: an async client library would read or produce
/// ahead and hide what the server in between does. Bodies are the fixture's byte pattern (byte i
/// is i % 256). One request per connection (`Connection: close`).
public enum RawStream {
    public struct Upload: Sendable {
        public let status: Int
        public let body: [UInt8]
        /// When the last body byte was accepted by the kernel (seconds since 1970).
        public let finishedSendingAt: Double
    }

    public struct Download: Sendable {
        public let status: Int
        public let contentLength: Int?
        public let bytes: Int
        public let patternIntact: Bool
        /// When reading resumed after the pause (seconds since 1970).
        public let resumedAt: Double?
    }

    /// POSTs `bytes` of the pattern with a Content-Length, 64 KiB at a time.
    public static func upload(port: Int, path: String, bytes: Int) async throws -> Upload {
        try await onThread {
            let socket = try BlockingSocket(port: port)
            try socket.send(Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: \(bytes)\r\nConnection: close\r\n\r\n".utf8))
            let block = (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0) }
            var sent = 0
            while sent < bytes {
                let count = min(block.count, bytes - sent)
                try socket.send(Array(block[0..<count]))
                sent += count
            }
            let finished = Date().timeIntervalSince1970
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while case let count = try socket.read(into: &buffer), count > 0 { response += buffer[0..<count] }
            let head = try ResponseHead(response)
            return Upload(status: head.status, body: Array(response[head.bodyStart...]), finishedSendingAt: finished)
        }
    }

    /// GETs `path`, stops reading for `pause` after `pauseAfter` body bytes, then reads to the end.
    public static func download(port: Int, path: String, pauseAfter: Int, pause: Duration) async throws -> Download {
        try await onThread {
            let socket = try BlockingSocket(port: port)
            try socket.send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8))
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            var received: [UInt8] = []
            var head: ResponseHead?
            while head == nil {
                let count = try socket.read(into: &buffer)
                guard count > 0 else { throw RawStreamError.closedEarly }
                received += buffer[0..<count]
                head = try? ResponseHead(received)
            }
            guard let head else { throw RawStreamError.closedEarly }
            var offset = 0
            var intact = true
            var resumedAt: Double?
            // Every 97th byte and the last of each read: enough to catch lost, repeated or reordered data.
            func consume(_ bytes: ArraySlice<UInt8>) {
                for index in stride(from: 0, to: bytes.count, by: 97) where bytes[bytes.startIndex + index] != UInt8(truncatingIfNeeded: offset + index) {
                    intact = false
                }
                if let last = bytes.indices.last, bytes[last] != UInt8(truncatingIfNeeded: offset + bytes.count - 1) { intact = false }
                offset += bytes.count
            }
            consume(received[head.bodyStart...])
            while true {
                if resumedAt == nil && offset >= pauseAfter {
                    Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
                    resumedAt = Date().timeIntervalSince1970
                }
                let count = try socket.read(into: &buffer)
                guard count > 0 else { break }
                consume(buffer[0..<count])
            }
            return Download(status: head.status, contentLength: head.contentLength, bytes: offset, patternIntact: intact, resumedAt: resumedAt)
        }
    }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    private struct ResponseHead {
        let status: Int
        let contentLength: Int?
        let bodyStart: Int

        init(_ bytes: [UInt8]) throws {
            let separator = Array("\r\n\r\n".utf8)
            guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { throw RawStreamError.closedEarly }
            let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let statusParts = lines[0].split(separator: " ")
            guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw RawStreamError.closedEarly }
            self.status = status
            contentLength = lines.dropFirst().first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
            bodyStart = end + separator.count
        }
    }
}

public enum RawStreamError: Error {
    case connectFailed(Int32)
    case ioFailed(Int32)
    case closedEarly
}

/// A blocking loopback TCP connection with 64 KiB kernel buffers and a 30 s I/O timeout.
private final class BlockingSocket {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var size: Int32 = 64 << 10
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        // No close here: a class whose initializer throws once every property is set is still
        // deinitialised, and a second close could hit a descriptor someone else just opened.
        guard connected else { throw RawStreamError.connectFailed(errno) }
    }

    deinit { if fd >= 0 { close(fd) } }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw RawStreamError.ioFailed(errno)
            }
            sent += count
        }
    }

    func read(into buffer: inout [UInt8]) throws -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw RawStreamError.ioFailed(errno)
        }
    }
}

import AsyncHTTPClient
import Foundation
@testable import Gateway
import NIOCore
import ServiceKit
import Synchronization
import Testing
import TestSupport

/// The Python upstream behind a `ProxyHarness`: `/up` forwards to it, `/slow` too with a 0.5 s
/// limit, `/down` goes to a port nothing listens on.
struct ProxyFixture {
    let upstream: PythonUpstream
    let harness: ProxyHarness

    static func start() async throws -> ProxyFixture {
        let upstream = try await PythonUpstream.start()
        let live = UpstreamTarget(name: "svc", scheme: "http", host: "127.0.0.1", port: upstream.port, basePath: "", timeout: .seconds(20))
        let slow = UpstreamTarget(name: "slowsvc", scheme: "http", host: "127.0.0.1", port: upstream.port, basePath: "", timeout: .milliseconds(500))
        let down = UpstreamTarget(name: "down", scheme: "http", host: "127.0.0.1", port: FreePort.next(), basePath: "", timeout: .seconds(5))
        let harness = try await ProxyHarness.start(routes: ["/up": live, "/slow": slow, "/down": down])
        return ProxyFixture(upstream: upstream, harness: harness)
    }

    func stop() async throws {
        await upstream.stop()
        try await harness.stop()
    }

    func get(_ path: String, method: HTTPMethodName = .GET, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> TestResponse {
        try await TestHTTP.request(method, harness.baseURL + path, headers: headers, body: body)
    }

    /// The upstream's own counters, read directly (not through the proxy's pool).
    func stats() async throws -> JSONValue {
        try #require(try await TestHTTP.request(.GET, upstream.baseURL + "/stats").json)
    }
}

/// What `/echo` reports about the request it received.
struct EchoedRequest {
    let json: JSONValue

    init(_ response: TestResponse) throws {
        json = try #require(response.json)
    }

    func headers(_ name: String) -> [String] {
        (json["headers"]?.arrayValue ?? []).compactMap { pair in
            guard let pair = pair.arrayValue, pair.count == 2, pair[0].stringValue?.lowercased() == name.lowercased() else { return nil }
            return pair[1].stringValue
        }
    }

    func header(_ name: String) -> String? { headers(name).first }
}

@Suite("Upstream proxy", .serialized)
struct ProxyTests {
    // MARK: Forwarding

    @Test func forwardsMethodPathQueryBodyAndRewritesHeaders() async throws {
        let fixture = try await ProxyFixture.start()
        let body = Array("hello upstream".utf8)
        let response = try await fixture.get(
            "/up/echo/a%2Fb/c%20d?x=%2F%20&y=a+b&x=2", method: .POST,
            headers: [
                ("X-Custom", "kept"), ("Connection", "X-Secret"), ("X-Secret", "s"), ("Proxy-Authorization", "Basic eDp5"),
                ("TE", "trailers"), ("X-Forwarded-For", "10.0.0.1"), ("X-Request-ID", "req-123"), ("X-Test-User", "u1:patient"),
                ("X-User-Id", "someone-else"), ("Cookie", "a=1; b=2"), ("Content-Type", "text/plain"),
            ],
            body: body)
        #expect(response.status == 200)
        let echoed = try EchoedRequest(response)
        #expect(echoed.json["method"]?.stringValue == "POST")
        #expect(echoed.json["path"]?.stringValue == "/echo/a%2Fb/c%20d")
        #expect(echoed.json["query"]?.stringValue == "x=%2F%20&y=a+b&x=2")
        #expect(echoed.json["body_length"]?.intValue == body.count)
        #expect(echoed.json["body_sha256"]?.stringValue == "bcefffd65feccc642b2d4f2ca49c393cf537a497f1e85a7b1bb028851444cd03")
        #expect(echoed.header("Host") == "127.0.0.1:\(fixture.upstream.port)")
        #expect(echoed.header("X-Custom") == "kept")
        #expect(echoed.header("Content-Type") == "text/plain")
        #expect(echoed.header("Content-Length") == String(body.count))
        #expect(echoed.header("Cookie") == "a=1; b=2")
        for hopByHop in ["X-Secret", "Proxy-Authorization", "TE", "Transfer-Encoding", "Upgrade", "Keep-Alive"] {
            #expect(echoed.header(hopByHop) == nil, "\(hopByHop) reached the upstream")
        }
        #expect(!(echoed.header("Connection") ?? "").lowercased().contains("x-secret"))
        #expect(echoed.headers("X-Forwarded-For") == ["10.0.0.1, 127.0.0.1"])
        #expect(echoed.header("X-Forwarded-Proto") == "http")
        #expect(echoed.header("X-Forwarded-Host") == "127.0.0.1:\(fixture.harness.port)")
        #expect(echoed.header("X-Request-ID") == "req-123")
        #expect(echoed.header("X-Original-Path") == "/up/echo/a%2Fb/c%20d")
        #expect(echoed.header("X-Forwarded-By") == "mysehat-gateway")
        #expect(echoed.headers("X-User-Id") == ["u1"])
        #expect(echoed.headers("X-User-Role") == ["patient"])
        try await fixture.stop()
    }

    @Test func identityHeadersAreRemovedWithoutAVerifiedUser() async throws {
        let fixture = try await ProxyFixture.start()
        let response = try await fixture.get("/up/echo", headers: [("X-User-Id", "admin-1"), ("X-User-Role", "admin"), ("x-user-ID", "x")])
        let echoed = try EchoedRequest(response)
        #expect(echoed.headers("X-User-Id").isEmpty)
        #expect(echoed.headers("X-User-Role").isEmpty)
        #expect(echoed.json["method"]?.stringValue == "GET")
        #expect(echoed.json["query"]?.isNull == true)
        #expect(echoed.header("Content-Length") == nil && echoed.header("Transfer-Encoding") == nil)
        try await fixture.stop()
    }

    @Test func responseHopByHopHeadersAreRemovedAndOthersKept() async throws {
        let fixture = try await ProxyFixture.start()
        let response = try await fixture.get("/up/hop")
        #expect(response.status == 200)
        #expect(response.text == "ok")
        #expect(response.header("X-End-To-End") == "kept")
        for name in ["X-Hop-Secret", "Keep-Alive", "Proxy-Authenticate", "Trailer", "Upgrade"] {
            #expect(response.header(name) == nil, "\(name) reached the client")
        }
        #expect(response.header("Server")?.hasPrefix("fixture-upstream") == true)
        try await fixture.stop()
    }

    @Test func repeatedSetCookieHeadersStaySeparate() async throws {
        let fixture = try await ProxyFixture.start()
        let response = try await fixture.get("/up/cookies")
        #expect(response.headerValues("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"])
        try await fixture.stop()
    }

    @Test func locationPointingAtTheUpstreamIsRewritten() async throws {
        let fixture = try await ProxyFixture.start()
        let publicOrigin = "http://127.0.0.1:\(fixture.harness.port)"
        let own = try await fixture.get("/up/redirect")
        #expect(own.status == 302)
        #expect(own.header("Location") == "\(publicOrigin)/up/target?x=1")
        let loopback = try await fixture.get("/up/redirect?to=http%3A%2F%2Flocalhost%3A9%2Fother%23frag")
        #expect(loopback.header("Location") == "\(publicOrigin)/up/other#frag")
        let pathOnly = try await fixture.get("/up/redirect?to=%2Flogin")
        #expect(pathOnly.header("Location") == "/up/login")
        let foreign = try await fixture.get("/up/redirect?to=https%3A%2F%2Fexample.org%2Fx")
        #expect(foreign.header("Location") == "https://example.org/x")
        try await fixture.stop()
    }

    @Test func headIsForwardedAsHead() async throws {
        let fixture = try await ProxyFixture.start()
        let response = try await fixture.get("/up/head-test", method: .HEAD)
        #expect(response.status == 200)
        #expect(response.header("Content-Length") == "10")
        #expect(response.header("X-Head-Test") == "yes")
        #expect(response.body.isEmpty)
        // The connection is still usable: the next answer is not corrupted by a stray body.
        let next = try await fixture.get("/up/head-test")
        #expect(next.text == "hello head")
        let methods = try await fixture.stats()["methods"]?["/head-test"]?.arrayValue?.compactMap(\.stringValue)
        #expect(methods == ["HEAD", "GET"])
        try await fixture.stop()
    }

    @Test func contentEncodingAndCompressedBytesPassUnchanged() async throws {
        let fixture = try await ProxyFixture.start()
        let proxied = try await fixture.get("/up/gzip", headers: [("Accept-Encoding", "gzip")])
        let direct = try await TestHTTP.request(.GET, fixture.upstream.baseURL + "/gzip")
        #expect(proxied.header("Content-Encoding") == "gzip")
        #expect(proxied.body == direct.body)
        #expect(proxied.body.starts(with: [0x1F, 0x8B]))
        try await fixture.stop()
    }

    // MARK: Failures

    @Test func refusedConnectionIs503() async throws {
        let fixture = try await ProxyFixture.start()
        let started = ContinuousClock.now
        let response = try await fixture.get("/down/anything")
        #expect(response.status == 503)
        #expect(response.detail == "Service 'down' is unavailable")
        // At once, not after the 5 s connect timeout a retried connection would take.
        #expect(ContinuousClock.now - started < .seconds(4))
        try await fixture.stop()
    }

    @Test func noResponseHeadWithinTheLimitIs504() async throws {
        let fixture = try await ProxyFixture.start()
        let started = ContinuousClock.now
        let response = try await fixture.get("/slow/slow?s=3")
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 504)
        #expect(response.detail == "Service 'slowsvc' timed out")
        #expect(elapsed >= .milliseconds(450) && elapsed < .milliseconds(2500))
        try await fixture.stop()
    }

    @Test func malformedResponseIs502() async throws {
        let fixture = try await ProxyFixture.start()
        let response = try await fixture.get("/up/malformed")
        #expect(response.status == 502)
        #expect(response.detail == "Service 'svc' returned an invalid response")
        try await fixture.stop()
    }

    @Test func connectionClosedBeforeTheHeadIs502AfterOneRetry() async throws {
        let fixture = try await ProxyFixture.start()
        let get = try await fixture.get("/up/close-early")
        #expect(get.status == 502)
        #expect(get.detail == "Service 'svc' returned an invalid response")
        // A GET without a body is sent once more; a POST with a body is not.
        let post = try await fixture.get("/up/close-early", method: .POST, body: Array("x".utf8))
        #expect(post.status == 502)
        let methods = try await fixture.stats()["methods"]?["/close-early"]?.arrayValue?.compactMap(\.stringValue)
        #expect(methods == ["GET", "GET", "POST"])
        try await fixture.stop()
    }

    @Test func staleKeepAliveConnectionIsRetriedOnceForIdempotentRequests() async throws {
        let fixture = try await ProxyFixture.start()
        // Leaves one idle pooled connection that the upstream drops on its next request, as a
        // server closing an idle keep-alive connection at the moment it is reused.
        #expect(try await fixture.get("/up/keepalive-then-drop").status == 200)
        let retried = try await fixture.get("/up/echo")
        #expect(retried.status == 200)
        #expect(try await fixture.stats()["dropped"]?.intValue == 1)

        #expect(try await fixture.get("/up/keepalive-then-drop").status == 200)
        let post = try await fixture.get("/up/echo", method: .POST, body: Array("once".utf8))
        #expect(post.status == 502)
        #expect(try await fixture.stats()["dropped"]?.intValue == 2)
        try await fixture.stop()
    }

    /// The upstream answers before reading the body and closes. The proxy must stop reading the
    /// client's body before the server's handler finishes (two readers of one body crash the
    /// process) and keep serving.
    @Test func answerBeforeTheBodyWasReadLeavesTheServerWorking() async throws {
        let fixture = try await ProxyFixture.start()
        for status in [413, 200, 413, 200, 500, 201] {
            // A client that reads while it sends gets the early answer; the upload may end either way.
            _ = try? await PatternUpload.send(to: fixture.harness.baseURL + "/up/early-reply?status=\(status)", megabytes: 20)
            #expect(try await fixture.get("/up/echo").status == 200)
        }
        let early = try await fixture.get("/up/early-reply?status=413", method: .POST, body: Array(repeating: 1, count: 1000))
        #expect(early.status == 413)
        #expect(early.text == "early")
        try await fixture.stop()
    }

    // MARK: Streaming

    /// The upstream stops reading for 2 s after 1 MB. A proxy that streams holds only a few
    /// chunks, so the client (on a blocking socket) cannot get its last byte out before the
    /// upstream reads again; one that buffered the body would take all 100 MB at once.
    @Test func hundredMegabyteUploadIsStreamed() async throws {
        let fixture = try await ProxyFixture.start()
        let size = 100 << 20
        let expected = try #require(try await TestHTTP.request(.GET, fixture.upstream.baseURL + "/pattern-sha?mb=100").json)
        let baseline = ProcessMemory.residentBytes
        let started = ContinuousClock.now
        let (upload, peak) = try await MemorySampler.peak {
            try await RawStream.upload(port: fixture.harness.port, path: "/up/stream-upload?pause_after=1048576&pause=2", bytes: size)
        }
        let elapsed = ContinuousClock.now - started
        #expect(upload.status == 200)
        let json = try #require(try? JSON.decode(upload.body))
        #expect(json["bytes"]?.intValue == size)
        #expect(json["sha256"] == expected["sha256"])
        let resumedAt = try #require(json["resumed_at"]?.doubleValue)
        #expect(upload.finishedSendingAt > resumedAt, "the client sent everything while the upstream was not reading")
        MemorySampler.expectBounded(growth: peak - baseline, "100 MB upload through the proxy (2 s upstream pause included)", elapsed)
        try await fixture.stop()
    }

    /// The client stops reading for 2 s after 1 MB; the upstream cannot finish sending before it reads again.
    @Test func hundredMegabyteDownloadIsStreamed() async throws {
        let fixture = try await ProxyFixture.start()
        let size = 100 << 20
        let baseline = ProcessMemory.residentBytes
        let started = ContinuousClock.now
        let (download, peak) = try await MemorySampler.peak {
            try await RawStream.download(port: fixture.harness.port, path: "/up/big?mb=100", pauseAfter: 1 << 20, pause: .seconds(2))
        }
        let elapsed = ContinuousClock.now - started
        #expect(download.status == 200)
        #expect(download.contentLength == size)
        #expect(download.bytes == size)
        #expect(download.patternIntact)
        let upstreamFinished = try #require(try await fixture.stats()["big_finished_at"]?.doubleValue)
        let resumedAt = try #require(download.resumedAt)
        #expect(upstreamFinished > resumedAt, "the upstream sent everything while the client was not reading")
        MemorySampler.expectBounded(growth: peak - baseline, "100 MB download through the proxy (2 s client pause included)", elapsed)
        try await fixture.stop()
    }

    @Test func chunkedUploadArrivesWhole() async throws {
        let fixture = try await ProxyFixture.start()
        let expected = try #require(try await TestHTTP.request(.GET, fixture.upstream.baseURL + "/pattern-sha?mb=8").json)
        let result = try await PatternUpload.send(to: fixture.harness.baseURL + "/up/stream-upload", megabytes: 8)
        #expect(result.status == 200)
        #expect(result.json?["bytes"]?.intValue == 8 << 20)
        #expect(result.json?["sha256"] == expected["sha256"])
        try await fixture.stop()
    }

    @Test func chunkedUpstreamResponseIsRechunked() async throws {
        let fixture = try await ProxyFixture.start()
        let result = try await PatternDownload.fetch(fixture.harness.baseURL + "/up/big?mb=3&chunked=1")
        #expect(result.status == 200)
        #expect(result.contentLength == nil)
        #expect(result.bytes == 3 << 20)
        #expect(result.patternIntact)
        try await fixture.stop()
    }

    // MARK: Pieces

    @Test func locationRewriterCases() {
        let target = UpstreamTarget(name: "s", scheme: "http", host: "127.0.0.1", port: 9000, basePath: "/api", timeout: .seconds(1))
        let rewriter = LocationRewriter(target: target, publicScheme: "https", publicHost: "example.org", publicPrefix: "/svc")
        #expect(rewriter.rewrite("http://127.0.0.1:9000/api/x?y=1") == "https://example.org/svc/x?y=1")
        #expect(rewriter.rewrite("http://127.0.0.1:9000/apix") == "https://example.org/svc/apix")
        #expect(rewriter.rewrite("http://127.0.0.1:9000") == "https://example.org/svc")
        #expect(rewriter.rewrite("http://[::1]:8080/api") == "https://example.org/svc")
        #expect(rewriter.rewrite("http://user@LOCALHOST/a") == "https://example.org/svc/a")
        #expect(rewriter.rewrite("http://127.0.0.2:1/a") == "https://example.org/svc/a")
        #expect(rewriter.rewrite("http://127.0.0.1.example.com/a") == "http://127.0.0.1.example.com/a")
        #expect(rewriter.rewrite("http://10.0.0.1:9000/a") == "http://10.0.0.1:9000/a")
        #expect(rewriter.rewrite("//evil.example/a") == "//evil.example/a")
        #expect(rewriter.rewrite("relative/path") == "relative/path")
        #expect(rewriter.rewrite("/api/y") == "/svc/y")
        let atRoot = LocationRewriter(target: target, publicScheme: "http", publicHost: nil, publicPrefix: "/")
        #expect(atRoot.rewrite("http://127.0.0.1:9000/api/z") == "/z")
        #expect(atRoot.rewrite("http://localhost:9000") == "/")
    }

    @Test func upstreamURLKeepsRawFormsAndEscapesOnlyWhatURIsForbid() {
        let target = UpstreamTarget(name: "s", scheme: "http", host: "127.0.0.1", port: 9000, basePath: "/base/", timeout: .seconds(1))
        #expect(UpstreamRequestURL.make(target: target, path: "/a%2Fb", query: "q=%20&r=a+b") == "http://127.0.0.1:9000/base/a%2Fb?q=%20&r=a+b")
        #expect(UpstreamRequestURL.make(target: target, path: "", query: nil) == "http://127.0.0.1:9000/base/")
        #expect(UpstreamRequestURL.make(target: target, path: "/a b|{}", query: "x=\"%zz?") == "http://127.0.0.1:9000/base/a%20b%7C%7B%7D?x=%22%25zz?")
        #expect(UpstreamRequestURL.make(target: target, path: "/é", query: nil) == "http://127.0.0.1:9000/base/%C3%A9")
    }

    @Test func failureClassification() {
        #expect(UpstreamFailure(classifying: HTTPClientError.deadlineExceeded) == .timedOut)
        #expect(UpstreamFailure(classifying: HTTPClientError.connectTimeout) == .unavailable)
        #expect(UpstreamFailure(classifying: HTTPClientError.remoteConnectionClosed) == .connectionLost)
        #expect(UpstreamFailure(classifying: IOError(errnoCode: ECONNREFUSED, reason: "connect")) == .unavailable)
        #expect(UpstreamFailure(classifying: IOError(errnoCode: ECONNRESET, reason: "read")) == .connectionLost)
        #expect(UpstreamFailure(classifying: HTTPClientError.bodyLengthMismatch) == .invalidResponse)
        #expect(UpstreamFailure.timedOut.serviceError(service: "x").status == .gatewayTimeout)
    }
}

/// Uploads `megabytes` of the fixture's byte pattern (byte i is i % 256) with AsyncHTTPClient and
/// chunked encoding.
enum PatternUpload {
    struct Result {
        let status: Int
        let json: JSONValue?
    }

    static let block = ByteBuffer(bytes: (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0) })

    static func send(to url: String, megabytes: Int) async throws -> Result {
        let chunks = AsyncStream<ByteBuffer> { continuation in
            for _ in 0..<(megabytes * 16) { continuation.yield(block) }
            continuation.finish()
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.body = .stream(chunks, length: .unknown)
        let response = try await TestHTTP.client.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Result(status: Int(response.status.code), json: try? JSON.decode(Array(body.readableBytesView)))
    }
}

/// Downloads a body of the fixture's byte pattern chunk by chunk, checking it without keeping it.
enum PatternDownload {
    struct Result {
        let status: Int
        let contentLength: String?
        let bytes: Int
        let patternIntact: Bool
        let elapsed: Duration
    }

    static func fetch(_ url: String) async throws -> Result {
        let started = ContinuousClock.now
        let response = try await TestHTTP.client.execute(HTTPClientRequest(url: url), timeout: .seconds(60))
        var offset = 0
        var intact = true
        for try await chunk in response.body {
            chunk.withUnsafeReadableBytes { bytes in
                // Every 97th byte and the last: enough to catch lost, repeated or reordered chunks.
                for index in stride(from: 0, to: bytes.count, by: 97) where bytes[index] != UInt8(truncatingIfNeeded: offset + index) {
                    intact = false
                }
                if let last = bytes.indices.last, bytes[last] != UInt8(truncatingIfNeeded: offset + last) { intact = false }
            }
            offset += chunk.readableBytes
        }
        return Result(
            status: Int(response.status.code), contentLength: response.headers.first(name: "Content-Length"), bytes: offset,
            patternIntact: intact, elapsed: ContinuousClock.now - started)
    }
}

/// The highest resident set size seen while `body` runs, sampled every 5 ms.
enum MemorySampler {
    static func peak<T>(_ body: () async throws -> T) async throws -> (T, Int) {
        let sampler = Task {
            var peak = 0
            while !Task.isCancelled {
                peak = max(peak, ProcessMemory.residentBytes)
                try? await Task.sleep(for: .milliseconds(5))
            }
            return peak
        }
        let result = try await body()
        sampler.cancel()
        return (result, max(await sampler.value, ProcessMemory.residentBytes))
    }

    /// A 100 MB body held whole would add about 100 MB.
    static func expectBounded(growth: Int, _ what: String, _ elapsed: Duration, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(growth < 60 << 20, "RSS grew by \(growth >> 20) MB: \(what)", sourceLocation: sourceLocation)
        print("\(what): \(elapsed), RSS growth \(growth >> 20) MB")
    }
}

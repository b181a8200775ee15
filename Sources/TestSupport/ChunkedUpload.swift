import AsyncHTTPClient
import NIOCore

/// Sends a body with chunked transfer encoding (no Content-Length), as a streaming client would.
public enum ChunkedUpload {
    public static func send(url: String, chunks: Int, chunkSize: Int, method: HTTPMethodName = .POST) async throws -> TestResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method.rawValue)
        let stream = AsyncStream<ByteBuffer> { continuation in
            for _ in 0..<chunks { continuation.yield(ByteBuffer(repeating: UInt8(ascii: "x"), count: chunkSize)) }
            continuation.finish()
        }
        request.body = .stream(stream, length: .unknown)
        let response = try await TestHTTP.client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return TestResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(body.readableBytesView))
    }
}

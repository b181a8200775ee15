import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import ServiceKit
import Store
import Synchronization

@testable import DiagnosticsService

/// Runs `DiagnosticsService` on a real SQLite file in a temporary directory and calls its route
/// handlers the way the gateway does (prefix stripped, identity in `user`).
final class ServiceHarness: Sendable {
    let directory: String
    let store: SQLiteStore
    let service: DiagnosticsService
    /// Milliseconds since the epoch as the service sees them; tests move it to age sessions.
    let clock = TestClock()

    let audit = RecordedAudit()

    init(describer: (any ImageDescriber)? = nil) async throws {
        directory = NSTemporaryDirectory() + "diagnostics-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory + "/mysehat.sqlite")
        let clock = self.clock
        service = DiagnosticsService(store: store, imageDescriber: describer, audit: audit, now: { clock.now })
        try await service.start()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func advance(milliseconds: Int64) {
        clock.advance(milliseconds)
    }

    struct Reply {
        var status: HTTPResponse.Status
        var json: JSONValue
        var headers: HTTPFields

        subscript(key: String) -> JSONValue? { json[key] }
        var detail: JSONValue? { json["detail"] }
    }

    /// Calls the handler for `method path` with a JSON body (or raw bytes), as `user`.
    func call(
        _ method: HTTPRequest.Method, _ path: String, json: JSONValue? = nil, body: [UInt8]? = nil,
        contentType: String? = nil, headers extraHeaders: HTTPFields = [:], user: VerifiedUser? = nil,
        maxBodySize: Int = 1 << 20
    ) async throws -> Reply {
        var headers = extraHeaders
        let bytes = body ?? json.map { JSON.encode($0) } ?? []
        if let contentType { headers[.contentType] = contentType } else if json != nil { headers[.contentType] = "application/json" }
        let pathOnly = String(path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
        let query = path.contains("?") ? String(path.split(separator: "?", maxSplits: 1)[1]) : nil
        guard case .found(let route, let params) = service.routes.match(method: method, path: pathOnly) else {
            return Reply(status: .notFound, json: ["detail": "Not Found"], headers: [:])
        }
        let request = ServiceRequest(
            method: method, path: pathOnly, publicPath: "/diagnostics" + pathOnly, query: query, headers: headers,
            body: RequestBody(buffer: ByteBuffer(bytes: bytes)), params: params, user: user, requestID: "test",
            clientIP: "127.0.0.1", maxBodySize: maxBodySize, logger: Logger(label: "diagnostics-tests"))
        do {
            let response = try await route.handler(request)
            let collector = BodyCollector()
            try await response.body.write(collector)
            let json: JSONValue = collector.bytes.isEmpty ? .null : try JSON.decode(collector.bytes)
            return Reply(status: response.status, json: json, headers: response.headers)
        } catch let error as ServiceError {
            return Reply(status: error.status, json: .object(error.body), headers: error.headers)
        }
    }
}

/// A settable clock in milliseconds since the epoch.
final class TestClock: Sendable {
    private let value = Mutex(Instant.nowMilliseconds())

    var now: Int64 { value.withLock { $0 } }

    func advance(_ milliseconds: Int64) { value.withLock { $0 += milliseconds } }
}

/// Keeps the audit events a test caused.
final class RecordedAudit: AuditSink {
    private let recorded = Mutex<[AuditEvent]>([])

    var events: [AuditEvent] { recorded.withLock { $0 } }

    func record(_ event: AuditEvent) async throws {
        recorded.withLock { $0.append(event) }
    }
}

/// Collects a response body.
final class BodyCollector: ResponseBodyWriter {
    var bytes: [UInt8] = []

    func write(_ buffer: ByteBuffer) async throws {
        bytes.append(contentsOf: buffer.readableBytesView)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// An `ImageDescriber` that answers from a script and counts its calls. The Groq-backed describer
/// is exercised against a fake Groq HTTP server once the Groq client lands.
final class ScriptedDescriber: ImageDescriber {
    enum Answer: Sendable { case observation(VisionObservation), failure(ImageDescriptionError) }

    let isConfigured: Bool
    private let answer: Answer
    private let calls = Mutex<[PreparedImage]>([])

    init(configured: Bool = true, answer: Answer) {
        self.isConfigured = configured
        self.answer = answer
    }

    var received: [PreparedImage] { calls.withLock { $0 } }

    func describe(_ image: PreparedImage) async throws(ImageDescriptionError) -> VisionObservation {
        calls.withLock { $0.append(image) }
        switch answer {
        case .observation(let observation): return observation
        case .failure(let error): throw error
        }
    }
}

/// Builds `multipart/form-data` bodies.
struct MultipartBuilder {
    let boundary = "----MySehatTestBoundary7MA4YWxkTrZu0gW"
    private(set) var bytes: [UInt8] = []

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func field(_ name: String, _ value: String) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    mutating func file(_ name: String, filename: String, contentType: String?, _ data: [UInt8]) {
        var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        bytes += Array((head + "\r\n").utf8) + data + Array("\r\n".utf8)
    }

    func finished() -> [UInt8] { bytes + Array("--\(boundary)--\r\n".utf8) }
}

/// Small, structurally valid images built in code.
enum TestImages {
    /// A PNG of `width` x `height` grey pixels (stored, uncompressed deflate blocks).
    static func png(width: Int = 2, height: Int = 2, extraChunkBytes: Int = 0) -> [UInt8] {
        var raw: [UInt8] = []
        for _ in 0..<height { raw += [0] + [UInt8](repeating: 0x80, count: width) }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let count = min(65535, raw.count - offset)
            let final: UInt8 = offset + count == raw.count ? 1 : 0
            zlib += [final, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
            zlib += raw[offset..<(offset + count)]
            offset += count
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        zlib += bigEndian(b << 16 | a)

        var png = ImageInspector.pngSignature
        png += chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 0, 0, 0, 0])
        if extraChunkBytes > 0 { png += chunk("tEXt", [UInt8](repeating: 0x41, count: extraChunkBytes)) }
        png += chunk("IDAT", zlib)
        png += chunk("IEND", [])
        return png
    }

    /// A JPEG's marker structure: SOI, DQT, SOF0 (w x h, 3 components), SOS, scan bytes, EOI.
    static func jpeg(width: Int = 640, height: Int = 480) -> [UInt8] {
        var bytes: [UInt8] = [0xFF, 0xD8]
        bytes += [0xFF, 0xDB, 0x00, 0x43, 0x00] + [UInt8](repeating: 1, count: 64)
        bytes += [0xFF, 0xC0, 0x00, 0x11, 0x08, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 0x03,
                  0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]
        bytes += [0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00]
        bytes += [0x12, 0x34, 0xFF, 0x00, 0x56]
        bytes += [0xFF, 0xD9]
        return bytes
    }

    /// A lossless WebP header (VP8L) for `width` x `height`.
    static func webp(width: Int = 300, height: Int = 200) -> [UInt8] {
        let bits = UInt32(width - 1) | UInt32(height - 1) << 14
        let payload: [UInt8] = [0x2F] + littleEndian(bits) + [0x00, 0x00, 0x00]
        var body = Array("WEBP".utf8) + Array("VP8L".utf8) + littleEndian(UInt32(payload.count)) + payload
        if payload.count % 2 == 1 { body.append(0) }
        return Array("RIFF".utf8) + littleEndian(UInt32(body.count)) + body
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(CRC32.checksum(typeBytes + data))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func littleEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }
}

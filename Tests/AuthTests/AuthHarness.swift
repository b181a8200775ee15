import AuthService
import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import ServiceKit
import Store
import Testing

/// An auth service over a real SQLite file in a temp folder; requests go straight to its route
/// handlers, with `req.user` set the way the gateway would after verifying a token.
struct AuthHarness {
    let directory: String
    let store: SQLiteStore
    let service: AuthService
    let sms: RecordingSMS

    static let secret = String(repeating: "s", count: 32)

    static func make(
        environment: [String: String] = [:], sms: RecordingSMS = RecordingSMS(), defaultSender: Bool = false, start: Bool = true
    ) async throws -> AuthHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("auth-\(UUID().uuidString)").path
        let store = try SQLiteStore(path: directory + "/mysehat.sqlite")
        var env = ["SEED_DEMO_USERS": "false", "JWT_SECRET_KEY": secret]
        for (key, value) in environment { env[key] = value }
        let configuration = try AuthConfiguration.fromEnvironment(env)
        var logger = Logger(label: "auth-test")
        logger.logLevel = .critical
        let service = AuthService(store: store, configuration: configuration, smsSender: defaultSender ? nil : sms, logger: logger)
        if start { try await service.start() }
        return AuthHarness(directory: directory, store: store, service: service, sms: sms)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Calls the handler of `method path`. A `ServiceError` becomes the reply the gateway would send.
    func call(
        _ method: HTTPRequest.Method, _ path: String, json: JSONValue? = nil, body: [UInt8]? = nil, token: String? = nil,
        user: VerifiedUser? = nil, headers: HTTPFields = [:]
    ) async throws -> Reply {
        let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
        guard case .found(let route, let params) = service.routes.match(method: method, path: parts[0]) else {
            Issue.record("no route for \(method) \(path)")
            return Reply(status: 404, json: .null, headers: [:])
        }
        var fields = headers
        var caller = user
        if let token {
            fields[.authorization] = "Bearer \(token)"
            if caller == nil { caller = await service.identityVerifier.verify(token: token) }
        }
        if json != nil { fields[.contentType] = "application/json" }
        let bytes = body ?? json.map { JSON.encode($0) } ?? []
        let request = ServiceRequest(
            method: method, path: parts[0], publicPath: "/auth" + parts[0], query: parts.count > 1 ? parts[1] : nil, headers: fields,
            body: RequestBody(buffer: ByteBuffer(bytes: bytes)), params: params, user: caller, requestID: "test-request",
            clientIP: "10.0.0.7", logger: Logger(label: "auth-test"))
        do {
            let response = try await route.handler(request)
            let collector = BodyCollector()
            try await response.body.write(collector)
            return Reply(status: Int(response.status.code), json: (try? JSON.decode(collector.bytes)) ?? .null, headers: response.headers)
        } catch let error as ServiceError {
            return Reply(status: Int(error.status.code), json: .object(error.body), headers: error.headers)
        }
    }

    /// Signs up with the development code and the three mandatory consents; returns the token.
    func signup(_ phone: String, name: String = "Test User", extra: JSONObject = [:]) async throws -> String {
        var body: JSONObject = ["name": .string(name), "phone_number": .string(phone), "consents": Self.mandatoryConsents]
        for (key, value) in extra { body[key] = value }
        let reply = try await call(.post, "/signup", json: .object(body))
        #expect(reply.status == 201, "\(reply.json)")
        return try #require(reply.json["access_token"]?.stringValue)
    }

    func login(_ phone: String, otp: String = "123456") async throws -> Reply {
        try await call(.post, "/login", json: ["phone_number": .string(phone), "otp": .string(otp)])
    }

    static let mandatoryConsents: JSONValue = [
        ["data_category": "emergency", "purpose": "emergency_sharing", "granted": true],
        ["data_category": "health_records", "purpose": "health_record_storage", "granted": true],
        ["data_category": "ai_symptoms", "purpose": "ai_symptom_checker", "granted": true],
    ]

    func verify(_ token: String) async -> VerifiedUser? {
        await service.identityVerifier.verify(token: token)
    }
}

struct Reply {
    let status: Int
    let json: JSONValue
    let headers: HTTPFields

    var detail: String? { json["detail"]?.stringValue }

    /// (type, loc) of each item of a 422 answer.
    var issues: [String] {
        (json["detail"]?.arrayValue ?? []).map { item in
            let loc = (item["loc"]?.arrayValue ?? []).map { value -> String in
                if case .int(let index) = value { return String(index) }
                return value.stringValue ?? "?"
            }
            return "\(item["type"]?.stringValue ?? "?") \(loc.joined(separator: "."))"
        }
    }
}

final class BodyCollector: ResponseBodyWriter {
    var bytes: [UInt8] = []

    func write(_ buffer: ByteBuffer) async throws {
        bytes += buffer.readableBytesView
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Keeps the OTP texts it is asked to send; can be told to fail.
actor RecordingSMS: SMSSender {
    struct Failure: Error {}

    private(set) var messages: [SMSMessage] = []
    var failing = false

    func send(_ message: SMSMessage) async throws {
        if failing { throw Failure() }
        messages.append(message)
    }

    func fail(_ value: Bool) { failing = value }

    /// The code in the latest text for this number.
    func lastCode(for phone: String) -> String? {
        guard let text = messages.last(where: { $0.phoneNumber == phone })?.text else { return nil }
        return text.split(separator: " ").first { $0.count == 7 && $0.hasSuffix(".") && $0.dropLast().allSatisfy(\.isNumber) }.map { String($0.dropLast()) }
    }
}

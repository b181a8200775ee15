import AsyncHTTPClient
import Logging
import NIOCore
import ServiceKit

/// One OTP text to deliver.
public struct SMSMessage: Sendable, Equatable {
    public var phoneNumber: String
    public var text: String
    /// The `X-Request-ID` of the request that asked for the code.
    public var requestID: String

    public init(phoneNumber: String, text: String, requestID: String) {
        self.phoneNumber = phoneNumber
        self.text = text
        self.requestID = requestID
    }

    static func otp(code: String, phoneNumber: String, requestID: String) -> SMSMessage {
        SMSMessage(
            phoneNumber: phoneNumber, text: "Your MySehat code is \(code). It expires in 5 minutes.", requestID: requestID)
    }
}

/// Delivers OTP texts (01-auth §5). A thrown error is a delivery failure: the code is discarded
/// and the client gets 503.
public protocol SMSSender: Sendable {
    func send(_ message: SMSMessage) async throws
}

/// Development without a webhook: the text goes to the server log at info level.
public struct LogSMSSender: SMSSender {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func send(_ message: SMSMessage) async throws {
        logger.info("OTP for \(message.phoneNumber): \(message.text)", metadata: ["request_id": "\(message.requestID)"])
    }
}

/// POSTs `{"phone_number", "message", "request_id"}` as JSON to `SMS_WEBHOOK_URL`; 10 s limit,
/// any non-2xx answer fails.
public struct WebhookSMSSender: SMSSender {
    public struct DeliveryFailed: Error, CustomStringConvertible {
        public let description: String
    }

    let url: String
    let client: HTTPClient
    let timeout: TimeAmount

    public init(url: String, client: HTTPClient = .shared, timeout: TimeAmount = .seconds(10)) {
        self.url = url
        self.client = client
        self.timeout = timeout
    }

    public func send(_ message: SMSMessage) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body: JSONObject = [
            "phone_number": .string(message.phoneNumber), "message": .string(message.text), "request_id": .string(message.requestID),
        ]
        request.body = .bytes(ByteBuffer(bytes: JSON.encode(.object(body))))
        let response = try await client.execute(request, timeout: timeout)
        // Read (and drop) the answer so the connection can be reused.
        _ = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw DeliveryFailed(description: "SMS webhook answered \(response.status.code)")
        }
    }
}

import Foundation
import ServiceKit

/// One chat-completions call.
public struct ChatRequest: Sendable {
    /// nil: the configuration's `model`.
    public var model: String?
    public var messages: [ChatMessage]
    public var temperature: Double?
    public var maxTokens: Int?
    /// Asks for a JSON object answer (`response_format: {"type": "json_object"}`).
    /// The prompt must still mention JSON, as the API requires.
    public var jsonMode: Bool
    /// nil: the configuration's `timeout`.
    public var timeout: Duration?

    public init(
        model: String? = nil, messages: [ChatMessage], temperature: Double? = nil, maxTokens: Int? = nil,
        jsonMode: Bool = false, timeout: Duration? = nil
    ) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.jsonMode = jsonMode
        self.timeout = timeout
    }

    /// The request body as the API expects it. Optional fields are left out when unset.
    func body(model: String) -> JSONValue {
        var object: JSONObject = [
            "model": .string(model),
            "messages": .array(messages.map(\.json)),
        ]
        if let temperature { object["temperature"] = .double(temperature) }
        if let maxTokens { object["max_tokens"] = .int(Int64(maxTokens)) }
        if jsonMode { object["response_format"] = ["type": "json_object"] }
        return .object(object)
    }
}

public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable {
        case system, user, assistant
    }

    /// Plain text, or parts mixing text and images (vision models only).
    public enum Content: Sendable, Equatable {
        case text(String)
        case parts([ContentPart])
    }

    public enum ContentPart: Sendable, Equatable {
        case text(String)
        /// An image by URL; for uploads, a `data:` URL (see `image(_:mimeType:)`).
        case imageURL(String)

        /// An image sent inline as a base64 `data:` URL.
        public static func image(_ bytes: some Sequence<UInt8>, mimeType: String) -> ContentPart {
            .imageURL("data:\(mimeType);base64,\(Data(bytes).base64EncodedString())")
        }
    }

    public var role: Role
    public var content: Content

    public init(role: Role, content: Content) {
        self.role = role
        self.content = content
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: .text(text)) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: .text(text)) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, content: .text(text)) }
    public static func user(_ parts: [ContentPart]) -> ChatMessage { ChatMessage(role: .user, content: .parts(parts)) }

    var json: JSONValue {
        let content: JSONValue =
            switch self.content {
            case .text(let text): .string(text)
            case .parts(let parts): .array(parts.map(\.json))
            }
        return ["role": .string(role.rawValue), "content": content]
    }
}

extension ChatMessage.ContentPart {
    var json: JSONValue {
        switch self {
        case .text(let text): ["type": "text", "text": .string(text)]
        case .imageURL(let url): ["type": "image_url", "image_url": ["url": .string(url)]]
        }
    }
}

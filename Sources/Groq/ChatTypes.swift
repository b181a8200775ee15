import ServiceKit

/// One chat message: a role and either plain text or parts (text and images, for vision models).
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable {
        case system, user, assistant
    }

    public enum Content: Sendable, Equatable {
        case text(String)
        case parts([ContentPart])
    }

    public enum ContentPart: Sendable, Equatable {
        case text(String)
        /// An `http(s):` URL or a `data:` URL such as `data:image/jpeg;base64,...`.
        case imageURL(String)

        /// A JPEG image sent inline as a data URL.
        public static func jpeg(base64: String) -> ContentPart {
            .imageURL("data:image/jpeg;base64," + base64)
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
}

/// One chat-completions call.
public struct ChatRequest: Sendable {
    /// Nil means the configuration's `model`.
    public var model: String?
    public var messages: [ChatMessage]
    public var temperature: Double?
    public var maxTokens: Int?
    /// Asks for a JSON object answer (`response_format: {"type": "json_object"}`).
    public var jsonMode: Bool
    /// Overrides the configuration's overall timeout for this call.
    public var timeout: Duration?

    public init(
        model: String? = nil,
        messages: [ChatMessage],
        temperature: Double? = nil,
        maxTokens: Int? = nil,
        jsonMode: Bool = false,
        timeout: Duration? = nil
    ) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.jsonMode = jsonMode
        self.timeout = timeout
    }

    /// The request body in the OpenAI chat-completions shape.
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

extension ChatMessage {
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

/// Tokens the call used, as the API reports them.
public struct ChatUsage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int

    public init(promptTokens: Int, completionTokens: Int, totalTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }
}

/// The model's answer.
public struct ChatResult: Sendable, Equatable {
    /// The first choice's message text.
    public var content: String
    public var usage: ChatUsage
    /// The model that answered, as the API names it.
    public var model: String
    /// `stop`, `length`, ...; nil when the API does not say.
    public var finishReason: String?

    public init(content: String, usage: ChatUsage, model: String, finishReason: String? = nil) {
        self.content = content
        self.usage = usage
        self.model = model
        self.finishReason = finishReason
    }

    /// Reads a chat-completions response body.
    init(body: [UInt8], requestedModel: String) throws(GroqError) {
        let document: JSONValue
        do {
            document = try JSON.decode(body)
        } catch {
            throw .malformedResponse("body is not JSON (\(error.message) at byte \(error.offset))")
        }
        guard case .object = document else { throw .malformedResponse("body is not a JSON object") }
        guard let choices = document["choices"]?.arrayValue else { throw .malformedResponse("no choices") }
        guard let first = choices.first else { throw .malformedResponse("choices is empty") }
        guard let content = first["message"]?["content"]?.stringValue else {
            throw .malformedResponse("first choice has no message content")
        }
        let usage = document["usage"]
        let prompt = usage?["prompt_tokens"]?.intValue ?? 0
        let completion = usage?["completion_tokens"]?.intValue ?? 0
        self.init(
            content: content,
            usage: ChatUsage(
                promptTokens: prompt, completionTokens: completion,
                totalTokens: usage?["total_tokens"]?.intValue ?? prompt + completion),
            model: document["model"]?.stringValue ?? requestedModel,
            finishReason: first["finish_reason"]?.stringValue)
    }
}

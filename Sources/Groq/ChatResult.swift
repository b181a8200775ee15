import ServiceKit

/// The first choice of a chat completion.
public struct ChatResult: Sendable, Equatable {
    public var content: String
    public var usage: TokenUsage
    /// The model that answered, as the API reports it.
    public var model: String

    public init(content: String, usage: TokenUsage, model: String) {
        self.content = content
        self.usage = usage
        self.model = model
    }

    /// Reads `choices[0].message.content`, `usage` and `model` from a 200 body.
    static func parse(_ body: [UInt8], requestedModel: String) throws(GroqError) -> ChatResult {
        let document: JSONValue
        do {
            document = try JSON.decode(body)
        } catch {
            throw .malformedResponse("body is not JSON (\(error.message) at byte \(error.offset))")
        }
        guard case .object = document else { throw .malformedResponse("body is not a JSON object") }
        guard let choices = document["choices"]?.arrayValue else { throw .malformedResponse("no \"choices\" array") }
        guard let first = choices.first else { throw .malformedResponse("\"choices\" is empty") }
        guard let content = first["message"]?["content"]?.stringValue else {
            throw .malformedResponse("choices[0].message.content is missing or not a string")
        }
        return ChatResult(
            content: content,
            usage: TokenUsage(document["usage"]),
            model: document["model"]?.stringValue ?? requestedModel)
    }
}

public struct TokenUsage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int

    public init(promptTokens: Int, completionTokens: Int, totalTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }

    /// Missing counts read as 0: usage is bookkeeping, not a reason to drop an answer.
    init(_ usage: JSONValue?) {
        let prompt = usage?["prompt_tokens"]?.intValue ?? 0
        let completion = usage?["completion_tokens"]?.intValue ?? 0
        self.init(promptTokens: prompt, completionTokens: completion, totalTokens: usage?["total_tokens"]?.intValue ?? prompt + completion)
    }
}

import Groq
import ServiceKit

/// Describes photos with the configured Groq vision model (03-diagnostics §8).
public struct GroqImageDescriber: ImageDescriber {
    let client: GroqClient
    /// The vision call's own limit, inside the route's 60 s.
    static let timeout: Duration = .seconds(45)

    public init(client: GroqClient) {
        self.client = client
    }

    public var isConfigured: Bool { client.isConfigured }

    public func describe(_ image: PreparedImage) async throws(ImageDescriptionError) -> VisionObservation {
        let model = client.configuration.visionModel
        let request = ChatRequest(
            model: model,
            messages: [.user([.text(VisionPrompt.instructions), .imageURL(image.dataURL)])],
            temperature: 0.1, maxTokens: 600, jsonMode: true, timeout: Self.timeout)
        let result: ChatResult
        do {
            result = try await client.chat(request)
        } catch {
            switch error {
            case .notConfigured: throw .notConfigured
            case .malformedResponse(let reason): throw .unusableReply(reason)
            default: throw .unavailable(error.description)
            }
        }
        do {
            return try VisionReplyParser.parse(result.content, model: result.model.isEmpty ? model : result.model)
        } catch {
            throw .unusableReply(error.description)
        }
    }
}

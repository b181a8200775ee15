import ServiceKit

/// A photo ready for the vision model: after `ImagePreparer`, a JPEG at most 1200 px wide.
public struct PreparedImage: Sendable, Equatable {
    /// Describes `bytes` (format and size of the prepared image, not of the upload).
    public var info: ImageInfo
    public var bytes: [UInt8]

    public var mediaType: String { info.format.mediaType }

    /// The `data:` URL the chat-completions request carries.
    public var dataURL: String { "data:\(mediaType);base64,\(Base64.encode(bytes))" }
}

/// Why a photo could not be described.
public enum ImageDescriptionError: Error, Sendable, Equatable {
    /// No provider configured (no `GROQ_API_KEY`).
    case notConfigured
    /// The provider was unreachable, timed out or refused the request (503).
    case unavailable(String)
    /// The provider answered, but not with a usable observation (502).
    case unusableReply(String)
}

/// Describes what is visible on a photo (03-diagnostics §8). The service depends only on this;
/// the Groq-backed implementation is plugged in by the composition root.
public protocol ImageDescriber: Sendable {
    /// False when no provider is configured: the image endpoint then answers 503 before it reads
    /// the upload.
    var isConfigured: Bool { get }
    func describe(_ image: PreparedImage) async throws(ImageDescriptionError) -> VisionObservation
}

/// The instructions sent with each photo (03-diagnostics §8.3).
public enum VisionPrompt {
    public static let instructions = """
        You are looking at a photo that a person took of part of their body for a symptom checker.
        Describe only what is visible on the body surface in the photo. Do not diagnose and do not give advice.
        Prefer these terms when they apply: open wound, bleeding, jagged edges, redness, swelling, rash, papules, \
        blisters, bruising, burn, pus, scab.
        Report image problems in quality_flags using: blurry, too dark, no body part visible.
        Answer only with one JSON object of this shape and nothing else:
        {"body_part": string or null, "observations": [string, ...], "description": "one or two plain sentences, \
        at most 300 characters", "quality_flags": [string, ...], "vision_confidence": {"<finding>": number between 0 and 1}}
        """
}

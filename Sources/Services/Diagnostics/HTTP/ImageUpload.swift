import ServiceKit

/// Checks and prepares an uploaded photo in the order of 03-diagnostics §3.4 steps 2-4.
enum ImageUpload {
    static let maxBytes = 5 * 1024 * 1024

    static let invalidType = ServiceError(
        .badRequest, "Invalid file type. Allowed: image/jpeg, image/png, image/jpg, image/webp")
    static let tooLarge = ServiceError(.badRequest, "Image size exceeds 5MB limit.")
    static let undecodable = ServiceError(.badRequest, "Invalid image file")

    /// The photo as the vision model gets it (§8.1). An image over the codec's dimension limits (a
    /// decompression bomb) is one that cannot be decoded: step 4's 400, like any other.
    static func prepare(_ part: MultipartPart) async throws -> PreparedImage {
        guard let mediaType = part.mediaType, ImageFormat.allowedMediaTypes.contains(mediaType),
              ImageInspector.sniff(part.body) != nil
        else { throw invalidType }
        guard part.body.count <= maxBytes else { throw tooLarge }
        // The structural check is cheap and keeps malformed files away from the C decoders.
        guard ImageInspector.inspect(part.body) != nil else { throw undecodable }
        do {
            return try await ImagePreparer.prepare(part.body)
        } catch where error.kind == .outOfMemory {
            throw ServiceError.internalError  // the server's trouble, not the photo's
        } catch {
            throw undecodable
        }
    }
}

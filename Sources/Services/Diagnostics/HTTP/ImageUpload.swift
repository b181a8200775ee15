import ServiceKit

/// Checks an uploaded photo in the order of 03-diagnostics §3.4 steps 2-4.
enum ImageUpload {
    static let maxBytes = 5 * 1024 * 1024

    static let invalidType = ServiceError(
        .badRequest, "Invalid file type. Allowed: image/jpeg, image/png, image/jpg, image/webp")
    static let tooLarge = ServiceError(.badRequest, "Image size exceeds 5MB limit.")
    static let undecodable = ServiceError(.badRequest, "Invalid image file")

    static func validate(_ part: MultipartPart) throws -> PreparedImage {
        guard let mediaType = part.mediaType, ImageFormat.allowedMediaTypes.contains(mediaType),
              ImageInspector.sniff(part.body) != nil
        else { throw invalidType }
        guard part.body.count <= maxBytes else { throw tooLarge }
        guard let info = ImageInspector.inspect(part.body) else { throw undecodable }
        return PreparedImage(info: info, bytes: part.body)
    }
}

import CImageCodec

/// Pixels as the codec exchanges them: 8-bit RGB, 3 bytes a pixel, rows top to bottom.
struct RGBImage: Sendable, Equatable {
    var width: Int
    var height: Int
    var pixels: [UInt8]
}

/// Why the codec refused an image.
struct ImageCodecError: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// Not JPEG, PNG or WebP, or a variant that is not decoded (animated WebP).
        case unsupported
        /// Damaged, truncated or invalid data.
        case corrupt
        /// Dimensions over the decompression-bomb limits (`MYSEHAT_IMAGE_MAX_*`).
        case tooLarge
        case outOfMemory
    }

    var kind: Kind
    /// The decoder's own words, for logs.
    var reason: String
}

/// The Swift face of CImageCodec (libjpeg, libpng, libwebp). The C side catches every library
/// error itself, so a failure arrives here as a status, never as a jump across Swift frames.
enum ImageCodec {
    private static let messageCapacity = 256

    /// Decodes a JPEG, PNG or WebP file to RGB, transparency flattened onto white, scaled down
    /// (area average) to at most `maxWidth` pixels wide with the aspect ratio kept.
    static func decode(_ bytes: [UInt8], maxWidth: Int? = nil) throws(ImageCodecError) -> RGBImage {
        var image = mysehat_image()
        var message = [CChar](repeating: 0, count: messageCapacity)
        let status = bytes.withUnsafeBufferPointer { data in
            mysehat_image_decode(data.baseAddress, data.count, UInt32(clamping: maxWidth ?? 0), &image, &message, messageCapacity)
        }
        guard status == MYSEHAT_IMAGE_OK, let start = image.pixels else { throw error(status, message) }
        defer { mysehat_image_free(&image) }
        let count = Int(image.width) * Int(image.height) * 3
        return RGBImage(width: Int(image.width), height: Int(image.height), pixels: Array(UnsafeBufferPointer(start: start, count: count)))
    }

    /// Encodes `image` as a baseline JPEG at `quality` (1-100), with no metadata besides JFIF.
    static func encodeJPEG(_ image: RGBImage, quality: Int) throws(ImageCodecError) -> [UInt8] {
        precondition(image.pixels.count == image.width * image.height * 3, "pixel buffer does not match the size")
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: messageCapacity)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            mysehat_jpeg_encode(
                pixels.baseAddress, UInt32(clamping: image.width), UInt32(clamping: image.height), Int32(clamping: quality),
                &output, &size, &message, messageCapacity)
        }
        guard status == MYSEHAT_IMAGE_OK, let output else { throw error(status, message) }
        defer { mysehat_jpeg_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    private static func error(_ status: mysehat_image_status, _ message: [CChar]) -> ImageCodecError {
        let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        switch status {
        case MYSEHAT_IMAGE_UNSUPPORTED: return ImageCodecError(kind: .unsupported, reason: reason)
        case MYSEHAT_IMAGE_TOO_LARGE: return ImageCodecError(kind: .tooLarge, reason: reason)
        case MYSEHAT_IMAGE_NO_MEMORY: return ImageCodecError(kind: .outOfMemory, reason: reason)
        default: return ImageCodecError(kind: .corrupt, reason: reason)
        }
    }
}

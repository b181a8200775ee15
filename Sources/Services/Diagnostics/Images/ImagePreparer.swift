import Dispatch

/// Prepares an uploaded photo for the vision model (03-diagnostics §8.1): decode, flatten
/// transparency onto white, scale down to at most 1200 px wide keeping the aspect ratio, re-encode
/// as JPEG at quality 70. Nothing is stored.
///
/// Every photo is re-encoded, also one already narrow enough and already JPEG: the new file holds
/// pixels only, so the upload's metadata (EXIF camera data, capture time, GPS position) never
/// reaches the provider. That is a privacy property, not an accident of the implementation.
enum ImagePreparer {
    static let maxWidth = 1200
    static let jpegQuality = 70

    /// Decoding is CPU work of tens to hundreds of milliseconds (and up to the codec's memory
    /// bound, ~256 MB, for the largest allowed image). On the cooperative pool it would hold one of
    /// its few threads (one per core) for that long and stall every other request; so it runs on
    /// this queue's own thread while the request task waits suspended. The queue is serial: one
    /// photo at a time bounds the memory and CPU all concurrent uploads can take together; the
    /// vision call that follows takes seconds, so the queueing adds little.
    private static let queue = DispatchQueue(label: "mysehat.diagnostics.image-preparation", qos: .userInitiated)

    /// Prepares `bytes` off the cooperative pool (see `queue`).
    static func prepare(_ bytes: [UInt8]) async throws(ImageCodecError) -> PreparedImage {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<PreparedImage, ImageCodecError>, Never>) in
            queue.async {
                continuation.resume(returning: Result { () throws(ImageCodecError) in try prepareNow(bytes) })
            }
        }
        return try result.get()
    }

    /// The preparation itself, on the calling thread.
    static func prepareNow(_ bytes: [UInt8]) throws(ImageCodecError) -> PreparedImage {
        let image = try ImageCodec.decode(bytes, maxWidth: maxWidth)
        let jpeg = try ImageCodec.encodeJPEG(image, quality: jpegQuality)
        return PreparedImage(info: ImageInfo(format: .jpeg, width: image.width, height: image.height), bytes: jpeg)
    }
}

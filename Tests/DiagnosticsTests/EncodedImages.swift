import CTestImageEncoders

@testable import DiagnosticsService

/// Real image files made in the test by the system libraries: JPEG through the product's own
/// encoder, the variants it never writes (PNG, WebP, grey/CMYK/progressive JPEG) through
/// CTestImageEncoders.
enum EncodedImages {
    /// A photo-like picture: gradients with a checker texture.
    static func pattern(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBufferPointer { test_image_pattern($0.baseAddress, UInt32(width), UInt32(height)) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Each pixel made by `color(x, y)`: as many samples as the format has channels.
    static func samples(width: Int, height: Int, _ color: (Int, Int) -> [UInt8]) -> [UInt8] {
        var samples: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width { samples += color(x, y) }
        }
        return samples
    }

    static func jpeg(_ image: RGBImage, quality: Int = 90) throws -> [UInt8] {
        try ImageCodec.encodeJPEG(image, quality: quality)
    }

    /// `components`: 1 grey, 3 RGB, 4 CMYK (stored inverted, with an Adobe marker).
    static func jpeg(samples: [UInt8], width: Int, height: Int, components: Int, progressive: Bool) -> [UInt8] {
        take { out, size in
            test_jpeg_encode(samples, UInt32(width), UInt32(height), Int32(components), progressive ? 1 : 0, 90, out, size)
        }
    }

    enum PNGColor: Int32 {
        case grey = 0, rgb = 2, palette = 3, greyAlpha = 4, rgba = 6
    }

    /// `samples` as libpng lays them out (see CTestImageEncoders.h).
    static func png(
        samples: [UInt8], width: Int, height: Int, color: PNGColor, bitDepth: Int = 8, interlaced: Bool = false,
        palette: [UInt8]? = nil, transparency: [UInt8]? = nil
    ) -> [UInt8] {
        take { out, size in
            test_png_encode(
                samples, UInt32(width), UInt32(height), color.rawValue, Int32(bitDepth), interlaced ? 1 : 0,
                palette, Int32((palette?.count ?? 0) / 3), transparency, Int32(transparency?.count ?? 0), out, size)
        }
    }

    static func webp(rgba: [UInt8], width: Int, height: Int, lossless: Bool) -> [UInt8] {
        take { out, size in test_webp_encode(rgba, UInt32(width), UInt32(height), lossless ? 1 : 0, 90, out, size) }
    }

    private static func take(_ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>) -> Int32) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        precondition(encode(&output, &size) == 0, "test encoder failed")
        defer { test_image_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}

extension RGBImage {
    /// The pixel at (x, y) as [r, g, b].
    func pixel(_ x: Int, _ y: Int) -> [Int] {
        let start = (y * width + x) * 3
        return pixels[start..<(start + 3)].map(Int.init)
    }
}

/// Whether two colours differ by at most `tolerance` in every channel (JPEG is lossy).
func near(_ color: [Int], _ expected: [Int], tolerance: Int = 10) -> Bool {
    color.count == expected.count && zip(color, expected).allSatisfy { abs($0 - $1) <= tolerance }
}

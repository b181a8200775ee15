import ServiceKit
import Testing

@testable import DiagnosticsService

/// Photo preparation (03-diagnostics §8.1) on real images: decode, flatten onto white, scale to at
/// most 1200 px wide, re-encode as JPEG q70.
@Suite struct ImagePreparationTests {
    static let observation = VisionObservation(findings: ["redness"], description: "A red patch.", model: "vision-test")

    /// Posts `file` to the image endpoint; the reply and what the describer received.
    func upload(_ file: [UInt8], type: String) async throws -> (reply: ServiceHarness.Reply, received: [PreparedImage], harness: ServiceHarness) {
        let describer = ScriptedDescriber(answer: .observation(Self.observation))
        let h = try await ServiceHarness(describer: describer)
        let form = ImageTriageTests.upload(file, type: type)
        let reply = try await h.call(.post, ImageTriageTests.path, body: form.finished(), contentType: form.contentType, maxBodySize: 12 << 20)
        return (reply, describer.received, h)
    }

    /// Uploads `file` and decodes the JPEG the describer got.
    func preparedThroughEndpoint(_ file: [UInt8], type: String) async throws -> RGBImage {
        let (reply, received, _) = try await upload(file, type: type)
        #expect(reply.status == .ok)
        let image = try #require(received.first)
        #expect(received.count == 1)
        #expect(image.mediaType == "image/jpeg" && image.bytes.starts(with: [0xFF, 0xD8, 0xFF]))
        let decoded = try ImageCodec.decode(image.bytes)
        #expect(image.info == ImageInfo(format: .jpeg, width: decoded.width, height: decoded.height))
        return decoded
    }

    // MARK: Through the endpoint

    @Test func largeJPEGArrivesAsA1200WideJPEG() async throws {
        let photo = EncodedImages.pattern(width: 3000, height: 2000)
        let (reply, received, _) = try await upload(try EncodedImages.jpeg(photo), type: "image/jpeg")
        #expect(reply.status == .ok)
        let prepared = try #require(received.first)
        #expect(prepared.info == ImageInfo(format: .jpeg, width: 1200, height: 800))
        #expect(prepared.dataURL.hasPrefix("data:image/jpeg;base64,/9j/"))
        let decoded = try ImageCodec.decode(prepared.bytes)
        #expect((decoded.width, decoded.height) == (1200, 800))
        // The same picture: the gradients (red across, green down) are where they were.
        for (x, y) in [(100, 100), (600, 400), (1100, 700)] {
            let original = photo.pixel(x * 5 / 2, y * 5 / 2)
            #expect(near(Array(decoded.pixel(x, y).prefix(2)), Array(original.prefix(2)), tolerance: 8), "at \(x),\(y)")
        }
    }

    @Test func narrowPhotoKeepsItsSizeAndLosesItsMetadata() async throws {
        let jpeg = try EncodedImages.jpeg(EncodedImages.pattern(width: 640, height: 480))
        // An EXIF block as phones write it, with a GPS position, right after SOI.
        let exif = Array("Exif".utf8) + [0, 0] + Array("MM GPSLatitude 12.9716 N GPSLongitude 77.5946 E".utf8)
        let segment: [UInt8] = [0xFF, 0xE1, UInt8((exif.count + 2) >> 8), UInt8((exif.count + 2) & 0xFF)] + exif
        let upload = Array(jpeg.prefix(2)) + segment + jpeg.dropFirst(2)
        #expect(ImageInspector.inspect(upload) == ImageInfo(format: .jpeg, width: 640, height: 480))

        let (reply, received, _) = try await self.upload(upload, type: "image/jpeg")
        #expect(reply.status == .ok)
        let prepared = try #require(received.first)
        #expect(prepared.info == ImageInfo(format: .jpeg, width: 640, height: 480))
        #expect(prepared.bytes != upload)
        #expect(prepared.bytes.firstRange(of: Array("Exif".utf8)) == nil)
        #expect(prepared.bytes.firstRange(of: Array("GPS".utf8)) == nil)
    }

    @Test func transparentPNGIsFlattenedOntoWhite() async throws {
        // 48 x 16: transparent black | opaque red | half-transparent blue.
        let rgba = EncodedImages.samples(width: 48, height: 16) { x, _ in
            x < 16 ? [0, 0, 0, 0] : x < 32 ? [255, 0, 0, 255] : [0, 0, 255, 128]
        }
        let image = try await preparedThroughEndpoint(EncodedImages.png(samples: rgba, width: 48, height: 16, color: .rgba), type: "image/png")
        #expect((image.width, image.height) == (48, 16))
        #expect(near(image.pixel(6, 8), [255, 255, 255]))
        #expect(near(image.pixel(24, 8), [255, 0, 0], tolerance: 16))
        #expect(near(image.pixel(42, 8), [127, 127, 255], tolerance: 16))
    }

    @Test(arguments: [true, false])
    func webpWithAlphaIsFlattenedOntoWhite(lossless: Bool) async throws {
        let rgba = EncodedImages.samples(width: 32, height: 16) { x, _ in x < 16 ? [0, 0, 0, 0] : [0, 160, 0, 255] }
        let webp = EncodedImages.webp(rgba: rgba, width: 32, height: 16, lossless: lossless)
        let image = try await preparedThroughEndpoint(webp, type: "image/webp")
        #expect((image.width, image.height) == (32, 16))
        #expect(near(image.pixel(5, 8), [255, 255, 255]))
        #expect(near(image.pixel(26, 8), [0, 160, 0], tolerance: 20))
    }

    @Test func undecodableImagesAreInvalidAndNeverDescribed() async throws {
        let jpeg = try EncodedImages.jpeg(EncodedImages.pattern(width: 320, height: 240))
        let cutMidScan = Array(jpeg.prefix(jpeg.count / 2)) + [0xFF, 0xD9]
        let garbledPNG = ImageInspector.pngSignature
            + TestImages.chunk("IHDR", TestImages.bigEndian(4) + TestImages.bigEndian(4) + [8, 0, 0, 0, 0])
            + TestImages.chunk("IDAT", [0x78, 0x01] + [UInt8](repeating: 0xFF, count: 24))  // deflate block type 3: invalid
            + TestImages.chunk("IEND", [])
        for (file, type) in [
            (cutMidScan, "image/jpeg"), (garbledPNG, "image/png"),
            (TestImages.jpeg(), "image/jpeg"),  // the markers and five bytes of scan data
            (TestImages.webp(), "image/webp"),  // a VP8L header and no image data
        ] {
            // Each passes the structural check, so it is the decoder that refuses it.
            #expect(ImageInspector.inspect(file) != nil)
            let (reply, received, h) = try await upload(file, type: type)
            #expect(reply.status == .badRequest)
            #expect(reply.json == ["detail": "Invalid image file"])
            #expect(received.isEmpty)
            #expect(try await h.store.query("SELECT id FROM triage_sessions").isEmpty)
        }
    }

    /// A few bytes that declare a huge image: refused from the header, before pixels are decoded
    /// or memory for them allocated.
    @Test func decompressionBombsAreRefused() async throws {
        let tinyIDAT = TestImages.chunk("IDAT", [0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x00, 0x01])
        func pngHeader(width: UInt32, height: UInt32) -> [UInt8] {
            ImageInspector.pngSignature + TestImages.chunk("IHDR", TestImages.bigEndian(width) + TestImages.bigEndian(height) + [8, 0, 0, 0, 0])
                + tinyIDAT + TestImages.chunk("IEND", [])
        }
        for (file, type) in [
            (pngHeader(width: 100_000, height: 100_000), "image/png"),
            (pngHeader(width: 8000, height: 8000), "image/png"),  // each side allowed, 64 megapixels not
            (TestImages.jpeg(width: 60000, height: 60000), "image/jpeg"),
            (TestImages.jpeg(width: 20000, height: 10), "image/jpeg"),  // small, but a side over 16384
            (TestImages.webp(width: 16383, height: 16383), "image/webp"),
        ] {
            let error = #expect(throws: ImageCodecError.self) { try ImageCodec.decode(file) }
            #expect(error?.kind == .tooLarge, "\(error?.reason ?? "")")
            let (reply, received, _) = try await upload(file, type: type)
            #expect(reply.status == .badRequest)
            #expect(reply.json == ["detail": "Invalid image file"])
            #expect(received.isEmpty)
        }
    }

    // MARK: The variants each decoder handles

    struct Variant: Sendable, CustomTestStringConvertible {
        var name: String
        var file: [UInt8]
        /// Points of the 16 x 16 image and their colour after preparation.
        var expected: [(x: Int, y: Int, rgb: [Int])]

        var testDescription: String { name }

        static func uniform(_ name: String, _ file: [UInt8], _ rgb: [Int]) -> Variant {
            Variant(name: name, file: file, expected: [(8, 8, rgb)])
        }

        /// Left half `left`, right half `right`.
        static func halves(_ name: String, _ file: [UInt8], _ left: [Int], _ right: [Int]) -> Variant {
            Variant(name: name, file: file, expected: [(3, 8, left), (12, 8, right)])
        }
    }

    static let white = [255, 255, 255]

    static func samples(_ pixel: [UInt8]) -> [UInt8] { EncodedImages.samples(width: 16, height: 16) { _, _ in pixel } }
    static func halves(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        EncodedImages.samples(width: 16, height: 16) { x, _ in x < 8 ? left : right }
    }

    static let variants: [Variant] = [
        .uniform("grey PNG", EncodedImages.png(samples: samples([200]), width: 16, height: 16, color: .grey), [200, 200, 200]),
        .uniform("16-bit grey PNG", EncodedImages.png(samples: samples([0x64, 0x00]), width: 16, height: 16, color: .grey, bitDepth: 16), [100, 100, 100]),
        .halves(
            "1-bit grey PNG", EncodedImages.png(samples: [UInt8](repeating: 0, count: 32).enumerated().map { $0.offset % 2 == 0 ? 0xFF : 0x00 }, width: 16, height: 16, color: .grey, bitDepth: 1),
            white, [0, 0, 0]),
        .halves("grey PNG with a transparent grey value", EncodedImages.png(samples: halves([0], [90]), width: 16, height: 16, color: .grey, transparency: [0, 0]), white, [90, 90, 90]),
        .halves("grey+alpha PNG", EncodedImages.png(samples: halves([0, 0], [90, 255]), width: 16, height: 16, color: .greyAlpha), white, [90, 90, 90]),
        .halves(
            "palette PNG with transparency",
            EncodedImages.png(samples: halves([0], [1]), width: 16, height: 16, color: .palette, palette: [200, 30, 30, 0, 0, 0], transparency: [255, 0]),
            [200, 30, 30], white),
        .halves(
            "4-bit palette PNG",
            EncodedImages.png(samples: [UInt8](repeating: 0, count: 16 * 8).enumerated().map { $0.offset % 8 < 4 ? 0x00 : 0x11 }, width: 16, height: 16, color: .palette, bitDepth: 4, palette: [20, 40, 200, 240, 240, 20]),
            [20, 40, 200], [240, 240, 20]),
        .uniform("16-bit RGB PNG", EncodedImages.png(samples: samples([0xFF, 0xFF, 0x00, 0x00, 0x80, 0x00]), width: 16, height: 16, color: .rgb, bitDepth: 16), [255, 0, 128]),
        .halves("16-bit RGBA PNG", EncodedImages.png(samples: halves([0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF]), width: 16, height: 16, color: .rgba, bitDepth: 16), white, [0, 255, 0]),
        .halves("interlaced RGBA PNG", EncodedImages.png(samples: halves([10, 200, 30, 255], [0, 0, 0, 0]), width: 16, height: 16, color: .rgba, interlaced: true), [10, 200, 30], white),
        .uniform("greyscale JPEG", EncodedImages.jpeg(samples: samples([90]), width: 16, height: 16, components: 1, progressive: false), [90, 90, 90]),
        .uniform("progressive JPEG", EncodedImages.jpeg(samples: samples([30, 90, 200]), width: 16, height: 16, components: 3, progressive: true), [30, 90, 200]),
        // Adobe CMYK stores ink inverted: C=0 M=255 Y=255 K=0 (red) is written 255, 0, 0, 255.
        .uniform("Adobe CMYK JPEG", EncodedImages.jpeg(samples: samples([255, 0, 0, 255]), width: 16, height: 16, components: 4, progressive: false), [255, 0, 0]),
        .halves("lossless WebP", EncodedImages.webp(rgba: halves([0, 0, 0, 0], [40, 80, 160, 255]), width: 16, height: 16, lossless: true), white, [40, 80, 160]),
    ]

    @Test(arguments: variants)
    func variantIsPrepared(_ variant: Variant) throws {
        let prepared = try ImagePreparer.prepareNow(variant.file)
        #expect(prepared.info == ImageInfo(format: .jpeg, width: 16, height: 16))
        let image = try ImageCodec.decode(prepared.bytes)
        for point in variant.expected {
            #expect(near(image.pixel(point.x, point.y), point.rgb, tolerance: 12), "at \(point.x),\(point.y)")
        }
    }

    // MARK: Scaling

    @Test(arguments: [
        (3000, 2000, 1200, 800), (1201, 901, 1200, 900), (5000, 3, 1200, 1), (16384, 1, 1200, 1),
        (1200, 1600, 1200, 1600), (1199, 10, 1199, 10),
    ])
    func widthIsCappedAndTheAspectRatioKept(width: Int, height: Int, scaledWidth: Int, scaledHeight: Int) throws {
        let png = EncodedImages.png(samples: [UInt8](repeating: 77, count: width * height), width: width, height: height, color: .grey)
        let image = try ImageCodec.decode(png, maxWidth: ImagePreparer.maxWidth)
        #expect((image.width, image.height) == (scaledWidth, scaledHeight))
        #expect(image.pixels.allSatisfy { $0 == 77 })
    }

    /// Alternating black and white columns halve to grey: each output pixel averages the area it
    /// covers (nearest-neighbour sampling would keep only the black or only the white ones).
    @Test func scalingAveragesTheAreaCovered() throws {
        let stripes = EncodedImages.png(samples: (0..<(2400 * 4)).map { $0 % 2 == 0 ? 0 : 255 }, width: 2400, height: 4, color: .grey)
        let halved = try ImageCodec.decode(stripes, maxWidth: 1200)
        #expect((halved.width, halved.height) == (1200, 2))
        #expect(halved.pixels.allSatisfy { (127...128).contains($0) })

        // A fractional ratio (3000 -> 1200 is 2.5 columns a pixel) still averages to grey.
        let wide = EncodedImages.png(samples: (0..<(3000 * 5)).map { $0 % 2 == 0 ? 0 : 255 }, width: 3000, height: 5, color: .grey)
        let scaled = try ImageCodec.decode(wide, maxWidth: 1200)
        #expect((scaled.width, scaled.height) == (1200, 2))
        #expect(scaled.pixels.allSatisfy { (100...155).contains($0) })
    }

    /// JPEG is decoded at a reduced DCT scale first and WebP scales while decoding: same result size.
    @Test func jpegAndWebPScaleWhileDecoding() throws {
        let progressive = EncodedImages.jpeg(
            samples: EncodedImages.pattern(width: 2000, height: 1000).pixels, width: 2000, height: 1000, components: 3, progressive: true)
        let jpeg = try ImagePreparer.prepareNow(progressive)
        #expect(jpeg.info == ImageInfo(format: .jpeg, width: 1200, height: 600))

        let rgba = EncodedImages.samples(width: 2400, height: 40) { x, _ in x < 1200 ? [255, 0, 0, 255] : [0, 0, 0, 0] }
        let webp = try ImageCodec.decode(EncodedImages.webp(rgba: rgba, width: 2400, height: 40, lossless: true), maxWidth: 1200)
        #expect((webp.width, webp.height) == (1200, 20))
        #expect(webp.pixel(300, 10) == [255, 0, 0])
        #expect(webp.pixel(900, 10) == [255, 255, 255])
    }
}

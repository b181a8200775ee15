/// The photo formats the image endpoint accepts.
public enum ImageFormat: String, Sendable {
    case jpeg, png, webp

    public var mediaType: String { "image/\(rawValue)" }

    /// The part content types allowed by 03-diagnostics §3.4 (`image/jpg` is a common alias).
    public static let allowedMediaTypes = ["image/jpeg", "image/png", "image/jpg", "image/webp"]
}

/// An image's format and size in pixels: as the structural read found them for an upload, as
/// encoded for a `PreparedImage`.
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
}

/// Recognises JPEG, PNG and WebP images from their bytes and checks their structure without
/// decoding pixels: container framing, the header that gives the dimensions, and for PNG every
/// chunk's CRC. A file that passes is well-formed enough to hand to the decoders (`ImageCodec`);
/// one that fails is answered "Invalid image file" without reaching them.
public enum ImageInspector {
    /// The format named by the file's signature, or nil.
    public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.starts(with: pngSignature) { return .png }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) { return .webp }
        return nil
    }

    /// The image's format and size when its structure is sound, else nil.
    public static func inspect(_ bytes: [UInt8]) -> ImageInfo? {
        switch sniff(bytes) {
        case .jpeg: inspectJPEG(bytes)
        case .png: inspectPNG(bytes)
        case .webp: inspectWebP(bytes)
        case nil: nil
        }
    }

    // MARK: JPEG (ITU T.81 markers)

    static func inspectJPEG(_ bytes: [UInt8]) -> ImageInfo? {
        var i = 2  // after SOI
        var size: (width: Int, height: Int)?
        while i + 1 < bytes.count {
            guard bytes[i] == 0xFF else { return nil }
            while i < bytes.count, bytes[i] == 0xFF { i += 1 }  // fill bytes
            guard i < bytes.count else { return nil }
            let marker = bytes[i]
            i += 1
            switch marker {
            case 0x01, 0xD0...0xD7: continue  // standalone markers
            case 0xD8, 0xD9: return nil  // a second SOI, or EOI before any scan
            default: break
            }
            guard i + 2 <= bytes.count else { return nil }
            let length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            guard length >= 2, i + length <= bytes.count else { return nil }
            let segment = bytes[(i + 2)..<(i + length)]
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                // Start of frame: precision, height, width, component count, 3 bytes per component.
                guard segment.count >= 6 else { return nil }
                let base = segment.startIndex
                let height = Int(segment[base + 1]) << 8 | Int(segment[base + 2])
                let width = Int(segment[base + 3]) << 8 | Int(segment[base + 4])
                let components = Int(segment[base + 5])
                guard width > 0, height > 0, (1...4).contains(components), segment.count == 6 + 3 * components else { return nil }
                size = (width, height)
            }
            i += length
            if marker == 0xDA {
                // Start of scan: entropy-coded data follows; the image must still end with EOI.
                guard let size, containsEOI(bytes, from: i) else { return nil }
                return ImageInfo(format: .jpeg, width: size.width, height: size.height)
            }
        }
        return nil
    }

    private static func containsEOI(_ bytes: [UInt8], from start: Int) -> Bool {
        var index = bytes.count - 2
        while index >= start {
            if bytes[index] == 0xFF, bytes[index + 1] == 0xD9 { return true }
            index -= 1
        }
        return false
    }

    // MARK: PNG (RFC 2083 / ISO 15948)

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func inspectPNG(_ bytes: [UInt8]) -> ImageInfo? {
        var i = pngSignature.count
        var header: (width: Int, height: Int, colorType: UInt8)?
        var sawPalette = false
        var sawData = false
        while i + 12 <= bytes.count {
            let length = Int(readUInt32BE(bytes, at: i))
            guard length <= 0x7FFF_FFFF, i + 12 + length <= bytes.count else { return nil }
            let type = Array(bytes[(i + 4)..<(i + 8)])
            guard type.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else { return nil }
            let data = bytes[(i + 8)..<(i + 8 + length)]
            guard CRC32.checksum(bytes[(i + 4)..<(i + 8 + length)]) == readUInt32BE(bytes, at: i + 8 + length) else { return nil }
            let name = String(decoding: type, as: UTF8.self)
            if header == nil {
                guard name == "IHDR", length == 13 else { return nil }
                let base = data.startIndex
                let width = Int(readUInt32BE(bytes, at: base)), height = Int(readUInt32BE(bytes, at: base + 4))
                let depth = data[base + 8], colorType = data[base + 9]
                guard width > 0, height > 0, width <= 0x7FFF_FFFF, height <= 0x7FFF_FFFF,
                      validPNGDepth(depth, colorType: colorType),
                      data[base + 10] == 0, data[base + 11] == 0, data[base + 12] <= 1
                else { return nil }
                header = (width, height, colorType)
            } else {
                switch name {
                case "PLTE": sawPalette = true
                case "IDAT":
                    // The first IDAT opens a zlib stream: deflate method and a valid check value.
                    if !sawData {
                        guard data.count >= 2, data[data.startIndex] & 0x0F == 8,
                              (Int(data[data.startIndex]) << 8 | Int(data[data.startIndex + 1])) % 31 == 0
                        else { return nil }
                    }
                    sawData = true
                case "IEND":
                    guard let header, sawData, header.colorType != 3 || sawPalette else { return nil }
                    return ImageInfo(format: .png, width: header.width, height: header.height)
                default: break
                }
            }
            i += 12 + length
        }
        return nil
    }

    private static func validPNGDepth(_ depth: UInt8, colorType: UInt8) -> Bool {
        switch colorType {
        case 0: [1, 2, 4, 8, 16].contains(depth)
        case 3: [1, 2, 4, 8].contains(depth)
        case 2, 4, 6: [8, 16].contains(depth)
        default: false
        }
    }

    // MARK: WebP (RIFF container, VP8 / VP8L / VP8X)

    static func inspectWebP(_ bytes: [UInt8]) -> ImageInfo? {
        let riffSize = Int(readUInt32LE(bytes, at: 4))
        guard riffSize >= 4, riffSize + 8 <= bytes.count else { return nil }
        let end = riffSize + 8
        var i = 12
        var canvas: (width: Int, height: Int)?
        while i + 8 <= end {
            let fourCC = String(decoding: bytes[i..<(i + 4)], as: UTF8.self)
            let size = Int(readUInt32LE(bytes, at: i + 4))
            guard i + 8 + size <= end else { return nil }
            let data = bytes[(i + 8)..<(i + 8 + size)]
            let base = data.startIndex
            switch fourCC {
            case "VP8 ":
                // Frame tag (key frame bit clear), start code 9D 01 2A, 14-bit width and height.
                guard size >= 10, data[base] & 1 == 0, data[base + 3] == 0x9D, data[base + 4] == 0x01, data[base + 5] == 0x2A else { return nil }
                let width = Int(readUInt16LE(bytes, at: base + 6) & 0x3FFF), height = Int(readUInt16LE(bytes, at: base + 8) & 0x3FFF)
                guard width > 0, height > 0 else { return nil }
                return ImageInfo(format: .webp, width: canvas?.width ?? width, height: canvas?.height ?? height)
            case "VP8L":
                guard size >= 5, data[base] == 0x2F else { return nil }
                let bits = readUInt32LE(bytes, at: base + 1)
                let width = Int(bits & 0x3FFF) + 1, height = Int((bits >> 14) & 0x3FFF) + 1
                return ImageInfo(format: .webp, width: canvas?.width ?? width, height: canvas?.height ?? height)
            case "VP8X":
                guard size >= 10 else { return nil }
                canvas = (readUInt24LE(bytes, at: base + 4) + 1, readUInt24LE(bytes, at: base + 7) + 1)
            case "ANMF":
                // An animation frame holds its own VP8/VP8L chunk; the canvas gives the size.
                guard let canvas else { return nil }
                return ImageInfo(format: .webp, width: canvas.width, height: canvas.height)
            default: break
            }
            i += 8 + size + (size & 1)  // chunks are padded to even sizes
        }
        return nil
    }

    // MARK: Byte readers

    private static func readUInt32BE(_ bytes: [UInt8], at i: Int) -> UInt32 {
        UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
    }

    private static func readUInt32LE(_ bytes: [UInt8], at i: Int) -> UInt32 {
        UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
    }

    private static func readUInt16LE(_ bytes: [UInt8], at i: Int) -> UInt16 {
        UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
    }

    private static func readUInt24LE(_ bytes: [UInt8], at i: Int) -> Int {
        Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16
    }
}

/// CRC-32 (ISO 3309, as PNG uses it).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

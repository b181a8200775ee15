#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `multipart/form-data` bodies (RFC 7578 on RFC 2046 framing), parsed from bytes already collected
/// under the route's body limit.
///
/// The parser is strict about framing (CRLF line ends, a closing delimiter, headers that end) and
/// lenient where clients differ (a preamble, transport padding after a delimiter, header name case).

/// One part of a form.
public struct MultipartPart: Sendable {
    /// The `name` of the part's `Content-Disposition: form-data`.
    public var name: String
    /// The `filename` (or `filename*`) parameter, when the part is a file.
    public var filename: String?
    /// The part's `Content-Type`, when sent.
    public var contentType: String?
    /// All header fields of the part, names lower-cased, in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(name: String, filename: String? = nil, contentType: String? = nil, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text (invalid sequences repaired).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The content type without parameters, lower-cased (`image/png` for `Image/PNG; q=1`).
    public var mediaType: String? {
        contentType.map { MultipartParser.essence(of: $0) }
    }
}

/// The parts of a form, in the order they were sent.
public struct MultipartForm: Sendable {
    public var parts: [MultipartPart]

    public init(parts: [MultipartPart]) { self.parts = parts }

    /// The first part with this name.
    public func part(_ name: String) -> MultipartPart? { parts.first { $0.name == name } }

    /// The first part with this name read as a text field.
    public func field(_ name: String) -> String? { part(name)?.text }
}

/// Bounds that keep a hostile body from costing more than its size.
public struct MultipartLimits: Sendable {
    /// Most parts in one form.
    public var maxParts: Int
    /// Most bytes of one part's header block.
    public var maxHeaderBytes: Int
    /// Most bytes of a part that is not a file (no `filename`).
    public var maxFieldBytes: Int

    public init(maxParts: Int = 32, maxHeaderBytes: Int = 8 * 1024, maxFieldBytes: Int = 64 * 1024) {
        self.maxParts = maxParts
        self.maxHeaderBytes = maxHeaderBytes
        self.maxFieldBytes = maxFieldBytes
    }
}

public enum MultipartError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The content type is not `multipart/form-data`.
    case notMultipart
    /// No usable `boundary` parameter.
    case invalidBoundary
    /// The framing is broken; the text says where.
    case malformed(String)
    case tooManyParts(limit: Int)
    case headerTooLarge(limit: Int)
    case fieldTooLarge(name: String, limit: Int)

    public var description: String {
        switch self {
        case .notMultipart: "content type is not multipart/form-data"
        case .invalidBoundary: "missing or invalid boundary parameter"
        case .malformed(let reason): reason
        case .tooManyParts(let limit): "more than \(limit) parts"
        case .headerTooLarge(let limit): "part headers larger than \(limit) bytes"
        case .fieldTooLarge(let name, let limit): "field '\(name)' larger than \(limit) bytes"
        }
    }
}

public enum MultipartParser {
    private static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), dash = UInt8(ascii: "-")

    /// The boundary of a `multipart/form-data` content type; throws `notMultipart` for another type
    /// and `invalidBoundary` when the parameter is missing or breaks RFC 2046 (1-70 characters).
    public static func boundary(contentType: String) throws(MultipartError) -> String {
        guard essence(of: contentType) == "multipart/form-data" else { throw .notMultipart }
        guard let value = HeaderParameters.parse(contentType).first(where: { $0.name == "boundary" })?.value,
              (1...70).contains(value.utf8.count),
              value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }),
              value.utf8.last != UInt8(ascii: " ")
        else { throw .invalidBoundary }
        return value
    }

    /// Parses a whole body.
    public static func parse(_ body: [UInt8], boundary: String, limits: MultipartLimits = .init()) throws(MultipartError) -> MultipartForm {
        // Every delimiter after the first is preceded by CRLF; the first may open the body.
        let dashBoundary = Array("--\(boundary)".utf8)
        let delimiter = [cr, lf] + dashBoundary

        var position: Int
        if body.starts(with: dashBoundary), endsDelimiter(body, at: dashBoundary.count) {
            position = dashBoundary.count
        } else if let found = nextDelimiter(delimiter, in: body, from: 0) {
            position = found + delimiter.count  // skip the preamble
        } else {
            throw .malformed("no boundary delimiter in body")
        }

        var parts: [MultipartPart] = []
        while true {
            // After a delimiter: `--` closes the body; otherwise optional padding, then CRLF.
            if body[position...].starts(with: [dash, dash]) { return MultipartForm(parts: parts) }
            while body[position] != cr { position += 1 }
            position += 2

            guard parts.count < limits.maxParts else { throw .tooManyParts(limit: limits.maxParts) }
            guard let end = nextDelimiter(delimiter, in: body, from: position) else {
                throw .malformed("part without a closing boundary")
            }
            parts.append(try parsePart(body[position..<end], limits: limits))
            position = end + delimiter.count
        }
    }

    /// The next occurrence of `delimiter` that is really one: followed by `--`, or by optional
    /// spaces or tabs and CRLF. Text that merely starts like a delimiter stays part content.
    private static func nextDelimiter(_ delimiter: [UInt8], in body: [UInt8], from start: Int) -> Int? {
        var from = start
        while let found = find(delimiter, in: body[...], from: from) {
            if endsDelimiter(body, at: found + delimiter.count) { return found }
            from = found + 1
        }
        return nil
    }

    private static func endsDelimiter(_ body: [UInt8], at index: Int) -> Bool {
        if body[index...].starts(with: [dash, dash]) { return true }
        var i = index
        while i < body.count, body[i] == UInt8(ascii: " ") || body[i] == UInt8(ascii: "\t") { i += 1 }
        return body[i...].starts(with: [cr, lf])
    }

    private static func parsePart(_ bytes: ArraySlice<UInt8>, limits: MultipartLimits) throws(MultipartError) -> MultipartPart {
        let headerEnd: Int
        let bodyStart: Int
        if bytes.starts(with: [cr, lf]) {
            headerEnd = bytes.startIndex  // a part with no header fields
            bodyStart = bytes.startIndex + 2
        } else if let end = find([cr, lf, cr, lf], in: bytes, from: bytes.startIndex) {
            headerEnd = end
            bodyStart = end + 4
        } else {
            throw bytes.count > limits.maxHeaderBytes ? .headerTooLarge(limit: limits.maxHeaderBytes)
                : .malformed("part headers not terminated")
        }
        guard headerEnd - bytes.startIndex <= limits.maxHeaderBytes else { throw .headerTooLarge(limit: limits.maxHeaderBytes) }

        var headers: [(name: String, value: String)] = []
        for line in split(bytes[bytes.startIndex..<headerEnd], separator: [cr, lf]) where !line.isEmpty {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw .malformed("part header line without a name")
            }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingWhitespace()
            headers.append((name, value))
        }

        guard let disposition = headers.first(where: { $0.name == "content-disposition" })?.value else {
            throw .malformed("part without Content-Disposition")
        }
        guard disposition.split(separator: ";", maxSplits: 1).first?.trimmingWhitespace().lowercased() == "form-data" else {
            throw .malformed("Content-Disposition is not form-data")
        }
        let parameters = HeaderParameters.parse(disposition)
        guard let name = parameters.first(where: { $0.name == "name" })?.value else {
            throw .malformed("part without a name")
        }
        // RFC 6266: `filename*` (RFC 8187 encoded) wins over `filename`.
        let filename = parameters.first(where: { $0.name == "filename*" }).flatMap { HeaderParameters.decodeExtended($0.value) }
            ?? parameters.first(where: { $0.name == "filename" })?.value

        let body = Array(bytes[bodyStart...])
        if filename == nil, body.count > limits.maxFieldBytes {
            throw .fieldTooLarge(name: name, limit: limits.maxFieldBytes)
        }
        return MultipartPart(
            name: name, filename: filename, contentType: headers.first(where: { $0.name == "content-type" })?.value,
            headers: headers, body: body)
    }

    /// `type/subtype` of a content type, lower-cased, without parameters or spaces.
    static func essence(of contentType: String) -> String {
        (contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .trimmingWhitespace().lowercased()
    }

    /// First index of `needle` in `haystack` at or after `start`. Bodies are megabytes of binary
    /// data, so candidates for the first byte are found with `memchr`.
    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>, from start: Int) -> Int? {
        guard let first = needle.first, haystack.endIndex - start >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress else { return nil }
            let offset = haystack.startIndex
            let last = buffer.count - needle.count  // the last position where the needle fits
            var position = start - offset
            while position <= last {
                guard let hit = memchr(base + position, Int32(first), last - position + 1) else { return nil }
                let index = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                var matched = 1
                while matched < needle.count, buffer[index + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return offset + index }
                position = index + 1
            }
            return nil
        }
    }

    private static func split(_ bytes: ArraySlice<UInt8>, separator: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        while let end = find(separator, in: bytes, from: start) {
            lines.append(bytes[start..<end])
            start = end + separator.count
        }
        lines.append(bytes[start...])
        return lines
    }
}

/// `; name=value` parameters of a header value (RFC 9110 §5.6.6), quoted strings unescaped.
enum HeaderParameters {
    static func parse(_ header: String) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        let scalars = Array(header.unicodeScalars)
        var i = 0
        // Skip the leading value (the media type or disposition type).
        while i < scalars.count, scalars[i] != ";" {
            if scalars[i] == "\"" { i = skipQuoted(scalars, from: i) } else { i += 1 }
        }
        while i < scalars.count {
            i += 1  // the ';'
            while i < scalars.count, scalars[i] == " " || scalars[i] == "\t" { i += 1 }
            var name = ""
            while i < scalars.count, scalars[i] != "=", scalars[i] != ";" {
                name.unicodeScalars.append(scalars[i])
                i += 1
            }
            name = name.trimmingWhitespace().lowercased()
            guard i < scalars.count, scalars[i] == "=" else { continue }
            i += 1
            while i < scalars.count, scalars[i] == " " || scalars[i] == "\t" { i += 1 }
            var value = ""
            if i < scalars.count, scalars[i] == "\"" {
                i += 1
                while i < scalars.count, scalars[i] != "\"" {
                    if scalars[i] == "\\", i + 1 < scalars.count { i += 1 }
                    value.unicodeScalars.append(scalars[i])
                    i += 1
                }
                i += 1  // the closing quote
                while i < scalars.count, scalars[i] != ";" { i += 1 }
            } else {
                while i < scalars.count, scalars[i] != ";" {
                    value.unicodeScalars.append(scalars[i])
                    i += 1
                }
                value = value.trimmingWhitespace()
            }
            if !name.isEmpty { result.append((name, value)) }
        }
        return result
    }

    private static func skipQuoted(_ scalars: [Unicode.Scalar], from start: Int) -> Int {
        var i = start + 1
        while i < scalars.count, scalars[i] != "\"" {
            if scalars[i] == "\\" { i += 1 }
            i += 1
        }
        return i + 1
    }

    /// RFC 8187 `charset'language'percent-encoded`; only UTF-8 (and its ASCII subset) is accepted.
    static func decodeExtended(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3, ["utf-8", "us-ascii"].contains(pieces[0].lowercased()) else { return nil }
        var bytes: [UInt8] = []
        var iterator = pieces[2].utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}

extension ServiceRequest {
    /// The body parsed as `multipart/form-data`: 415 for another content type, 413 over the route's
    /// body limit, 400 `{"detail": "Invalid multipart body: <reason>"}` for a malformed body.
    public func multipartBody(limits: MultipartLimits = .init()) async throws -> MultipartForm {
        let boundary: String
        do {
            boundary = try MultipartParser.boundary(contentType: headers[.contentType] ?? "")
        } catch .notMultipart {
            throw ServiceError.unsupportedMediaType
        } catch {
            throw ServiceError(.badRequest, "Invalid multipart body: \(error)")
        }
        let bytes = try await collectBody()
        do {
            return try MultipartParser.parse(bytes, boundary: boundary, limits: limits)
        } catch {
            throw ServiceError(.badRequest, "Invalid multipart body: \(error)")
        }
    }
}

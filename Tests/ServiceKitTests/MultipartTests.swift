import Testing

@testable import ServiceKit

@Suite struct MultipartTests {
    static let crlf = "\r\n"

    static func body(_ lines: [String]) -> [UInt8] { Array(lines.joined(separator: crlf).utf8) }

    @Test(arguments: [
        ("multipart/form-data; boundary=abc", "abc"),
        ("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b;c\"", "a b;c"),
        ("multipart/form-data;boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", "----WebKitFormBoundary7MA4YWxkTrZu0gW"),
    ])
    func boundaryFromContentType(contentType: String, boundary: String) throws {
        #expect(try MultipartParser.boundary(contentType: contentType) == boundary)
    }

    @Test func boundaryErrors() {
        #expect(throws: MultipartError.notMultipart) { try MultipartParser.boundary(contentType: "application/json") }
        #expect(throws: MultipartError.notMultipart) { try MultipartParser.boundary(contentType: "multipart/mixed; boundary=x") }
        #expect(throws: MultipartError.invalidBoundary) { try MultipartParser.boundary(contentType: "multipart/form-data") }
        #expect(throws: MultipartError.invalidBoundary) { try MultipartParser.boundary(contentType: "multipart/form-data; boundary=\"\"") }
        #expect(throws: MultipartError.invalidBoundary) {
            try MultipartParser.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "x", count: 71))
        }
    }

    @Test func partsWithFieldsAndFiles() throws {
        let body = Self.body([
            "preamble to ignore",
            "--XyZ",
            "Content-Disposition: form-data; name=\"session_id\"",
            "",
            "abc-123",
            "--XyZ  ",  // transport padding
            "content-disposition: form-data; name=\"file\"; filename=\"a \\\"quoted\\\" name.png\"",
            "Content-Type: Image/PNG",
            "",
            "\u{0}binary\r\n--XyZnot-a-delimiter\r\nstill data",
            "--XyZ",
            "Content-Disposition: form-data; name=\"doc\"; filename=\"plain.txt\"; filename*=UTF-8''%E0%A4%B8%E0%A5%87%E0%A4%B9%E0%A4%A4.txt",
            "",
            "",
            "--XyZ--",
            "epilogue",
        ])
        let form = try MultipartParser.parse(body, boundary: "XyZ")
        #expect(form.parts.map(\.name) == ["session_id", "file", "doc"])
        #expect(form.field("session_id") == "abc-123")
        let file = try #require(form.part("file"))
        #expect(file.filename == "a \"quoted\" name.png")
        #expect(file.mediaType == "image/png")
        #expect(file.body == Array("\u{0}binary\r\n--XyZnot-a-delimiter\r\nstill data".utf8))
        #expect(form.part("doc")?.filename == "सेहत.txt")
        #expect(form.part("doc")?.body == [])
        #expect(form.part("missing") == nil)
    }

    @Test func bodyMayStartWithDelimiterAndHaveNoParts() throws {
        #expect(try MultipartParser.parse(Array("--b--\r\n".utf8), boundary: "b").parts.isEmpty)
        let one = try MultipartParser.parse(Self.body(["--b", "Content-Disposition: form-data; name=x", "", "1", "--b--"]), boundary: "b")
        #expect(one.field("x") == "1")
    }

    @Test(arguments: [
        ("", "no boundary delimiter in body"),
        ("just text", "no boundary delimiter in body"),
        ("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nvalue", "part without a closing boundary"),
        ("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nvalue\r\n--b", "part without a closing boundary"),
        ("--bjunk\r\n", "no boundary delimiter in body"),
        ("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n--b--", "part headers not terminated"),
        ("--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--", "part without Content-Disposition"),
        ("--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nv\r\n--b--", "Content-Disposition is not form-data"),
        ("--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nv\r\n--b--", "part without a name"),
        ("--b\r\nno colon here\r\n\r\nv\r\n--b--", "part header line without a name"),
    ])
    func malformedBodies(body: String, reason: String) {
        #expect(throws: MultipartError.malformed(reason)) { try MultipartParser.parse(Array(body.utf8), boundary: "b") }
    }

    @Test func limits() {
        let part = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n"
        let many = Array((String(repeating: part, count: 4) + "--b--").utf8)
        #expect(throws: MultipartError.tooManyParts(limit: 3)) {
            try MultipartParser.parse(many, boundary: "b", limits: MultipartLimits(maxParts: 3))
        }
        #expect(throws: Never.self) { try MultipartParser.parse(many, boundary: "b", limits: MultipartLimits(maxParts: 4)) }

        let bigHeader = Array("--b\r\nContent-Disposition: form-data; name=\"\(String(repeating: "n", count: 200))\"\r\n\r\nv\r\n--b--".utf8)
        #expect(throws: MultipartError.headerTooLarge(limit: 100)) {
            try MultipartParser.parse(bigHeader, boundary: "b", limits: MultipartLimits(maxHeaderBytes: 100))
        }
        let bigField = Array("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\(String(repeating: "v", count: 50))\r\n--b--".utf8)
        #expect(throws: MultipartError.fieldTooLarge(name: "x", limit: 10)) {
            try MultipartParser.parse(bigField, boundary: "b", limits: MultipartLimits(maxFieldBytes: 10))
        }
        // Files are bounded by the body limit and the caller's own file rules, not maxFieldBytes.
        let bigFile = Array("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n\(String(repeating: "v", count: 50))\r\n--b--".utf8)
        #expect(throws: Never.self) { try MultipartParser.parse(bigFile, boundary: "b", limits: MultipartLimits(maxFieldBytes: 10)) }
    }

    @Test func largeBodyParsesInLinearTime() throws {
        // 8 MiB of a byte that starts the delimiter: a quadratic search would not finish.
        let data = [UInt8](repeating: UInt8(ascii: "\r"), count: 8 << 20)
        let body = Array("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n".utf8) + data + Array("\r\n--b--".utf8)
        let start = ContinuousClock.now
        let form = try MultipartParser.parse(body, boundary: "b")
        #expect(form.part("f")?.body.count == data.count)
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}

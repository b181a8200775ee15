import HTTPTypes
import HummingbirdCore
import NIOCore

extension Response {
    /// A JSON response from a `JSONValue`.
    public static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let bytes = JSON.encode(value)
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(bytes.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @_disfavoredOverload
    public static func json(_ object: JSONObject, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        json(.object(object), status: status, headers: headers)
    }

    /// A body sent as it is, with the given content type.
    public static func bytes(_ bytes: some Sequence<UInt8>, contentType: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let buffer = ByteBuffer(bytes: bytes)
        var fields = headers
        fields[.contentType] = contentType
        fields[.contentLength] = String(buffer.readableBytes)
        return Response(status: status, headers: fields, body: .init(byteBuffer: buffer))
    }

    public static func text(_ text: String, contentType: String = "text/plain; charset=utf-8", status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        bytes(text.utf8, contentType: contentType, status: status, headers: headers)
    }
}

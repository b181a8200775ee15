import AsyncHTTPClient
import CLua
import CLuaShim
import Foundation
import NIOCore
import NIOHTTP1
import ServiceKit

extension LuaPrimitives {
    /// `http.request{method, url, headers, body, timeout}` -> `{status, headers, body}`, or nil and
    /// a message. Loopback hosts are always allowed; other hosts only when listed.
    public mutating func addHTTP(allowedHosts: Set<String>, client: HTTPClient = .shared) {
        let allowed = Set(allowedHosts.map { $0.lowercased() })
        set("http", .module([
            "request": .function { stack, _ in
                guard stack.type(at: 1) == LUA_TTABLE else { return .raise("http.request expects a table") }
                stack.getField(1, "url")
                let url = stack.string(at: -1)
                stack.pop()
                guard let url, let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                      scheme == "http" || scheme == "https", let host = components.host?.lowercased()
                else { return .raise("http.request: url must be an http(s) URL") }
                let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
                guard loopback || allowed.contains(host) else {
                    return .raise("http.request: host '\(host)' is not allowed (loopback or the configured allow-list only)")
                }
                stack.getField(1, "method")
                let method = (stack.string(at: -1) ?? "GET").uppercased()
                stack.pop()
                stack.getField(1, "body")
                let body = stack.bytes(at: -1)
                stack.pop()
                stack.getField(1, "timeout")
                let timeout = min(max(stack.number(at: -1) ?? 10, 0.05), 120)
                stack.pop()
                var headers: [(String, String)] = []
                if stack.getField(1, "headers") == LUA_TTABLE {
                    lua_pushnil(stack.L)
                    while lua_next(stack.L, -2) != 0 {
                        if stack.type(at: -2) == LUA_TSTRING, let name = stack.string(at: -2) {
                            headers.append((name, stack.describe(at: -1)))
                        }
                        stack.pop()
                    }
                }
                stack.pop()
                var request = HTTPClientRequest(url: url)
                request.method = HTTPMethod(rawValue: method)
                for (name, value) in headers { request.headers.add(name: name, value: value) }
                if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
                let finalRequest = request
                return .yield {
                    do {
                        let response = try await client.execute(finalRequest, timeout: .milliseconds(Int64(timeout * 1000)))
                        let bytes = try await response.body.collect(upTo: 16 << 20)
                        var headerFields: [(String, LuaValue)] = []
                        for header in response.headers {
                            let name = header.name.lowercased()
                            if let index = headerFields.firstIndex(where: { $0.0 == name }), case .string(let existing) = headerFields[index].1 {
                                headerFields[index].1 = .string(existing + ", " + header.value)
                            } else {
                                headerFields.append((name, .string(header.value)))
                            }
                        }
                        return .values([.table([
                            ("status", .integer(Int64(response.status.code))),
                            ("headers", .table(headerFields)),
                            ("body", .bytes(Array(bytes.readableBytesView))),
                        ])])
                    } catch {
                        return .values([.nil, .string("http.request failed: \(Self.describe(error))")])
                    }
                }
            },
        ]))
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

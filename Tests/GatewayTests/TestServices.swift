import Foundation
import Gateway
import HTTPTypes
import HummingbirdCore
import ServiceKit

/// A Swift service for gateway tests: echoes what it received.
struct EchoService: Service {
    let name = "echo"

    var routes: ServiceRoutes {
        var routes = ServiceRoutes()
        let echo: ServiceHandler = { request in
            let body = try await request.collectBody()
            var headers = JSONObject()
            for field in request.headers { headers[field.name.canonicalName] = .string(field.value) }
            return .json([
                "method": .string(request.method.rawValue),
                "path": .string(request.path),
                "public_path": .string(request.publicPath),
                "query": JSONValue(request.query),
                "params": .object(JSONObject(request.params.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
                "user": request.user.map { ["id": .string($0.id), "role": .string($0.role)] } ?? .null,
                "headers": .object(headers),
                "body_length": .int(Int64(body.count)),
                "request_id": .string(request.requestID),
            ])
        }
        routes.get("/echo", OperationInfo(summary: "Echo"), handler: echo)
        routes.post("/echo", handler: echo)
        routes.get("/items/{id}", OperationInfo(summary: "One item"), handler: echo)
        routes.get("/items/special", handler: { _ in .json(["special": true]) })
        routes.get("/slow") { _ in
            try await Task.sleep(for: .seconds(5))
            return .json(["slow": true])
        }
        routes.get("/fail") { _ in throw CocoaError(.fileNoSuchFile) }
        routes.get("/teapot") { _ in throw ServiceError(.init(code: 418), "I'm a teapot", extra: ["hint": "tea"]) }
        return routes
    }
}


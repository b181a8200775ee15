import HTTPTypes
import ServiceKit

/// Builds the OpenAPI 3.1 document from the route table and the operations each service declares.
struct OpenAPIDocument {
    let config: GatewayConfig
    let version: String

    /// One public operation.
    struct Operation {
        let method: String
        let path: String
        let summary: String
        let service: String
        let kind: String
        let auth: Policy.Auth
        let roles: [String]?
        let consent: String?
        let aliasOf: String?
        let parameters: [String]
    }

    func operations() -> [Operation] {
        var result: [Operation] = []
        var seen: Set<String> = []
        func add(_ operation: Operation) {
            guard seen.insert(operation.method + " " + operation.path).inserted else { return }
            result.append(operation)
        }
        for entry in config.routes.entries {
            let declared = declaredOperations(entry.target)
            switch entry.match {
            case .prefix(let prefix):
                if case .upstream = entry.target {
                    let path = (prefix == "/" ? "" : prefix) + "/{path}"
                    for method in entry.methods?.map(\.rawValue) ?? ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                        add(operation(entry, method: method, path: path, summary: "Forwarded to \(entry.serviceName)", aliasOf: nil))
                    }
                    continue
                }
                for (method, servicePath, summary) in declared where entry.methods?.contains(where: { $0.rawValue == method }) ?? true {
                    let publicPath: String
                    if let rewrite = entry.rewrite {
                        guard servicePath == rewrite || servicePath.hasPrefix(rewrite == "/" ? "/" : rewrite + "/") else { continue }
                        publicPath = join(prefix, String(servicePath.dropFirst(rewrite == "/" ? 0 : rewrite.count)))
                    } else if entry.stripPrefix {
                        publicPath = join(prefix, servicePath)
                    } else {
                        guard servicePath == prefix || servicePath.hasPrefix(prefix + "/") else { continue }
                        publicPath = servicePath
                    }
                    let alias = entry.rewrite != nil ? canonicalPath(service: entry.serviceName, servicePath: servicePath, excluding: entry) : nil
                    add(operation(entry, method: method, path: publicPath, summary: summary, aliasOf: alias))
                }
            case .exact, .template:
                let publicPath = entry.match.description
                let targetPath = entry.rewrite ?? publicPath
                let targetTemplate = try? PathTemplate(targetPath)
                for (method, servicePath, summary) in declared where entry.methods?.contains(where: { $0.rawValue == method }) ?? true {
                    guard let serviceTemplate = try? PathTemplate(servicePath), let targetTemplate, serviceTemplate.overlaps(targetTemplate) else { continue }
                    let alias = entry.rewrite != nil ? canonicalPath(service: entry.serviceName, servicePath: servicePath, excluding: entry) : nil
                    add(operation(entry, method: method, path: publicPath, summary: summary, aliasOf: alias))
                }
                if case .upstream = entry.target {
                    for method in entry.methods?.map(\.rawValue) ?? ["GET"] {
                        add(operation(entry, method: method, path: publicPath, summary: "Forwarded to \(entry.serviceName)", aliasOf: nil))
                    }
                }
            }
        }
        return result
    }

    func join(_ prefix: String, _ path: String) -> String {
        let base = prefix == "/" ? "" : prefix
        if path == "/" || path.isEmpty { return base.isEmpty ? "/" : base }
        return base + path
    }

    /// The public path of a service operation under the service's main (non-rewritten) prefix.
    func canonicalPath(service: String, servicePath: String, excluding: RouteEntry) -> String? {
        for entry in config.routes.entries where entry.serviceName == service && entry.rewrite == nil {
            if case .prefix(let prefix) = entry.match, entry.stripPrefix { return join(prefix, servicePath) }
        }
        return nil
    }

    func declaredOperations(_ target: RouteTarget) -> [(String, String, String)] {
        switch target {
        case .swift(let service):
            return service.routes.routes.map { ($0.method.rawValue, $0.template.description, $0.info.summary) }
        case .lua(let lua):
            return lua.declaration.routes.map { ($0.method, $0.path, $0.summary ?? "") }
        case .upstream:
            return []
        }
    }

    func operation(_ entry: RouteEntry, method: String, path: String, summary: String, aliasOf: String?) -> Operation {
        let parameters = (try? PathTemplate(path))?.parameterNames ?? []
        return Operation(
            method: method, path: path, summary: summary, service: entry.serviceName, kind: entry.target.kind, auth: entry.policy.auth,
            roles: entry.policy.roles, consent: entry.policy.consent, aliasOf: aliasOf, parameters: parameters)
    }

    func build() -> JSONValue {
        var paths = JSONObject()
        var usedIDs: Set<String> = []
        for op in operations() {
            var item = paths[op.path]?.objectValue ?? JSONObject()
            var operation: JSONObject = [:]
            var id = op.method.lowercased() + op.path.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            while !usedIDs.insert(id).inserted { id += "_" }
            operation["operationId"] = .string(id)
            operation["summary"] = .string(op.summary.isEmpty ? "\(op.method) \(op.path)" : op.summary)
            operation["tags"] = [.string(op.service)]
            var notes: [String] = ["Served by \(op.service) (\(op.kind))."]
            switch op.auth {
            case .none: notes.append("Public.")
            case .optional: notes.append("Optional bearer token.")
            case .jwt: notes.append("Bearer token required.")
            }
            if let roles = op.roles { notes.append("Roles: \(roles.joined(separator: ", ")).") }
            if let consent = op.consent { notes.append("Consent: \(consent).") }
            if let alias = op.aliasOf { notes.append("Alias of \(alias).") }
            operation["description"] = .string(notes.joined(separator: " "))
            if op.auth != .none { operation["security"] = [["bearerAuth": []]] }
            if !op.parameters.isEmpty {
                operation["parameters"] = .array(op.parameters.map {
                    ["name": .string($0), "in": "path", "required": true, "schema": ["type": "string"]]
                })
            }
            operation["responses"] = [
                "200": ["description": "Success", "content": ["application/json": ["schema": ["type": "object"]]]],
                "default": ["description": "Error", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]],
            ]
            item[op.method.lowercased()] = .object(operation)
            paths[op.path] = .object(item)
        }
        for (path, summary) in [("/", "Gateway summary"), ("/health", "Gateway and service health"), ("/services", "Routed services"),
                                ("/openapi.json", "This document"), ("/docs", "Swagger UI"), ("/redoc", "ReDoc")] {
            let id = "gateway" + path.map { $0.isLetter ? String($0) : "_" }.joined()
            paths[path] = ["get": ["operationId": .string(id), "summary": .string(summary), "tags": ["gateway"],
                                   "responses": ["200": ["description": "Success"]]]]
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": "MySehat Healthcare Gateway", "version": .string(version),
                     "description": "One public origin for auth, consent, diagnostics, medicine reminders, mental health, SOS, FHIR and health records."],
            "paths": .object(paths),
            "components": [
                "securitySchemes": ["bearerAuth": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
                "schemas": ["Error": ["type": "object", "properties": ["detail": [:], "request_id": ["type": "string"]], "required": ["detail"]]],
            ],
        ]
    }
}

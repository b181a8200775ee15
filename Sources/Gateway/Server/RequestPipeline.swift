import HTTPTypes
import HummingbirdCore
import Logging
import LuaRuntime
import NIOCore
import ServiceKit

/// What the pipeline knows about a request once it is accepted.
struct RequestContext: Sendable {
    let requestID: String
    let method: HTTPRequest.Method
    let rawPath: String
    let query: String?
    let rawSegments: [Substring]
    let segments: [Substring]
    let clientIP: String
    let publicScheme: String
    let started: ContinuousClock.Instant

    var path: String { "/" + segments.joined(separator: "/") }
}

/// The request path of the gateway (DESIGN.md): request id, gateway endpoints, CORS preflight,
/// route match, policy, target, response headers, access log.
public struct RequestPipeline: Sendable {
    let runtime: GatewayRuntime
    let endpoints: GatewayEndpoints
    let accessLog: AccessLog

    public init(runtime: GatewayRuntime) {
        self.runtime = runtime
        self.endpoints = GatewayEndpoints(runtime: runtime)
        self.accessLog = AccessLog(isEnabled: runtime.settings.accessLog && runtime.logger.logLevel <= .info, label: runtime.logger.label)
    }

    public func handle(_ request: Request, remoteAddress: SocketAddress?) async -> Response {
        let started = ContinuousClock.now
        let head = request.head
        let requestID = RequestID.accept(head.headerFields[.xRequestID])
        let config = runtime.config
        let cors = CORSResponder(policy: config.cors)
        let (clientIP, scheme) = ClientAddress.resolve(peer: remoteAddress, headers: head.headerFields, trusted: runtime.settings.trustedProxies)

        let origin = head.headerFields[CORSResponder.origin]
        let hadToken = head.headerFields[.authorization] != nil
        guard let context = Self.context(head, requestID: requestID, clientIP: clientIP, scheme: scheme, started: started) else {
            // A path that does not decode: answered like any error, logged with the raw target.
            let context = RequestContext(
                requestID: requestID, method: head.method, rawPath: head.path ?? "", query: nil, rawSegments: [], segments: [],
                clientIP: clientIP, publicScheme: scheme, started: started)
            let response = ErrorRenderer.response(for: ServiceError(.badRequest, "Invalid request path"), requestID: requestID)
            return finish(response, context: context, cors: cors, origin: origin, hadToken: hadToken)
        }
        if HeaderSize.bytes(of: head.headerFields) > runtime.settings.maxHeaderBytes {
            let response = ErrorRenderer.response(for: ServiceError(.init(code: 431), "Request header fields too large"), requestID: requestID)
            return finish(response, context: context, cors: cors, origin: origin, hadToken: hadToken)
        }
        // Preflights are answered before any policy or target runs.
        if CORSResponder.isPreflight(head) {
            let response: Response
            switch cors.preflight(head) {
            case .success(let headers): response = Response(status: .noContent, headers: headers)
            case .failure(let error): response = ErrorRenderer.response(for: error, requestID: requestID)
            }
            return finish(response, context: context, cors: nil, origin: nil, hadToken: false)
        }
        let response: Response
        if let answer = await endpoints.respond(context, config: config) {
            response = answer
        } else {
            response = await route(request, context: context, config: config)
        }
        return finish(response, context: context, cors: cors, origin: origin, hadToken: hadToken)
    }

    static func context(_ head: HTTPRequest, requestID: String, clientIP: String, scheme: String, started: ContinuousClock.Instant) -> RequestContext? {
        let target = head.path ?? "/"
        let pathPart: Substring
        let query: String?
        if let mark = target.firstIndex(of: "?") {
            pathPart = target[..<mark]
            query = String(target[target.index(after: mark)...])
        } else {
            pathPart = Substring(target)
            query = nil
        }
        guard pathPart.hasPrefix("/") else { return nil }
        let raw = PathTemplate.split(pathPart)
        var decoded: [Substring] = []
        decoded.reserveCapacity(raw.count)
        for segment in raw {
            guard segment.utf8.contains(UInt8(ascii: "%")) else {
                decoded.append(segment)
                continue
            }
            guard let value = QueryString.percentDecode(segment) else { return nil }
            decoded.append(Substring(value))
        }
        return RequestContext(
            requestID: requestID, method: head.method, rawPath: String(pathPart), query: query, rawSegments: raw, segments: decoded,
            clientIP: clientIP, publicScheme: scheme, started: started)
    }

    /// Response headers every answer gets, and the access log line.
    func finish(_ response: Response, context: RequestContext, cors: CORSResponder?, origin: String?, hadToken: Bool) -> Response {
        var response = response
        var headers = response.headers
        headers[.xRequestID] = context.requestID
        SecurityHeaders.apply(to: &headers)
        if runtime.settings.production && context.publicScheme == "https" {
            headers[.strictTransportSecurity] = "max-age=31536000"
        }
        cors?.decorate(&headers, origin: origin)
        if headers[.cacheControl] == nil && (hadToken || context.path.hasPrefix("/api/v1")) {
            headers[.cacheControl] = "no-store"
        }
        response.headers = headers
        if context.method == .head {
            response.body = ResponseBody()
        }
        accessLog.record(
            method: context.method, path: context.rawPath, status: response.status.code, elapsed: ContinuousClock.now - context.started,
            requestID: context.requestID, clientIP: context.clientIP)
        return response
    }

    // MARK: Routing

    func route(_ request: Request, context: RequestContext, config: GatewayConfig) async -> Response {
        switch config.routes.match(method: context.method, segments: context.segments) {
        case .notFound:
            return ErrorRenderer.response(for: .notFound, requestID: context.requestID)
        case .methodNotAllowed(let allow):
            if context.method == .options { return Self.optionsAnswer(allow) }
            return ErrorRenderer.response(for: .methodNotAllowed(allow: allow), requestID: context.requestID)
        case .found(let entry, let params):
            let format = entry.policy.errorFormat
            do {
                return try await serve(request, entry: entry, params: params, context: context, config: config)
            } catch let error as ServiceError {
                return ErrorRenderer.response(for: error, requestID: context.requestID, format: format)
            } catch {
                runtime.logger.error("request failed: \(error)", metadata: ["request_id": .string(context.requestID), "service": .string(entry.serviceName)])
                return ErrorRenderer.response(for: .internalError, requestID: context.requestID, format: format)
            }
        }
    }

    static func optionsAnswer(_ allow: [HTTPRequest.Method]) -> Response {
        var methods = allow.map(\.rawValue)
        if !methods.contains("OPTIONS") { methods.append("OPTIONS") }
        return Response(status: .noContent, headers: [.allow: methods.joined(separator: ", ")])
    }

    func serve(_ request: Request, entry: RouteEntry, params: [String: String], context: RequestContext, config: GatewayConfig) async throws -> Response {
        let policy = entry.policy
        let headers = request.head.headerFields

        // Size limit: a declared length is checked before reading anything.
        if let length = headers[.contentLength].flatMap(Int.init), length > policy.maxBody { throw ServiceError.bodyTooLarge }
        let tripwire = LimitedBody.Tripwire()
        var body = RequestBody(asyncSequence: LimitedBody(base: request.body, limit: policy.maxBody, tripwire: tripwire))

        // Limits keyed by a body field (e.g. the phone number of a login) need the body first;
        // such routes take small JSON bodies, which are then replayed to the target.
        var bodyJSON: JSONValue?
        if policy.rateLimits.contains(where: { if case .bodyField = $0.key { true } else { false } }) {
            var buffer = ByteBuffer()
            for try await chunk in body { buffer.writeImmutableBuffer(chunk) }
            bodyJSON = try? JSON.decode(buffer.readableBytesView)
            body = RequestBody(buffer: buffer)
        }

        let admission = try await PolicyEnforcer(runtime: runtime, policy: policy, entry: entry, context: context)
            .enforce(headers: headers, body: bodyJSON)
        let user = admission.user
        if let access = policy.access,
            let answer = try await runAccessHook(access, entry: entry, params: params, context: context, headers: headers, user: user, pool: config.lua)
        {
            return answer
        }
        var response = try await dispatch(request, entry: entry, params: params, context: context, config: config, headers: headers,
                                          body: body, user: user, tripwire: tripwire)
        for field in admission.rateLimitHeaders { response.headers[field.name] = field.value }
        if let resourceType = policy.audit, let user {
            try await auditRouteAccess(resourceType: resourceType, entry: entry, context: context, user: user, status: response.status.code)
        }
        return response
    }

    /// `audit = "resource_type"` on a policy: one row per request of a verified user, written
    /// before the response goes out (for proxied routes, the target cannot audit itself).
    func auditRouteAccess(resourceType: String, entry: RouteEntry, context: RequestContext, user: VerifiedUser, status: Int) async throws {
        guard let sink = runtime.audit else { throw ServiceError.unavailable(service: "audit") }
        let action: String
        switch context.method {
        case .get, .head: action = "read"
        case .post: action = "write"
        case .put, .patch: action = "update"
        case .delete: action = "delete"
        default: action = "read"
        }
        let event = AuditEvent(
            service: entry.serviceName, action: status == 403 ? "access_denied" : action, resourceType: resourceType, resourceID: context.path,
            userID: user.id, actorID: user.id, actorType: user.role, purpose: entry.policy.consent ?? "self", success: status < 400,
            errorMessage: status >= 400 ? "status_\(status)" : nil, requestID: context.requestID, ipAddress: context.clientIP)
        do {
            try await sink.record(event)
        } catch {
            runtime.logger.error("audit row could not be written; failing the request", metadata: ["request_id": .string(context.requestID)])
            throw ServiceError.internalError
        }
    }

    func dispatch(
        _ request: Request, entry: RouteEntry, params: [String: String], context: RequestContext, config: GatewayConfig,
        headers: HTTPFields, body: RequestBody, user: VerifiedUser?, tripwire: LimitedBody.Tripwire
    ) async throws -> Response {
        var headers = headers

        // Client-sent identity headers never reach a target.
        headers[.xUserID] = nil
        headers[.xUserRole] = nil

        do {
            switch entry.target {
            case .swift(let service):
                return try await serveSwift(service, entry: entry, params: params, context: context, headers: headers, body: body, user: user)
            case .lua(let target):
                return try await serveLua(target, pool: config.lua, entry: entry, params: params, context: context, headers: headers, body: body, user: user)
            case .upstream(let target, _):
                let proxyRequest = ProxyRequest(
                    method: context.method, targetPath: entry.targetPath(rawSegments: context.rawSegments, params: params), query: context.query,
                    headers: headers, body: body, publicPath: context.rawPath, publicPrefix: entry.stripPrefix ? entry.publicPrefix : "", clientIP: context.clientIP,
                    publicScheme: context.publicScheme, publicHost: request.head.authority, requestID: context.requestID, user: user)
                return try await runtime.upstream.forward(proxyRequest, to: target)
            }
        } catch {
            if tripwire.tripped { throw ServiceError.bodyTooLarge }
            throw error
        }
    }

    /// The policy's Lua `access` function: returning nothing lets the request through; returning
    /// `status, body[, headers]` answers it.
    func runAccessHook(
        _ access: LuaFunctionReference, entry: RouteEntry, params: [String: String], context: RequestContext, headers: HTTPFields,
        user: VerifiedUser?, pool: LuaWorkerPool
    ) async throws -> Response? {
        var visible = headers
        visible[.xUserID] = nil
        visible[.xUserRole] = nil
        let request = LuaRequest(
            method: context.method.rawValue, path: context.path, params: params, query: QueryString.parse(context.query),
            headers: LuaHeaders.lowercased(visible), body: [], user: user, requestID: context.requestID, clientIP: context.clientIP,
            deadlineNanoseconds: LuaClock.deadline(after: entry.timeout))
        guard let outcome = await pool.next().callFunction(file: access.file, path: access.path, request: request) else {
            runtime.logger.error("access hook not found", metadata: ["file": .string(access.file)])
            throw ServiceError.internalError
        }
        if case .response(let answer) = outcome, answer.status == 0 { return nil }
        return try LuaOutcomeMapper(logger: runtime.logger, serviceName: entry.serviceName, luaService: access.file, handlerName: "access",
                                    requestID: context.requestID).response(for: outcome)
    }

    // MARK: Swift targets

    func serveSwift(
        _ service: any Service, entry: RouteEntry, params: [String: String], context: RequestContext, headers: HTTPFields, body: RequestBody,
        user: VerifiedUser?
    ) async throws -> Response {
        let path = entry.targetPath(rawSegments: context.segments, params: params)
        switch service.routes.match(method: context.method, path: path) {
        case .notFound:
            throw ServiceError.notFound
        case .methodNotAllowed(let allow):
            if context.method == .options { return Self.optionsAnswer(allow) }
            throw ServiceError.methodNotAllowed(allow: allow)
        case .found(let route, let routeParams):
            // The base logger as it is: setting metadata per request re-renders the handler's
            // metadata each time. Services log `req.requestID` where it matters.
            let logger = runtime.logger
            let serviceRequest = ServiceRequest(
                method: context.method, path: path, publicPath: context.path, query: context.query, headers: headers, body: body,
                params: params.merging(routeParams) { _, new in new }, user: user, requestID: context.requestID, clientIP: context.clientIP,
                maxBodySize: entry.policy.maxBody, logger: logger)
            let handler = route.handler
            return try await withDeadline(entry.timeout, onTimeout: ServiceError.timedOut(service: entry.serviceName)) {
                try await handler(serviceRequest)
            }
        }
    }

    // MARK: Lua targets

    func serveLua(
        _ target: LuaServiceTarget, pool: LuaWorkerPool, entry: RouteEntry, params: [String: String], context: RequestContext,
        headers: HTTPFields, body: RequestBody, user: VerifiedUser?
    ) async throws -> Response {
        let path = entry.targetPath(rawSegments: context.segments, params: params)
        switch target.matcher.match(method: context.method, path: path) {
        case .notFound:
            throw ServiceError.notFound
        case .methodNotAllowed(let allow):
            if context.method == .options { return Self.optionsAnswer(allow) }
            throw ServiceError.methodNotAllowed(allow: allow)
        case .found(let routeIndex, let routeParams):
            var bytes: [UInt8] = []
            for try await chunk in body { bytes.append(contentsOf: chunk.readableBytesView) }
            let route = target.declaration.routes[routeIndex]
            let deadline = LuaClock.deadline(after: entry.timeout)
            let luaRequest = LuaRequest(
                method: context.method.rawValue, path: path, params: params.merging(routeParams) { _, new in new },
                query: QueryString.parse(context.query), headers: LuaHeaders.lowercased(headers), body: bytes, user: user,
                requestID: context.requestID, clientIP: context.clientIP, deadlineNanoseconds: deadline)
            let handlerName = "\(route.method) \(route.path)"
            let outcome = await pool.next().handle(service: target.declaration.name, route: routeIndex, handlerName: handlerName, request: luaRequest)
            return try LuaOutcomeMapper(logger: runtime.logger, serviceName: entry.serviceName, luaService: target.declaration.name,
                                        handlerName: handlerName, requestID: context.requestID).response(for: outcome)
        }
    }
}

/// Request headers as Lua sees them: lower-case names, repeated values joined with ", ".
enum LuaHeaders {
    static func lowercased(_ headers: HTTPFields) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        var positions: [String: Int] = [:]
        for field in headers {
            let name = field.name.canonicalName
            if let position = positions[name] {
                result[position].value += ", " + field.value
            } else {
                positions[name] = result.count
                result.append((name, field.value))
            }
        }
        return result
    }
}

/// Turns a Lua handler's outcome into a response; logs script errors and budget kills with the
/// service and handler, never sending their details to the client.
struct LuaOutcomeMapper {
    let logger: Logger
    let serviceName: String
    let luaService: String
    let handlerName: String
    let requestID: String

    func response(for outcome: LuaOutcome) throws -> Response {
        let metadata: Logger.Metadata = ["request_id": .string(requestID), "service": .string(luaService), "handler": .string(handlerName)]
        switch outcome {
        case .response(let answer) where answer.status == 0:
            logger.error("Lua handler returned no status code", metadata: metadata)
            throw ServiceError.internalError
        case .response(let answer):
            var headers = HTTPFields()
            for (name, value) in answer.headers {
                if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
            }
            switch answer.body {
            case .none:
                return Response(status: .init(code: answer.status), headers: headers)
            case .json(let value):
                var response = Response.json(value, status: .init(code: answer.status), headers: headers)
                if let type = headers[.contentType] { response.headers[.contentType] = type }
                return response
            case .bytes(let bytes):
                return Response.bytes(bytes, contentType: headers[.contentType] ?? "text/plain; charset=utf-8", status: .init(code: answer.status), headers: headers)
            }
        case .scriptError(let message, let traceback):
            logger.error("Lua script error: \(message)\n\(traceback)", metadata: metadata)
            throw ServiceError.internalError
        case .killed(let kill):
            logger.error("Lua request killed: \(kill.rawValue) exceeded", metadata: metadata.merging(["budget": .string(kill.rawValue)]) { a, _ in a })
            if kill == .deadline { throw ServiceError.timedOut(service: serviceName) }
            throw ServiceError.internalError
        case .aborted(let error):
            throw error
        }
    }
}

/// The security headers of 00-conventions §6.
enum SecurityHeaders {
    static func apply(to headers: inout HTTPFields) {
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
        headers[.xFrameOptions] = "DENY"
    }
}

/// Size of a header block as it was sent (names, values, separators).
enum HeaderSize {
    static func bytes(of headers: HTTPFields) -> Int {
        var total = 0
        for field in headers { total += field.name.rawName.utf8.count + field.value.utf8.count + 4 }
        return total
    }
}

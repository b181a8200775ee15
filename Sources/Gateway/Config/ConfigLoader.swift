import Foundation
import HTTPTypes
import Logging
import LuaRuntime
import ServiceKit

/// Applies a Lua service's migrations, refusing any its table rule does not allow
/// (usually `TableAccessRule.migrate(_:on:)`).
public typealias LuaMigrator = @Sendable (_ rule: TableAccessRule, _ migrations: [String]) async throws -> Void

/// Reads and validates the config folder (routes/, policies/, services/) into a `GatewayConfig`.
/// The same code serves `mysehat check`, startup and every reload.
public struct ConfigLoader: Sendable {
    public let directory: String
    public let swiftServices: [String: any Service]
    public let production: Bool
    public let luaLimits: LuaLimits
    public let luaPrimitives: LuaPrimitives
    public let luaWorkers: Int
    /// Applies a Lua service's `service:migrate{...}` list (recorded under the service name), each
    /// migration refused unless the service's table rule allows it.
    public let luaMigrator: LuaMigrator?
    public let logger: Logger

    public init(
        directory: String, swiftServices: [any Service], production: Bool, luaLimits: LuaLimits = .init(),
        luaPrimitives: LuaPrimitives = .init(), luaWorkers: Int = ProcessInfo.processInfo.activeProcessorCount,
        luaMigrator: LuaMigrator? = nil, logger: Logger
    ) {
        self.luaMigrator = luaMigrator
        self.directory = directory
        self.swiftServices = Dictionary(swiftServices.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.production = production
        self.luaLimits = luaLimits
        self.luaPrimitives = luaPrimitives
        self.luaWorkers = luaWorkers
        self.logger = logger
    }

    /// The Lua files, in load order: policies, routes, services (each folder sorted by name).
    /// Files in subfolders of services/ (such as services/lib/) are modules for `require`.
    public func sourceFiles() throws -> [LuaSourceFile] {
        var files: [LuaSourceFile] = []
        for (folder, role) in [("policies", LuaSourceFile.Role.policy), ("routes", .route), ("services", .service)] {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(folder)
            guard let enumerator = FileManager.default.enumerator(atPath: url.path) else { continue }
            var paths: [String] = []
            for case let path as String in enumerator where path.hasSuffix(".lua") { paths.append(path) }
            for path in paths.sorted() {
                let nested = path.contains("/")
                if nested && role != .service { continue }
                let code = try String(contentsOf: url.appendingPathComponent(path), encoding: .utf8)
                files.append(LuaSourceFile(path: "\(folder)/\(path)", role: nested ? .module : role, code: code))
            }
        }
        return files
    }

    /// Every file whose change should trigger a reload (including Lua modules under services/ and
    /// the JSON data files services read with `files.read`).
    public func watchedFiles() -> [String] {
        var result: [String] = []
        for folder in ["policies", "routes", "services"] {
            let root = URL(fileURLWithPath: directory).appendingPathComponent(folder).path
            guard let enumerator = FileManager.default.enumerator(atPath: root) else { continue }
            for case let path as String in enumerator where path.hasSuffix(".lua") || (folder == "services" && path.hasSuffix(".json")) {
                result.append(root + "/" + path)
            }
        }
        return result.sorted()
    }

    /// Runs the migrations the loaded Lua services declare, before their generation serves.
    public func migrate(_ config: GatewayConfig) async throws(ConfigError) {
        guard let luaMigrator else { return }
        for service in config.lua.loadReport.services where !service.migrations.isEmpty {
            do {
                try await luaMigrator(service.tableAccessRule, service.migrations)
            } catch {
                throw ConfigError(issues: [ConfigIssue(location: SourceLocation(file: service.file, line: nil), message: "migration failed: \(error)")])
            }
        }
    }

    public func load(generation: Int) throws(ConfigError) -> GatewayConfig {
        let files: [LuaSourceFile]
        do {
            files = try sourceFiles()
        } catch {
            throw ConfigError(issues: [ConfigIssue(location: SourceLocation(file: directory, line: nil), message: "cannot read: \(error)")])
        }
        let pool: LuaWorkerPool
        do {
            pool = try LuaWorkerPool(files: files, count: luaWorkers, limits: luaLimits, primitives: luaPrimitives, logger: logger)
        } catch let error as LuaLoadError {
            throw ConfigError(issues: [ConfigIssue(location: SourceLocation(file: error.file, line: error.line), message: error.message)])
        } catch {
            throw ConfigError(issues: [ConfigIssue(location: SourceLocation(file: "lua", line: nil), message: "\(error)")])
        }
        var builder = ConfigBuilder(
            report: pool.loadReport, sourceIndex: SourceIndex(files: files.map { ($0.path, $0.code) }),
            swiftServices: swiftServices, production: production)
        builder.build()
        guard builder.issues.isEmpty else { throw ConfigError(issues: builder.issues) }
        return GatewayConfig(
            generation: generation, loadedAt: Instant.now(), routes: RouteTable(entries: builder.entries),
            policies: builder.policies, cors: builder.cors, lua: pool, warnings: builder.warnings,
            sourceFiles: files.map(\.path))
    }
}

/// Turns the values the Lua files returned into typed, checked configuration.
struct ConfigBuilder {
    let report: LuaLoadReport
    var sourceIndex: SourceIndex
    let swiftServices: [String: any Service]
    let production: Bool

    var issues: [ConfigIssue] = []
    var warnings: [ConfigIssue] = []
    var policies: [String: Policy] = [:]
    var cors: CORSPolicy
    var entries: [RouteEntry] = []
    /// Optional routes skipped because their service is not built in, per service.
    var waiting: [String: (location: SourceLocation, count: Int)] = [:]

    init(report: LuaLoadReport, sourceIndex: SourceIndex, swiftServices: [String: any Service], production: Bool) {
        self.report = report
        self.sourceIndex = sourceIndex
        self.swiftServices = swiftServices
        self.production = production
        self.cors = .defaults(production: production)
    }

    mutating func build() {
        for result in report.fileResults where result.role == .policy {
            if result.file == "policies/cors.lua" {
                readCORS(result.value, file: result.file)
            } else {
                readPolicies(result.value, file: result.file)
            }
        }
        for result in report.fileResults where result.role == .route {
            guard case .array(let items) = result.value else {
                if result.value != .object([:]) {
                    issues.append(ConfigIssue(location: .init(file: result.file, line: nil), message: "a routing table must return a list of routes"))
                }
                continue
            }
            for (index, item) in items.enumerated() {
                if let entry = readRoute(item, file: result.file, index: index + 1) { entries.append(entry) }
            }
        }
        for (service, skipped) in waiting.sorted(by: { $0.key < $1.key }) {
            warnings.append(ConfigIssue(location: skipped.location, message: "\(skipped.count) optional route(s) wait for service '\(service)', which is not available"))
        }
        checkTies()
        checkHiddenRoutes()
        checkUnroutedLuaServices()
    }

    // MARK: Policies

    mutating func readPolicies(_ value: JSONValue, file: String) {
        guard case .object(let named) = value else {
            issues.append(ConfigIssue(location: .init(file: file, line: nil), message: "a policy file must return a table of named policies"))
            return
        }
        for (name, body) in named {
            let location = sourceIndex.location(in: file, of: nil)
            if policies[name] != nil {
                issues.append(ConfigIssue(location: location, message: "policy '\(name)' is defined twice"))
                continue
            }
            if let policy = readPolicy(body, location: SourceLocation(file: file, line: lineOfKey(name, in: file) ?? location.line), what: "policy '\(name)'") {
                policies[name] = policy
            }
        }
    }

    func lineOfKey(_ key: String, in file: String) -> Int? {
        guard let lines = sourceIndex.lines[file] else { return nil }
        for (index, line) in lines.enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.hasPrefix(key + " ") || trimmed.hasPrefix(key + "=") || trimmed.hasPrefix("[\"\(key)\"]") { return index + 1 }
        }
        return nil
    }

    mutating func readPolicy(_ value: JSONValue, location: SourceLocation, what: String) -> Policy? {
        var reader = ConfigValueReader(value, location: location, what: what, issues: &issues)
        reader.rejectUnknownKeys(["auth", "roles", "rate_limit", "max_body", "consent", "access", "audit", "errors", "timeout"])
        var policy = Policy()
        if let auth = reader.string("auth") {
            if let parsed = Policy.Auth(rawValue: auth) { policy.auth = parsed } else { reader.fail("auth must be \"none\", \"optional\" or \"jwt\"") }
        }
        if let roles = reader.stringList("roles") {
            let known: Set = ["patient", "clinician", "responder", "admin"]
            for role in roles where !known.contains(role) { reader.fail("unknown role '\(role)'") }
            policy.roles = roles
            if policy.auth == .none { reader.fail("roles need auth = \"jwt\"") }
        }
        if let rateLimit = reader.object["rate_limit"], rateLimit != .null {
            let rules: [JSONValue] = rateLimit.arrayValue ?? [rateLimit]
            for rule in rules {
                if let parsed = readRateLimit(rule, location: location, what: "\(what) rate_limit") { policy.rateLimits.append(parsed) }
            }
        }
        if let size = reader.byteSize("max_body") { policy.maxBody = size }
        policy.consent = reader.string("consent")
        if policy.consent != nil && policy.auth == .none { reader.fail("consent needs auth = \"jwt\" or \"optional\"") }
        if let access = reader.object["access"], access != .null {
            if let file = access["__lua_function"]?.stringValue, let path = access["path"]?.arrayValue {
                policy.access = LuaFunctionReference(file: file, path: path)
            } else {
                reader.fail("access must be a function")
            }
        }
        policy.audit = reader.string("audit")
        if let format = reader.string("errors") {
            if let parsed = Policy.ErrorFormat(rawValue: format) { policy.errorFormat = parsed } else { reader.fail("errors must be \"json\" or \"fhir\"") }
        }
        if let seconds = reader.number("timeout") {
            if seconds > 0 { policy.timeout = .milliseconds(Int64(seconds * 1000)) } else { reader.fail("timeout must be positive") }
        }
        issues.append(contentsOf: reader.issues)
        return reader.issues.isEmpty ? policy : nil
    }

    mutating func readRateLimit(_ value: JSONValue, location: SourceLocation, what: String) -> RateLimitRule? {
        var reader = ConfigValueReader(value, location: location, what: what, issues: &issues)
        reader.rejectUnknownKeys(["per_second", "per_minute", "per_hour", "limit", "period", "burst", "key", "message", "applies_to"])
        var limit: Int?
        var period: Double = 60
        if let n = reader.number("per_second") { limit = Int(n); period = 1 }
        if let n = reader.number("per_minute") { limit = Int(n); period = 60 }
        if let n = reader.number("per_hour") { limit = Int(n); period = 3600 }
        if let n = reader.number("limit") {
            limit = Int(n)
            period = reader.number("period") ?? 60
        }
        guard let limit, limit > 0, period > 0 else {
            reader.fail("needs a positive per_second, per_minute, per_hour or limit (+ period)")
            issues.append(contentsOf: reader.issues)
            return nil
        }
        var key = RateLimitRule.Key.ip
        switch reader.string("key") {
        case nil, "ip": key = .ip
        case "user": key = .user
        case "route": key = .route
        case let other?:
            if other.hasPrefix("body."), other.count > 5 { key = .bodyField(String(other.dropFirst(5))) } else {
                reader.fail("key must be \"ip\", \"user\", \"route\" or \"body.<field>\"")
            }
        }
        let burst = reader.number("burst").map { Int($0) } ?? limit
        let message = reader.string("message") ?? "Too many requests"
        var scope = RateLimitRule.Scope.all
        if let text = reader.string("applies_to") {
            if let parsed = RateLimitRule.Scope(rawValue: text) { scope = parsed } else { reader.fail("applies_to must be \"all\", \"anonymous\" or \"users\"") }
        }
        issues.append(contentsOf: reader.issues)
        guard reader.issues.isEmpty else { return nil }
        return RateLimitRule(limit: limit, period: period, burst: max(1, burst), key: key, message: message, scope: scope)
    }

    // MARK: CORS

    mutating func readCORS(_ value: JSONValue, file: String) {
        var reader = ConfigValueReader(value, location: .init(file: file, line: nil), what: "cors", issues: &issues)
        reader.rejectUnknownKeys(["origins", "allow_origins", "methods", "headers", "allow_headers", "expose_headers", "credentials",
                                  "allow_credentials", "max_age"])
        var policy = CORSPolicy.defaults(production: production)
        if let origins = reader.stringList("origins") ?? reader.stringList("allow_origins") {
            var rules: [CORSPolicy.OriginRule] = []
            for origin in origins {
                if origin == "*" {
                    rules.append(.any)
                } else if let range = origin.range(of: "://*.") {
                    let scheme = String(origin[..<range.lowerBound])
                    let suffix = "." + origin[range.upperBound...]
                    rules.append(.wildcard(scheme: scheme, suffix: suffix))
                } else if origin.contains("*") {
                    reader.fail("origin pattern '\(origin)' must look like https://*.example.org")
                } else {
                    rules.append(.exact(origin))
                }
            }
            policy.origins = rules
        }
        if let methods = reader.stringList("methods") { policy.methods = methods.map { $0.uppercased() } }
        if let headers = reader.stringList("headers") ?? reader.stringList("allow_headers") {
            policy.allowHeaders = headers.contains("*") ? nil : headers.map { $0.lowercased() }
        }
        if let expose = reader.stringList("expose_headers") { policy.exposeHeaders = expose }
        if let credentials = reader.bool("credentials") ?? reader.bool("allow_credentials") { policy.allowCredentials = credentials }
        if let maxAge = reader.number("max_age") { policy.maxAge = Int(maxAge) }
        if policy.allowCredentials && policy.origins.contains(.any) {
            reader.fail("'*' origins cannot be combined with credentials = true")
        }
        issues.append(contentsOf: reader.issues)
        if reader.issues.isEmpty { cors = policy }
    }

    // MARK: Routes

    static let routeKeys: Set<String> = [
        "prefix", "path", "methods", "policy", "service", "upstream", "strip_prefix", "timeout", "command", "health",
        "public_upstream", "rewrite", "name", "env", "summary", "optional",
    ]

    mutating func readRoute(_ value: JSONValue, file: String, index: Int) -> RouteEntry? {
        let label = value["prefix"]?.stringValue ?? value["path"]?.stringValue
        let location = sourceIndex.location(in: file, key: value["prefix"] != nil ? "prefix" : "path", of: label)
        var reader = ConfigValueReader(value, location: location, what: "route \(index)" + (label.map { " (\($0))" } ?? ""), issues: &issues)
        reader.rejectUnknownKeys(Self.routeKeys)
        defer { issues.append(contentsOf: reader.issues) }

        let prefix = reader.string("prefix")
        let path = reader.string("path")
        let match: RouteMatch
        switch (prefix, path) {
        case (let prefix?, nil):
            guard prefix.hasPrefix("/"), !prefix.contains("{") else {
                reader.fail("prefix must start with '/' and have no parameters")
                return nil
            }
            match = .prefix("/" + PathTemplate.split(prefix).joined(separator: "/"))
        case (nil, let path?):
            do {
                let template = try PathTemplate(path)
                match = template.hasParameters ? .template(template) : .exact(template.description)
            } catch {
                reader.fail(error.description)
                return nil
            }
        default:
            reader.fail("needs exactly one of 'prefix' or 'path'")
            return nil
        }

        var methods: [HTTPRequest.Method]?
        if let names = reader.stringList("methods") {
            methods = []
            for name in names {
                guard let method = HTTPRequest.Method(name.uppercased()) else {
                    reader.fail("unknown method '\(name)'")
                    continue
                }
                methods?.append(method)
            }
        }

        var policy = Policy.open
        var policyName: String?
        if let policyValue = reader.object["policy"], policyValue != .null {
            if let name = policyValue.stringValue {
                if let named = policies[name] {
                    policy = named
                    policyName = name
                } else {
                    reader.fail("unknown policy '\(name)' (defined: \(policies.keys.sorted().joined(separator: ", ")))")
                }
            } else if let inline = readPolicy(policyValue, location: location, what: "inline policy") {
                policy = inline
            }
        }

        let timeoutSeconds = reader.number("timeout") ?? 30
        if timeoutSeconds <= 0 { reader.fail("timeout must be positive") }
        let timeout = policy.timeout ?? .milliseconds(Int64(timeoutSeconds * 1000))
        let rewrite = reader.string("rewrite")
        if let rewrite, !rewrite.hasPrefix("/") { reader.fail("rewrite must start with '/'") }
        let stripPrefix = reader.bool("strip_prefix") ?? true

        let service = reader.string("service")
        let upstream = reader.string("upstream")
        // `optional = true`: the line waits for a service that is not built yet (a warning, not an error).
        if reader.bool("optional") == true, let service, !isAvailable(service) {
            waiting[service, default: (location, 0)].count += 1
            return nil
        }
        let target: RouteTarget
        let serviceName: String
        switch (service, upstream) {
        case (let service?, nil):
            for key in ["command", "health", "public_upstream", "env"] where reader.object[key] != nil {
                reader.fail("'\(key)' applies to upstream routes only")
            }
            if service.hasPrefix("lua:") {
                let name = String(service.dropFirst(4))
                guard let declaration = report.services.first(where: { $0.name == name }) else {
                    let known = report.services.map(\.name).joined(separator: ", ")
                    reader.fail("unknown Lua service '\(name)' (services/ declares: \(known.isEmpty ? "none" : known))")
                    return nil
                }
                var matcher = TemplateMatcher<Int>()
                for (index, route) in declaration.routes.enumerated() {
                    guard let method = HTTPRequest.Method(route.method) else { continue }
                    do {
                        matcher.add(method, try PathTemplate(route.path), index)
                    } catch {
                        issues.append(ConfigIssue(location: sourceIndex.location(in: declaration.file, of: route.path), message: error.description))
                    }
                }
                target = .lua(LuaServiceTarget(declaration: declaration, matcher: matcher))
                serviceName = reader.string("name") ?? name
            } else {
                guard let swiftService = swiftServices[service] else {
                    let known = swiftServices.keys.sorted().joined(separator: ", ")
                    reader.fail("unknown service '\(service)' (compiled in: \(known.isEmpty ? "none" : known); Lua services are named \"lua:NAME\")")
                    return nil
                }
                target = .swift(swiftService)
                serviceName = reader.string("name") ?? service
            }
        case (nil, let upstream?):
            guard let parsed = UpstreamURL(upstream) else {
                reader.fail("upstream '\(upstream)' must be an http:// URL with a host and port")
                return nil
            }
            let isPublic = reader.bool("public_upstream") ?? false
            if !parsed.isLoopback && !isPublic {
                reader.fail("upstream host '\(parsed.host)' is not a loopback address (set public_upstream = true to allow it)")
                return nil
            }
            if parsed.scheme == "https" && !isPublic {
                reader.fail("https upstreams must be public_upstream = true")
            }
            serviceName = reader.string("name") ?? Self.defaultName(for: match)
            var supervised: SupervisedCommand?
            if let command = reader.stringList("command") {
                guard !command.isEmpty else {
                    reader.fail("command must not be empty")
                    return nil
                }
                var environment: [String: String] = [:]
                if case .object(let env)? = reader.object["env"] {
                    for (key, value) in env {
                        if let text = value.stringValue { environment[key] = text } else if let number = value.intValue { environment[key] = String(number) } else {
                            reader.fail("env values must be strings")
                        }
                    }
                }
                supervised = SupervisedCommand(command: command, healthPath: reader.string("health") ?? "/health", environment: environment)
            } else if reader.object["health"] != nil {
                reader.fail("'health' needs a 'command' to supervise")
            }
            target = .upstream(
                UpstreamTarget(name: serviceName, scheme: parsed.scheme, host: parsed.host, port: parsed.port, basePath: parsed.basePath, timeout: timeout),
                supervised: supervised)
        default:
            reader.fail("needs exactly one of 'service' or 'upstream'")
            return nil
        }
        guard reader.issues.isEmpty else { return nil }
        return RouteEntry(
            match: match, methods: methods, policy: policy, policyName: policyName, target: target, serviceName: serviceName,
            stripPrefix: stripPrefix, rewrite: rewrite, timeout: timeout, location: location)
    }

    func isAvailable(_ service: String) -> Bool {
        if service.hasPrefix("lua:") { return report.services.contains { $0.name == service.dropFirst(4) } }
        return swiftServices[service] != nil
    }

    static func defaultName(for match: RouteMatch) -> String {
        switch match {
        case .exact(let path), .prefix(let path): PathTemplate.split(path).first.map(String.init) ?? "root"
        case .template(let template): template.segments.first.map { if case .literal(let s) = $0 { s } else { "upstream" } } ?? "upstream"
        }
    }

    // MARK: Checks

    /// Two routes that would answer the same request are an error.
    mutating func checkTies() {
        for i in entries.indices {
            for j in entries.indices where j > i {
                let a = entries[i], b = entries[j]
                guard methodsOverlap(a.methods, b.methods) else { continue }
                let tie: Bool
                switch (a.match, b.match) {
                case (.exact(let x), .exact(let y)), (.prefix(let x), .prefix(let y)): tie = x == y
                case (.template(let x), .template(let y)):
                    tie = x.overlaps(y) && !x.isMoreSpecific(than: y) && !y.isMoreSpecific(than: x)
                default: tie = false
                }
                if tie {
                    issues.append(ConfigIssue(location: b.location, message: "route \(b.match) ties with the route at \(a.location)"))
                }
            }
        }
    }

    func methodsOverlap(_ a: [HTTPRequest.Method]?, _ b: [HTTPRequest.Method]?) -> Bool {
        guard let a, let b else { return true }
        return !Set(a.map(\.rawValue)).isDisjoint(with: b.map(\.rawValue))
    }

    /// A parameterised route under a prefix route never wins (prefixes rank first): warn.
    mutating func checkHiddenRoutes() {
        for entry in entries {
            guard case .template(let template) = entry.match else { continue }
            let leadingLiterals = template.segments.prefix { if case .literal = $0 { true } else { false } }.map { segment -> Substring in
                if case .literal(let s) = segment { Substring(s) } else { "" }
            }
            for other in entries {
                guard case .prefix = other.match, methodsCover(other.methods, entry.methods) else { continue }
                let prefix = other.literalSegments
                if prefix.count <= leadingLiterals.count, zip(prefix, leadingLiterals).allSatisfy({ $0 == $1 }) {
                    warnings.append(ConfigIssue(location: entry.location, message: "route \(entry.match) is hidden by the prefix route \(other.match) at \(other.location) (prefixes rank before parameterised paths)"))
                    break
                }
            }
        }
        for entry in entries {
            guard case .exact(let path) = entry.match, entry.rewrite == nil,
                  entry.methods == nil, entries.contains(where: { if case .prefix = $0.match { $0.publicPrefix == path } else { false } })
            else { continue }
            warnings.append(ConfigIssue(location: entry.location, message: "route \(path) shadows the root of the prefix route with the same path"))
        }
    }

    func methodsCover(_ outer: [HTTPRequest.Method]?, _ inner: [HTTPRequest.Method]?) -> Bool {
        guard let outer else { return true }
        guard let inner else { return false }
        return Set(inner.map(\.rawValue)).isSubset(of: outer.map(\.rawValue))
    }

    mutating func checkUnroutedLuaServices() {
        for service in report.services {
            let routed = entries.contains { if case .lua(let target) = $0.target { target.declaration.name == service.name } else { false } }
            if !routed {
                warnings.append(ConfigIssue(location: .init(file: service.file, line: nil), message: "Lua service '\(service.name)' has no route"))
            }
        }
    }
}

/// `http://host:port/base` as routing tables write upstreams.
struct UpstreamURL {
    let scheme: String
    let host: String
    let port: Int
    let basePath: String

    init?(_ text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        let path = components.path
        self.basePath = path == "/" ? "" : (path.hasSuffix("/") ? String(path.dropLast()) : path)
    }

    var isLoopback: Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

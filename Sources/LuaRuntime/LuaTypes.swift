import Foundation
import ServiceKit

/// One Lua file of the configuration folder.
public struct LuaSourceFile: Sendable {
    public enum Role: String, Sendable {
        case route, policy, service
        /// A module `require` can load (files in subfolders of services/, e.g. services/lib/).
        case module
    }

    /// Path relative to the config folder, e.g. `services/sos.lua`; used as the chunk name, so
    /// errors and tracebacks name the file.
    public let path: String
    public let role: Role
    public let code: String

    public init(path: String, role: Role, code: String) {
        self.path = path
        self.role = role
        self.code = code
    }
}

/// Limits applied to every Lua state and request.
public struct LuaLimits: Sendable {
    /// VM instructions one request may run (counted in steps of 10 000).
    public var instructionBudget: Int64
    /// Bytes one state may hold.
    public var memoryLimit: Int

    public init(instructionBudget: Int64 = 50_000_000, memoryLimit: Int = 64 << 20) {
        self.instructionBudget = instructionBudget
        self.memoryLimit = memoryLimit
    }
}

/// A value handed back into Lua when a host operation finishes.
public enum LuaValue: Sendable {
    case `nil`
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case bytes([UInt8])
    case json(JSONValue)
    /// A table with string keys.
    case table([(String, LuaValue)])
    /// A sequence (carries the json.array metatable).
    case array([LuaValue])
}

/// How a yielded host operation ended: values for the script, or an error raised at the call site.
public enum HostOutcome: Sendable {
    case values([LuaValue])
    case raise(String)
}

/// A request as a Lua handler sees it (`req`).
public struct LuaRequest: Sendable {
    public var method: String
    public var path: String
    public var params: [String: String]
    public var query: [(name: String, value: String)]
    /// Lower-case names; repeated headers joined with ", ".
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var user: VerifiedUser?
    public var requestID: String
    public var clientIP: String
    /// The route's time limit, as an absolute monotonic time in nanoseconds (0 = none).
    public var deadlineNanoseconds: Int64

    public init(
        method: String, path: String, params: [String: String], query: [(name: String, value: String)],
        headers: [(name: String, value: String)], body: [UInt8], user: VerifiedUser?, requestID: String,
        clientIP: String, deadlineNanoseconds: Int64
    ) {
        self.method = method
        self.path = path
        self.params = params
        self.query = query
        self.headers = headers
        self.body = body
        self.user = user
        self.requestID = requestID
        self.clientIP = clientIP
        self.deadlineNanoseconds = deadlineNanoseconds
    }
}

/// What a Lua handler answered.
public struct LuaResponse: Sendable {
    public enum Body: Sendable {
        case none
        case json(JSONValue)
        case bytes([UInt8])
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// The end of one handler invocation.
public enum LuaOutcome: Sendable {
    case response(LuaResponse)
    /// A script error; the message and traceback go to the log, never to the client.
    case scriptError(message: String, traceback: String)
    /// The instruction budget, memory cap or deadline ended the request.
    case killed(LuaBudgetKill)
    /// A host primitive answered the request itself (e.g. 400 for `req:json()` on bad JSON).
    case aborted(ServiceError)
}

public enum LuaBudgetKill: String, Sendable {
    case instructions = "instruction budget"
    case memory = "memory limit"
    case deadline = "time limit"
}

/// A Lua service as declared by `service(name)` in a file of services/.
public struct LuaServiceDeclaration: Sendable {
    public struct Route: Sendable {
        public let method: String
        public let path: String
        public let summary: String?
    }

    public let name: String
    public let file: String
    public let routes: [Route]
    public let hasHealthCheck: Bool
    /// `service:migrate{...}`: version i is migrations[i - 1].
    public let migrations: [String]
    /// `service:on_export(fn)` / `service:on_erase(fn)` were declared.
    public let hasExportHook: Bool
    public let hasEraseHook: Bool
    /// `service:every(seconds, fn)`: the interval of each job, in seconds, in declaration order.
    public let jobIntervals: [Double]
    /// `service(name, { tables = ... })`: the tables it may use beyond its own.
    public let tableGrants: TableGrants

    /// What the service may do with the database's tables.
    public var tableAccessRule: TableAccessRule { TableAccessRule(service: name, grants: tableGrants) }
}

/// The user-rights hooks of a Lua service.
public enum LuaRightsHook: String, Sendable {
    case export = "export_hook"
    case erase = "erase_hook"
}

/// What loading a program reports: the services declared, and the value each route or policy
/// file returned (functions replaced by `{"__lua_function": "<file>", "path": [...]}`).
public struct LuaLoadReport: Sendable {
    public let services: [LuaServiceDeclaration]
    public let fileResults: [(file: String, role: LuaSourceFile.Role, value: JSONValue)]
}

/// A load failure, with the file and line when Lua gave them.
public struct LuaLoadError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let message: String

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }

    /// Splits Lua's `file:line: message` form.
    static func parse(_ raw: String, defaultFile: String) -> LuaLoadError {
        // Lua formats syntax errors as `[string "file"]:line:` or `file:line:`.
        var text = raw
        if text.hasPrefix("[string \""), let close = text.range(of: "\"]") {
            text = String(text[text.index(text.startIndex, offsetBy: 9)..<close.lowerBound]) + String(text[close.upperBound...])
        }
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        if parts.count == 3, let line = Int(parts[1]) {
            return LuaLoadError(file: String(parts[0]), line: line, message: parts[2].trimmingLeadingSpace())
        }
        return LuaLoadError(file: defaultFile, line: nil, message: raw)
    }
}

extension Substring {
    func trimmingLeadingSpace() -> String {
        String(drop { $0 == " " })
    }
}

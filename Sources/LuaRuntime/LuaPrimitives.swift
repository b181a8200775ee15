import CLua
import CLuaShim
import Logging
import ServiceKit

/// A named primitive table (`db`, `http`, ...) or function the host adds to the sandbox base.
public struct LuaPrimitive: Sendable {
    public enum Kind: Sendable {
        case function
        case module([String: LuaPrimitive])
    }

    let kind: Kind
    let body: (@Sendable (LuaStack, LuaStateContext) -> HostReturn)?

    init(function: @escaping @Sendable (LuaStack, LuaStateContext) -> HostReturn) {
        self.kind = .function
        self.body = function
    }

    init(module: [String: LuaPrimitive]) {
        self.kind = .module(module)
        self.body = nil
    }
}

/// The primitives every state gets beyond the built-in json and log. The runtime issue adds db,
/// http, groq, jwt, time, uuid, config and sleep here.
public struct LuaPrimitives: Sendable {
    var globals: [String: LuaPrimitive] = [:]

    public init() {}
}

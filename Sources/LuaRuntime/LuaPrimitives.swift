import CLua
import CLuaShim
import Logging
import ServiceKit
import Store

/// A named primitive table (`db`, `http`, ...) or function the host adds to the sandbox base.
public struct LuaPrimitive: Sendable {
    enum Kind: Sendable {
        case function(@Sendable (LuaStack, LuaStateContext) -> HostReturn)
        case module([String: LuaPrimitive])
    }

    let kind: Kind

    static func function(_ body: @escaping @Sendable (LuaStack, LuaStateContext) -> HostReturn) -> LuaPrimitive {
        LuaPrimitive(kind: .function(body))
    }

    static func module(_ members: [String: LuaPrimitive]) -> LuaPrimitive {
        LuaPrimitive(kind: .module(members))
    }
}

/// The primitives every state gets beyond the built-in json, log and require.
public struct LuaPrimitives: Sendable {
    var globals: [String: LuaPrimitive] = [:]
    /// The store `addDatabase` registered; other primitives that write run on it (or on the
    /// script's open transaction).
    var databaseStore: (any Store)?

    public init() {}

    /// Adds (or replaces) a global primitive.
    mutating func set(_ name: String, _ primitive: LuaPrimitive) {
        globals[name] = primitive
    }
}

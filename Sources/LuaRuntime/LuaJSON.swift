import CLua
import CLuaShim
import ServiceKit

/// Conversion between Lua values and `JSONValue`.
///
/// JSON `null` is `json.null` (a light userdata NULL); arrays carry the `json.array` metatable so
/// that an empty array survives a round trip. A table is encoded as an array when it has that
/// metatable, or when its keys are exactly 1...n (n > 0).
enum LuaJSON {
    struct ConversionError: Error, CustomStringConvertible {
        let description: String
    }

    /// Registry key of the array metatable.
    static let arrayMetatableKey = "mysehat.json.array"

    static func push(_ value: JSONValue, on stack: LuaStack) {
        switch value {
        case .null: lua_pushlightuserdata(stack.L, nil)
        case .bool(let b): stack.pushBool(b)
        case .int(let i): stack.pushInteger(i)
        case .double(let d): stack.pushNumber(d)
        case .string(let s): stack.pushString(s)
        case .array(let items):
            stack.newTable(arrayCount: Int32(clamping: items.count))
            for (offset, item) in items.enumerated() {
                push(item, on: stack)
                lua_rawseti(stack.L, -2, lua_Integer(offset + 1))
            }
            _ = mysehat_getmetatable_named(stack.L, arrayMetatableKey)
            lua_setmetatable(stack.L, -2)
        case .object(let object):
            stack.newTable(recordCount: Int32(clamping: object.count))
            for (key, item) in object {
                stack.pushString(key)
                push(item, on: stack)
                lua_rawset(stack.L, -3)
            }
        }
    }

    /// Converts the value at `index`. Functions become `functionPlaceholder(path)` when given, else
    /// an error; so do other values JSON cannot hold.
    static func value(
        at index: Int32, on stack: LuaStack, depth: Int = 0, path: [JSONValue] = [],
        functionPlaceholder: (([JSONValue]) -> JSONValue)? = nil
    ) throws -> JSONValue {
        let L = stack.L
        let index = stack.absolute(index)
        guard depth < 64 else { throw ConversionError(description: "value nested too deeply (or contains a cycle)") }
        switch lua_type(L, index) {
        case LUA_TNIL: return .null
        case LUA_TBOOLEAN: return .bool(stack.bool(at: index))
        case LUA_TNUMBER:
            if mysehat_isinteger(L, index) != 0 { return .int(Int64(mysehat_tointeger(L, index))) }
            let d = mysehat_tonumber(L, index)
            guard d.isFinite else { throw ConversionError(description: "cannot encode \(d) as JSON") }
            return .double(d)
        case LUA_TSTRING: return .string(stack.string(at: index) ?? "")
        case LUA_TLIGHTUSERDATA:
            if lua_touserdata(L, index) == nil { return .null }
            throw ConversionError(description: "cannot encode a userdata as JSON")
        case LUA_TFUNCTION:
            if let functionPlaceholder { return functionPlaceholder(path) }
            throw ConversionError(description: "cannot encode a function as JSON")
        case LUA_TTABLE:
            return try table(at: index, on: stack, depth: depth, path: path, functionPlaceholder: functionPlaceholder)
        default:
            throw ConversionError(description: "cannot encode a \(String(cString: mysehat_typename(L, index))) as JSON")
        }
    }

    private static func isMarkedArray(_ index: Int32, on stack: LuaStack) -> Bool {
        guard lua_getmetatable(stack.L, index) != 0 else { return false }
        mysehat_getmetatable_named(stack.L, arrayMetatableKey)
        let same = lua_rawequal(stack.L, -1, -2) != 0
        stack.pop(2)
        return same
    }

    private static func table(
        at index: Int32, on stack: LuaStack, depth: Int, path: [JSONValue],
        functionPlaceholder: (([JSONValue]) -> JSONValue)?
    ) throws -> JSONValue {
        let L = stack.L
        let length = Int(lua_rawlen(L, index))
        var keyCount = 0
        var integerKeysOnly = true
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            keyCount += 1
            if !(lua_type(L, -2) == LUA_TNUMBER && mysehat_isinteger(L, -2) != 0) { integerKeysOnly = false }
            stack.pop()
        }
        let asArray = isMarkedArray(index, on: stack) || (keyCount > 0 && integerKeysOnly && keyCount == length)
        if asArray {
            var items: [JSONValue] = []
            items.reserveCapacity(length)
            for i in 0..<length {
                lua_rawgeti(L, index, lua_Integer(i + 1))
                defer { stack.pop() }
                items.append(try value(at: -1, on: stack, depth: depth + 1, path: path + [.int(Int64(i + 1))], functionPlaceholder: functionPlaceholder))
            }
            return .array(items)
        }
        var entries: [(String, JSONValue)] = []
        entries.reserveCapacity(keyCount)
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            let key: String
            switch lua_type(L, -2) {
            case LUA_TSTRING: key = stack.string(at: -2) ?? ""
            case LUA_TNUMBER:
                // Never lua_tolstring a key during lua_next: it converts in place.
                key = mysehat_isinteger(L, -2) != 0 ? String(mysehat_tointeger(L, -2)) : String(mysehat_tonumber(L, -2))
            default:
                stack.pop(2)
                throw ConversionError(description: "table keys must be strings or numbers")
            }
            do {
                entries.append((key, try value(at: -1, on: stack, depth: depth + 1, path: path + [.string(key)], functionPlaceholder: functionPlaceholder)))
            } catch {
                stack.pop(2)
                throw error
            }
            stack.pop()
        }
        // Lua tables have no order; sort keys so output is stable.
        entries.sort { $0.0 < $1.0 }
        return .object(JSONObject(entries))
    }
}

import CLua
import CLuaShim
import ServiceKit

/// Typed access to one Lua thread's stack. Never raises: reading code checks types with `lua_type`
/// (never `luaL_check*`, which would longjmp over Swift frames).
struct LuaStack {
    let L: OpaquePointer

    init(_ L: OpaquePointer) { self.L = L }

    var top: Int32 {
        get { lua_gettop(L) }
        nonmutating set { lua_settop(L, newValue) }
    }

    func type(at index: Int32) -> Int32 { lua_type(L, index) }

    func pop(_ n: Int32 = 1) { mysehat_pop(L, n) }

    func absolute(_ index: Int32) -> Int32 { lua_absindex(L, index) }

    func pushString(_ s: String) {
        var s = s
        s.withUTF8 { buffer in
            _ = buffer.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    func pushBytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    func pushBytes(_ bytes: UnsafeRawBufferPointer) {
        _ = lua_pushlstring(L, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
    }

    func pushInteger(_ value: Int64) { lua_pushinteger(L, lua_Integer(value)) }
    func pushNumber(_ value: Double) { lua_pushnumber(L, value) }
    func pushBool(_ value: Bool) { lua_pushboolean(L, value ? 1 : 0) }
    func pushNil() { lua_pushnil(L) }

    /// The string at `index` as bytes, without converting numbers in place.
    func bytes(at index: Int32) -> [UInt8]? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        guard let pointer = lua_tolstring(L, index, &length) else { return nil }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    func string(at index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        guard let pointer = lua_tolstring(L, index, &length) else { return nil }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    /// A string or a number rendered as Lua would, for messages.
    func describe(at index: Int32) -> String {
        switch lua_type(L, index) {
        case LUA_TSTRING: return string(at: index) ?? ""
        case LUA_TNUMBER:
            return mysehat_isinteger(L, index) != 0 ? String(mysehat_tointeger(L, index)) : String(mysehat_tonumber(L, index))
        case LUA_TBOOLEAN: return lua_toboolean(L, index) != 0 ? "true" : "false"
        case LUA_TNIL: return "nil"
        default: return String(cString: mysehat_typename(L, index))
        }
    }

    func integer(at index: Int32) -> Int64? {
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        if mysehat_isinteger(L, index) != 0 { return Int64(mysehat_tointeger(L, index)) }
        let d = mysehat_tonumber(L, index)
        guard d.rounded() == d, let i = Int64(exactly: d) else { return nil }
        return i
    }

    func number(at index: Int32) -> Double? {
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        return mysehat_tonumber(L, index)
    }

    func bool(at index: Int32) -> Bool { lua_toboolean(L, index) != 0 }

    /// `t[key]` for the table at `index`, pushed.
    @discardableResult
    func getField(_ index: Int32, _ key: String) -> Int32 { lua_getfield(L, index, key) }

    /// Pops the top value into `t[key]` of the table at `index`.
    func setField(_ index: Int32, _ key: String) { lua_setfield(L, index, key) }

    func newTable(arrayCount: Int32 = 0, recordCount: Int32 = 0) { lua_createtable(L, arrayCount, recordCount) }

    /// Sets `t[key] = value` on the table at the top.
    func setString(_ key: String, _ value: String) {
        pushString(value)
        lua_setfield(L, -2, key)
    }
}

import CLua
import CLuaShim
import ServiceKit

extension LuaPrimitives {
    /// `jwt.sign(claims[, {expires_in = seconds}])` -> token and `jwt.verify(token)` -> claims or
    /// nil and a reason, with the gateway's key (HS256 only). Scripts cannot mint access tokens:
    /// identity on requests comes from the gateway, never from a script.
    public mutating func addJWT(_ codec: TokenCodec) {
        set("jwt", .module([
            "sign": .function { stack, _ in
                guard stack.type(at: 1) == LUA_TTABLE, case .object(var claims)? = try? LuaJSON.value(at: 1, on: stack) else {
                    return .raise("jwt.sign expects a table of claims")
                }
                if claims["type"]?.stringValue == "access" { return .raise("jwt.sign cannot mint access tokens") }
                var lifetime: Int64 = 3600
                if stack.type(at: 2) == LUA_TTABLE {
                    stack.getField(2, "expires_in")
                    if let seconds = stack.integer(at: -1), seconds > 0 { lifetime = seconds }
                    stack.pop()
                }
                let now = Instant.nowSeconds()
                if claims["iat"] == nil { claims["iat"] = .int(now) }
                if claims["exp"] == nil { claims["exp"] = .int(now + lifetime) }
                if claims["type"] == nil { claims["type"] = "lua" }
                stack.pushString(codec.sign(claims))
                return .values(1)
            },
            "verify": .function { stack, _ in
                guard let token = stack.string(at: 1) else { return .raise("jwt.verify expects a token string") }
                do {
                    LuaJSON.push(.object(try codec.verify(token)), on: stack)
                    return .values(1)
                } catch {
                    stack.pushNil()
                    stack.pushString("\(error)")
                    return .values(2)
                }
            },
        ]))
    }
}

import CLua
import CLuaShim
import Crypto
import ServiceKit

extension LuaPrimitives {
    /// `crypto.sha256(data)` and `crypto.hmac_sha256(key, data)` -> lowercase hex. Arguments are
    /// strings of bytes (a JSON body, a secret); webhook signatures and content hashes need no more.
    public mutating func addCrypto() {
        set("crypto", .module([
            "sha256": .function { stack, _ in
                guard let data = stack.bytes(at: 1) else { return .raise("crypto.sha256 expects a string") }
                stack.pushString(Hex.encode(SHA256.hash(data: data)))
                return .values(1)
            },
            "hmac_sha256": .function { stack, _ in
                guard let key = stack.bytes(at: 1), let data = stack.bytes(at: 2) else {
                    return .raise("crypto.hmac_sha256 expects a key and a message (strings)")
                }
                stack.pushString(Hex.encode(MessageAuthentication.hmacSHA256(key: key, message: data)))
                return .values(1)
            },
        ]))
    }
}

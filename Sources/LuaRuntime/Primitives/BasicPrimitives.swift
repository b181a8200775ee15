import CLua
import CLuaShim
import Foundation
import ServiceKit

extension LuaPrimitives {
    /// `time.now()`, `time.iso()`, `uuid()`, `config.get(key)`, `sleep(ms)`.
    ///
    /// `config` holds only the values ops chose to expose to scripts, never the whole environment.
    public mutating func addBasics(config: [String: String]) {
        set("time", .module([
            "now": .function { stack, _ in
                stack.pushNumber(Double(Instant.nowMilliseconds()) / 1000)
                return .values(1)
            },
            "iso": .function { stack, _ in
                if let ms = stack.number(at: 1) {
                    // Rounded, not truncated: t + 5 of a parsed instant must land on its millisecond.
                    stack.pushString(Instant.format(milliseconds: Int64((ms * 1000).rounded())))
                } else {
                    stack.pushString(Instant.now())
                }
                return .values(1)
            },
            "parse": .function { stack, _ in
                guard let text = stack.string(at: 1), let ms = Instant.parse(text) else {
                    stack.pushNil()
                    return .values(1)
                }
                stack.pushNumber(Double(ms) / 1000)
                return .values(1)
            },
        ]))
        set("uuid", .function { stack, _ in
            stack.pushString(UUID().uuidString.lowercased())
            return .values(1)
        })
        let exposed = config
        set("config", .module([
            "get": .function { stack, _ in
                guard let key = stack.string(at: 1) else { return .raise("config.get expects a key") }
                if let value = exposed[key] { stack.pushString(value) } else if stack.top >= 2 {
                    lua_pushvalue(stack.L, 2)
                } else {
                    stack.pushNil()
                }
                return .values(1)
            },
        ]))
        set("sleep", .function { stack, _ in
            guard let ms = stack.number(at: 1), ms >= 0 else { return .raise("sleep expects milliseconds (a number >= 0)") }
            let nanoseconds = UInt64(min(ms, 3_600_000) * 1_000_000)
            return .yield {
                try? await Task.sleep(nanoseconds: nanoseconds)
                return .values([])
            }
        })
    }
}

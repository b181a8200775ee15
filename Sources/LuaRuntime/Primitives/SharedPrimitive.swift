import CLua
import CLuaShim
import Synchronization

extension LuaPrimitives {
    /// `shared.get(key)` -> string or nil, `shared.set(key, value)` (nil removes): strings kept by
    /// the process, seen by every Lua state and surviving configuration reloads (OpenResty's
    /// `ngx.shared` in small). For the last good copy of data a file loads, such as the previous
    /// hospital list when a reload brings an invalid one. Not a cache for request data: it is
    /// bounded by `maxBytes` in total and a `set` beyond that raises.
    public mutating func addShared(maxBytes: Int = 32 << 20) {
        let values = SharedStrings(maxBytes: maxBytes)
        set("shared", .module([
            "get": .function { stack, _ in
                guard let key = stack.string(at: 1) else { return .raise("shared.get expects a key string") }
                if let value = values.get(key) { stack.pushBytes(value) } else { stack.pushNil() }
                return .values(1)
            },
            "set": .function { stack, _ in
                guard let key = stack.string(at: 1) else { return .raise("shared.set expects a key string") }
                let value: [UInt8]?
                switch stack.type(at: 2) {
                case LUA_TNIL, LUA_TNONE: value = nil
                case LUA_TSTRING: value = stack.bytes(at: 2)
                default: return .raise("shared.set expects a string value (or nil to remove)")
                }
                guard values.set(key, value) else { return .raise("shared.set: the shared store is full (\(maxBytes) bytes)") }
                return .values(0)
            },
        ]))
    }
}

/// The process-wide strings behind `shared`.
final class SharedStrings: Sendable {
    private let storage = Mutex<(values: [String: [UInt8]], bytes: Int)>(([:], 0))
    let maxBytes: Int

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    func get(_ key: String) -> [UInt8]? {
        storage.withLock { $0.values[key] }
    }

    /// False when the value does not fit.
    func set(_ key: String, _ value: [UInt8]?) -> Bool {
        storage.withLock { storage in
            let old = storage.values[key].map { $0.count + key.utf8.count } ?? 0
            let new = value.map { $0.count + key.utf8.count } ?? 0
            guard storage.bytes - old + new <= maxBytes else { return false }
            storage.values[key] = value
            storage.bytes += new - old
            return true
        }
    }
}

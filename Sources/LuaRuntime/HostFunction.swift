import CLua
import CLuaShim
import Logging
import ServiceKit
import Store
import Synchronization

/// What a host function hands back to the C trampoline.
enum HostReturn {
    /// This many results were pushed.
    case values(Int32)
    /// Raise this message at the call site (with the script's file:line).
    case raise(String)
    /// Suspend the request coroutine until the operation finishes.
    case yield(@Sendable () async -> HostOutcome)
}

/// A Swift function callable from Lua. It receives the calling thread's stack (arguments at 1...top).
typealias HostFunction = @Sendable (LuaStack, LuaStateContext) -> HostReturn

/// Per-state data the C callbacks reach through the allocator's user data. Used only while the
/// owning worker runs the state, so it needs no locking.
final class LuaStateContext {
    var functions: [HostFunction] = []
    /// The file being loaded (for `service()` declarations).
    var currentFile = ""
    /// Sources of the modules `require` may load, by path (e.g. `services/lib/util.lua`).
    var modules: [String: String] = [:]
    /// The request whose coroutine is running, if any.
    var running: RequestRun?
    /// The loaded services' table rules, which every `db` call passes first (set once loaded).
    var tableAccess: TableAccessGuard?
    let logger: Logger
    let primitives: LuaPrimitives

    init(logger: Logger, primitives: LuaPrimitives) {
        self.logger = logger
        self.primitives = primitives
    }
}

/// Bookkeeping of one request's coroutine across resumes.
final class RequestRun {
    let request: LuaRequest
    let serviceName: String
    let handlerName: String
    let thread: OpaquePointer
    let threadRef: Int32
    /// A registry reference to release when the run ends (access hooks resolve their function).
    var functionRef: Int32?
    var instructionsUsed: Int64 = 0
    var pending: (@Sendable () async -> HostOutcome)?
    var abort: ServiceError?
    /// The database transaction the script opened with `db.transaction`, or the caller's
    /// transaction the run borrows (erase hooks run inside the erasure's transaction).
    let transaction = TransactionSlot()
    var borrowsTransaction = false
    /// A plain function call (hooks) rather than a handler: its first return value is the result.
    var returnsValue = false
    /// Functions the script handed to `spawn`, as registry references: they run after this run
    /// finishes with an answer, and are released when it does not.
    var spawned: [Int32] = []

    init(request: LuaRequest, serviceName: String, handlerName: String, thread: OpaquePointer, threadRef: Int32) {
        self.request = request
        self.serviceName = serviceName
        self.handlerName = handlerName
        self.thread = thread
        self.threadRef = threadRef
    }
}

/// The single C entry point for every host function.
let hostDispatch: mysehat_host_fn = { L, id in
    guard let L else { return MYSEHAT_HOST_RAISE }
    let context = Unmanaged<LuaStateContext>.fromOpaque(mysehat_budget_of(L).pointee.host_context).takeUnretainedValue()
    let stack = LuaStack(L)
    guard Int(id) < context.functions.count else {
        stack.pushString("unknown host function")
        return MYSEHAT_HOST_RAISE
    }
    switch context.functions[Int(id)](stack, context) {
    case .values(let n):
        return n
    case .raise(let message):
        luaL_where(L, 1)
        stack.pushString(message)
        lua_concat(L, 2)
        return MYSEHAT_HOST_RAISE
    case .yield(let operation):
        guard let run = context.running else {
            stack.pushString("this function can only be called while handling a request")
            return MYSEHAT_HOST_RAISE
        }
        guard lua_isyieldable(L) != 0 else {
            stack.pushString("cannot wait here (inside a metamethod or iterator called from C)")
            return MYSEHAT_HOST_RAISE
        }
        run.pending = operation
        return MYSEHAT_HOST_YIELD
    }
}

/// Holds a request's open transaction. Written by host operations (off the worker) and read by
/// the worker between resumes; the two never overlap, the lock just makes that explicit.
final class TransactionSlot: Sendable {
    private let value = Mutex<(any StoreTransaction)?>(nil)

    var current: (any StoreTransaction)? { value.withLock { $0 } }

    func set(_ transaction: (any StoreTransaction)?) {
        value.withLock { $0 = transaction }
    }

    func take() -> (any StoreTransaction)? {
        value.withLock { current in
            defer { current = nil }
            return current
        }
    }
}

import CLuaShim

/// The monotonic clock the budget hook reads, so deadlines set in Swift and checked in C agree.
public enum LuaClock {
    public static func nowNanoseconds() -> Int64 { mysehat_monotonic_ns() }

    public static func deadline(after duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return mysehat_monotonic_ns() + seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

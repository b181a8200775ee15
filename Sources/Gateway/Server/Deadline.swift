import ServiceKit

/// Runs `operation`, throwing `onTimeout` when it takes longer than `timeout`.
func withDeadline<T: Sendable>(
    _ timeout: Duration, onTimeout: @autoclosure @escaping @Sendable () -> any Error,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            // Cancelled (false) when the operation finished first; the group then discards this.
            _ = await DeadlineWheel.shared.wait(timeout)
            throw onTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

import Store
import Synchronization

/// Where the rights requests (export, erasure) find the services that hold a part of a user's
/// data. Late-bound: Lua services come and go with the gateway's configuration generations, so
/// the composition root provides a closure that reads the current generation at each request.
public final class DataRightsRegistry: Sendable {
    public typealias Provider = @Sendable () -> [any DataRightsParticipant]

    private let provider: Mutex<Provider>

    public init(_ provider: @escaping Provider = { [] }) {
        self.provider = Mutex(provider)
    }

    /// Replaces the provider (once the gateway, and with it the Lua services, exists).
    public func provide(_ provider: @escaping Provider) {
        self.provider.withLock { $0 = provider }
    }

    /// The participants as of now.
    public var participants: [any DataRightsParticipant] {
        let current = provider.withLock { $0 }
        return current()
    }
}

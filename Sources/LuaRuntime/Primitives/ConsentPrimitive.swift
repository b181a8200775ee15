import CLua
import CLuaShim
import ServiceKit

extension LuaPrimitives {
    /// `consent.check(user_id, purpose)` -> true or false, from the system-wide consent store
    /// (expiry evaluated on read).
    public mutating func addConsent(_ checker: any ConsentChecker) {
        set("consent", .module([
            "check": .function { stack, _ in
                guard let user = stack.string(at: 1) ?? stack.integer(at: 1).map(String.init), let purpose = stack.string(at: 2) else {
                    return .raise("consent.check expects a user id and a purpose")
                }
                return .yield {
                    do {
                        return .values([.bool(try await checker.hasConsent(userID: user, purpose: purpose))])
                    } catch {
                        return .raise("consent.check failed: \(error)")
                    }
                }
            },
        ]))
    }
}

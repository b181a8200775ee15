import CLua
import CLuaShim
import ServiceKit
import Store

extension LuaPrimitives {
    /// `consent.check(user_id, purpose)` -> true or false, from the system-wide consent store
    /// (expiry evaluated on read).
    ///
    /// With `overrides`: `consent.open_emergency{ user_id, emergency_id, granted_to_id, expires_at }`
    /// (`expires_at` in Unix seconds, default now + 24 h) -> id, expires_at (RFC 3339); `consent.end_emergency(user_id, emergency_id)` ->
    /// records changed; `consent.state(consent_id)` -> "active" | "expired" | "revoked". They run
    /// in the script's `db.transaction` when one is open.
    public mutating func addConsent(_ checker: any ConsentChecker, overrides: (any EmergencyOverrides)? = nil) {
        var members: [String: LuaPrimitive] = [
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
        ]
        if let overrides, let store = databaseStore {
            members["open_emergency"] = .function { stack, context in
                guard stack.type(at: 1) == LUA_TTABLE, case .object(let fields)? = try? LuaJSON.value(at: 1, on: stack),
                      let user = Self.idText(fields["user_id"]), let emergency = Self.idText(fields["emergency_id"])
                else { return .raise("consent.open_emergency needs user_id and emergency_id") }
                let grantedTo = Self.idText(fields["granted_to_id"])
                let expiresAt = fields["expires_at"]?.doubleValue.map { Int64(($0 * 1000).rounded()) } ?? Instant.nowMilliseconds() + 86_400_000
                let executor: any DatabaseExecutor = context.running?.transaction.current ?? store
                let ip = context.running?.request.clientIP
                return .yield {
                    do {
                        let opened = try await overrides.open(
                            userID: user, emergencyID: emergency, grantedToID: grantedTo, expiresAt: expiresAt, clientIP: ip, on: executor)
                        return .values([.integer(opened.id), .string(opened.expiresAt)])
                    } catch {
                        return .raise("consent.open_emergency failed: \(error)")
                    }
                }
            }
            members["end_emergency"] = .function { stack, context in
                guard let user = stack.string(at: 1) ?? stack.integer(at: 1).map(String.init),
                      let emergency = stack.string(at: 2) ?? stack.integer(at: 2).map(String.init)
                else { return .raise("consent.end_emergency expects a user id and an emergency id") }
                let executor: any DatabaseExecutor = context.running?.transaction.current ?? store
                return .yield {
                    do {
                        return .values([.integer(Int64(try await overrides.end(userID: user, emergencyID: emergency, on: executor)))])
                    } catch {
                        return .raise("consent.end_emergency failed: \(error)")
                    }
                }
            }
            members["state"] = .function { stack, context in
                guard let id = stack.integer(at: 1) else {
                    stack.pushString("revoked")
                    return .values(1)
                }
                let executor: any DatabaseExecutor = context.running?.transaction.current ?? store
                return .yield {
                    do {
                        return .values([.string(try await overrides.state(consentID: id, on: executor))])
                    } catch {
                        return .raise("consent.state failed: \(error)")
                    }
                }
            }
        }
        set("consent", .module(members))
    }

    static func idText(_ value: JSONValue?) -> String? {
        guard let value, value != .null else { return nil }
        return value.stringValue ?? value.intValue.map(String.init)
    }
}

import ServiceKit
import Store

/// The auth service's part of the user's rights (02 §4.5, §4.6). Export: the profile with its
/// preferences (the consent service exports the consents). Erasure: the account, its preferences,
/// every token (so the one in use stops working) and the pending OTP code of its number.
public struct AuthRightsParticipant: DataRightsParticipant {
    public let dataKey = "profile"
    public let erasureKey = "account"

    let verifiedTokens: VerifiedTokenCache

    init(verifiedTokens: VerifiedTokenCache) {
        self.verifiedTokens = verifiedTokens
    }

    public func exportData(userID: String, from executor: any DatabaseExecutor) async throws -> JSONValue {
        guard let id = Int64(userID), let row = try await executor.one("\(AccountStore.select) WHERE id = ?", [.integer(id)]) else {
            return .null
        }
        var profile = try Account(row: row).json(preferences: try await AccountStore(executor).preferences(userID: id), consents: [])
        profile["consents"] = nil
        return .object(profile)
    }

    public func eraseData(userID: String, in transaction: any StoreTransaction) async throws -> Int {
        guard let id = Int64(userID) else { return 0 }
        verifiedTokens.forget(userID: userID)
        if let phone = try await transaction.one("SELECT phone_number FROM users WHERE id = ?", [.integer(id)])?.string("phone_number") {
            try await transaction.execute("DELETE FROM otp_codes WHERE phone_number = ?", [.text(phone)])
        }
        try await transaction.execute("DELETE FROM auth_tokens WHERE user_id = ?", [.integer(id)])
        try await transaction.execute("DELETE FROM user_preferences WHERE user_id = ?", [.integer(id)])
        return try await transaction.execute("DELETE FROM users WHERE id = ?", [.integer(id)]).changes
    }
}

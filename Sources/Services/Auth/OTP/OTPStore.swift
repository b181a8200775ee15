import ServiceKit
import Store

/// Formats of phone numbers and codes (01-auth §2).
enum OTPRules {
    static let lifetimeSeconds: Int64 = 300
    static let maximumFailures = 5
    static let resendAfterSeconds = 30

    /// `^\d{10}$`
    static func isPhoneNumber(_ text: String) -> Bool { isDigits(text, count: 10) }
    /// `^\d{6}$`
    static func isCode(_ text: String) -> Bool { isDigits(text, count: 6) }

    static func isDigits(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { (48...57).contains($0) }
    }
}

/// The outcome of checking a submitted code.
enum OTPCheck: Equatable {
    /// The latest issued code: consume it with `OTPStore.consume` when the request succeeds.
    case issued(hash: String)
    /// `DEV_OTP_CODE` in development: nothing to consume.
    case development
    case rejected
}

/// Issued one-time codes (01-auth §2.2, §4): one live code per phone number, stored only as an
/// HMAC-SHA256 keyed with a per-code random salt over the phone number and the code.
struct OTPStore: Sendable {
    let db: any DatabaseExecutor

    init(_ db: any DatabaseExecutor) {
        self.db = db
    }

    static func hash(phoneNumber: String, code: String, salt: [UInt8]) -> String {
        Hex.encode(MessageAuthentication.hmacSHA256(key: salt, message: Array("\(phoneNumber):\(code)".utf8)))
    }

    /// Stores a fresh code for the number, replacing any earlier one; returns its hash so a failed
    /// delivery can discard exactly this code.
    func issue(phoneNumber: String, code: String, now: Int64 = Instant.nowSeconds()) async throws -> String {
        let salt = SecureRandom.bytes(16)
        let hash = Self.hash(phoneNumber: phoneNumber, code: code, salt: salt)
        try await db.execute(
            """
            INSERT INTO otp_codes (phone_number, code_hash, salt, expires_at, failed_attempts, created_at) VALUES (?, ?, ?, ?, 0, ?)
            ON CONFLICT (phone_number) DO UPDATE SET code_hash = excluded.code_hash, salt = excluded.salt,
                expires_at = excluded.expires_at, failed_attempts = 0, created_at = excluded.created_at
            """,
            [.text(phoneNumber), .text(hash), .text(Hex.encode(salt)), .integer(now + OTPRules.lifetimeSeconds), .integer(now)])
        return hash
    }

    /// Removes the code with this hash, if it is still the number's code. True when it was.
    @discardableResult
    func consume(phoneNumber: String, hash: String) async throws -> Bool {
        try await db.execute("DELETE FROM otp_codes WHERE phone_number = ? AND code_hash = ?", [.text(phoneNumber), .text(hash)]).changes == 1
    }

    /// Checks a submitted code against the number's latest code (young enough, fewer than five
    /// failures), counting a failure against it when it does not match.
    func check(phoneNumber: String, code: String, now: Int64 = Instant.nowSeconds()) async throws -> OTPCheck {
        guard let row = try await db.one(
            "SELECT code_hash, salt, expires_at, failed_attempts FROM otp_codes WHERE phone_number = ?", [.text(phoneNumber)]),
            let stored = row.string("code_hash"), let saltHex = row.string("salt"), let salt = Hex.decode(saltHex),
            let expiresAt = row.int64("expires_at"), let failures = row.int("failed_attempts")
        else { return .rejected }
        guard now < expiresAt, failures < OTPRules.maximumFailures else { return .rejected }
        let submitted = Self.hash(phoneNumber: phoneNumber, code: code, salt: salt)
        if ConstantTime.equals(Array(submitted.utf8), Array(stored.utf8)) { return .issued(hash: stored) }
        try await db.execute(
            "UPDATE otp_codes SET failed_attempts = failed_attempts + 1 WHERE phone_number = ? AND code_hash = ?",
            [.text(phoneNumber), .text(stored)])
        return .rejected
    }

    /// Drops codes that can no longer be used.
    func purgeExpired(now: Int64 = Instant.nowSeconds()) async throws {
        try await db.execute("DELETE FROM otp_codes WHERE expires_at <= ?", [.integer(now)])
    }
}

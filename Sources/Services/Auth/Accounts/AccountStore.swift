import ConsentService
import ServiceKit
import Store

/// Accounts and their preferences, over the store or a transaction's executor.
struct AccountStore: Sendable {
    let db: any DatabaseExecutor

    init(_ db: any DatabaseExecutor) {
        self.db = db
    }

    static let select = "SELECT \(Account.columns) FROM users"

    /// An active account by id.
    func account(id: Int64) async throws -> Account? {
        try await db.one("\(Self.select) WHERE id = ? AND is_active = 1", [.integer(id)]).map(Account.init(row:))
    }

    /// An active account by id given as the token's `sub`.
    func account(userID: String) async throws -> Account? {
        guard let id = Int64(userID) else { return nil }
        return try await account(id: id)
    }

    /// An active account by phone number.
    func account(phoneNumber: String) async throws -> Account? {
        try await db.one("\(Self.select) WHERE phone_number = ? AND is_active = 1", [.text(phoneNumber)]).map(Account.init(row:))
    }

    /// Whether any account, active or not, holds the number (it is unique in the table).
    func phoneNumberTaken(_ phoneNumber: String) async throws -> Bool {
        try await db.one("SELECT id FROM users WHERE phone_number = ?", [.text(phoneNumber)]) != nil
    }

    /// Active accounts ordered by id.
    func accounts(skip: Int, limit: Int) async throws -> [Account] {
        try await db.query("\(Self.select) WHERE is_active = 1 ORDER BY id LIMIT ? OFFSET ?", [.integer(Int64(limit)), .integer(Int64(skip))])
            .map(Account.init(row:))
    }

    func create(phoneNumber: String, profile: Profile, role: String, now: Int64 = Instant.nowMilliseconds()) async throws -> Account {
        let instant = Instant.format(milliseconds: now)
        let result = try await db.execute(
            """
            INSERT INTO users (name, phone_number, age, gender, blood_group, allergies, conditions, emergency_contact,
                emergency_phone, role, is_active, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
            """,
            [.text(profile.name), .text(phoneNumber)] + Self.profileValues(profile) + [.text(role), .text(instant), .text(instant)])
        guard let account = try await account(id: result.lastInsertID) else { throw AccountStoreError.lostWrite }
        return account
    }

    func update(id: Int64, profile: Profile, now: Int64 = Instant.nowMilliseconds()) async throws {
        try await db.execute(
            """
            UPDATE users SET name = ?, age = ?, gender = ?, blood_group = ?, allergies = ?, conditions = ?,
                emergency_contact = ?, emergency_phone = ?, updated_at = ?
            WHERE id = ?
            """,
            [.text(profile.name)] + Self.profileValues(profile) + [.text(Instant.format(milliseconds: now)), .integer(id)])
    }

    func setRole(id: Int64, role: String, now: Int64 = Instant.nowMilliseconds()) async throws {
        try await db.execute(
            "UPDATE users SET role = ?, updated_at = ? WHERE id = ?", [.text(role), .text(Instant.format(milliseconds: now)), .integer(id)])
    }

    func activeAdminCount() async throws -> Int {
        try await db.one("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND is_active = 1", [])?.int("n") ?? 0
    }

    /// The profile columns after name (and phone number): age ... emergency_phone.
    static func profileValues(_ profile: Profile) -> [SQLValue] {
        [
            SQLValue(profile.age), SQLValue(profile.gender), SQLValue(profile.bloodGroup),
            .text(Account.listText(profile.allergies)), .text(Account.listText(profile.conditions)),
            SQLValue(profile.emergencyContact), SQLValue(profile.emergencyPhone),
        ]
    }


    // MARK: Preferences

    func preferences(userID: Int64) async throws -> Preferences? {
        try await db.one("SELECT \(Preferences.columns) FROM user_preferences WHERE user_id = ?", [.integer(userID)]).map(Preferences.init(row:))
    }

    func preferences(userIDs: [Int64]) async throws -> [Int64: Preferences] {
        guard !userIDs.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: userIDs.count).joined(separator: ", ")
        let rows = try await db.query(
            "SELECT \(Preferences.columns) FROM user_preferences WHERE user_id IN (\(marks))", userIDs.map { .integer($0) })
        var result: [Int64: Preferences] = [:]
        for row in rows {
            if let id = row.int64("user_id") { result[id] = Preferences(row: row) }
        }
        return result
    }

    /// Inserts or replaces the user's preferences row.
    func save(_ preferences: Preferences, userID: Int64, now: Int64 = Instant.nowMilliseconds()) async throws {
        try await db.execute(
            """
            INSERT INTO user_preferences (user_id, language, emergency_enabled, medicine_reminders, notification_enabled, dark_mode, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET language = excluded.language, emergency_enabled = excluded.emergency_enabled,
                medicine_reminders = excluded.medicine_reminders, notification_enabled = excluded.notification_enabled,
                dark_mode = excluded.dark_mode, updated_at = excluded.updated_at
            """,
            [
                .integer(userID), .text(preferences.language), Self.flag(preferences.emergencyEnabled), Self.flag(preferences.medicineReminders),
                Self.flag(preferences.notificationEnabled), Self.flag(preferences.darkMode), .text(Instant.format(milliseconds: now)),
            ])
    }

    static func flag(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }

    // MARK: UserResponse

    /// UserResponse of one account: its preferences and consent records.
    func response(for account: Account) async throws -> JSONObject {
        let preferences = try await preferences(userID: account.id)
        let consents = try await ConsentRecords(db).records(userID: account.userID)
        return account.json(preferences: preferences, consents: consents)
    }

    /// UserResponses of several accounts with three queries, whatever their number.
    func responses(for accounts: [Account]) async throws -> [JSONValue] {
        let preferences = try await preferences(userIDs: accounts.map(\.id))
        let consents = try await ConsentRecords(db).records(userIDs: accounts.map(\.userID))
        return accounts.map { .object($0.json(preferences: preferences[$0.id], consents: consents[$0.userID] ?? [])) }
    }
}

import ConsentService
import ServiceKit
import Store

/// The fields of a profile a user may edit (01-auth §1.1).
struct Profile: Sendable, Equatable {
    var name: String
    var age: Int?
    var gender: String?
    var bloodGroup: String?
    var allergies: [String] = []
    var conditions: [String] = []
    var emergencyContact: String?
    var emergencyPhone: String?
}

/// An account row.
struct Account: Sendable, Equatable {
    var id: Int64
    var phoneNumber: String
    var profile: Profile
    var role: String
    var isActive: Bool
    var createdAt: String

    /// The token `sub` and every `user_id` field: the id as a decimal string.
    var userID: String { String(id) }

    static let columns =
        "id, name, phone_number, age, gender, blood_group, allergies, conditions, emergency_contact, emergency_phone, role, is_active, created_at"

    init(id: Int64, phoneNumber: String, profile: Profile, role: String, isActive: Bool, createdAt: String) {
        self.id = id
        self.phoneNumber = phoneNumber
        self.profile = profile
        self.role = role
        self.isActive = isActive
        self.createdAt = createdAt
    }

    init(row: Row) throws {
        guard let id = row.int64("id"), let name = row.string("name"), let phone = row.string("phone_number"),
            let role = row.string("role"), let createdAt = row.string("created_at")
        else { throw AccountStoreError.unreadableRow }
        self.init(
            id: id, phoneNumber: phone,
            profile: Profile(
                name: name, age: row.int("age"), gender: row.string("gender"), bloodGroup: row.string("blood_group"),
                allergies: Self.list(row.string("allergies")), conditions: Self.list(row.string("conditions")),
                emergencyContact: row.string("emergency_contact"), emergencyPhone: row.string("emergency_phone")),
            role: role, isActive: row.bool("is_active") ?? true, createdAt: createdAt)
    }

    /// Lists are stored as JSON arrays of strings.
    static func list(_ text: String?) -> [String] {
        guard let text, let value = try? JSON.decode(text), case .array(let items) = value else { return [] }
        return items.compactMap(\.stringValue)
    }

    static func listText(_ items: [String]) -> String {
        JSON.encodeString(.array(items.map { .string($0) }))
    }

    /// UserResponse (01-auth §1.1), fields in the spec's order.
    func json(preferences: Preferences?, consents: [ConsentRecord]) -> JSONObject {
        [
            "id": .int(id), "name": .string(profile.name), "phone_number": .string(phoneNumber),
            "age": JSONValue(profile.age), "gender": JSONValue(profile.gender), "blood_group": JSONValue(profile.bloodGroup),
            "allergies": JSONValue(profile.allergies), "conditions": JSONValue(profile.conditions),
            "emergency_contact": JSONValue(profile.emergencyContact), "emergency_phone": JSONValue(profile.emergencyPhone),
            "role": .string(role), "created_at": .string(createdAt),
            "preferences": preferences.map { .object($0.json) } ?? .null,
            "consents": .array(consents.map { .object($0.json) }),
        ]
    }
}

/// PreferencesResponse (01-auth §1.2).
struct Preferences: Sendable, Equatable {
    var language = "en"
    var emergencyEnabled = true
    var medicineReminders = true
    var notificationEnabled = true
    var darkMode = false

    var json: JSONObject {
        [
            "language": .string(language), "emergency_enabled": .bool(emergencyEnabled), "medicine_reminders": .bool(medicineReminders),
            "notification_enabled": .bool(notificationEnabled), "dark_mode": .bool(darkMode),
        ]
    }

    static let columns = "user_id, language, emergency_enabled, medicine_reminders, notification_enabled, dark_mode"

    init() {}

    init(language: String, emergencyEnabled: Bool, medicineReminders: Bool, notificationEnabled: Bool, darkMode: Bool) {
        self.language = language
        self.emergencyEnabled = emergencyEnabled
        self.medicineReminders = medicineReminders
        self.notificationEnabled = notificationEnabled
        self.darkMode = darkMode
    }

    init(row: Row) {
        language = row.string("language") ?? "en"
        emergencyEnabled = row.bool("emergency_enabled") ?? true
        medicineReminders = row.bool("medicine_reminders") ?? true
        notificationEnabled = row.bool("notification_enabled") ?? true
        darkMode = row.bool("dark_mode") ?? false
    }
}

enum AccountStoreError: Error {
    case unreadableRow
    case lostWrite
}

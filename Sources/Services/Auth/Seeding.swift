import ConsentService
import Logging
import ServiceKit
import Store

/// The four demo accounts of 01-auth §7, created when `SEED_DEMO_USERS` is on. Only numbers that
/// do not exist yet are added, so on an empty database the ids are 1–4.
enum DemoAccounts {
    struct Demo {
        let phone: String
        let profile: Profile
        let preferences: Preferences
        /// Granted flags of the five consents, in `consents` order.
        let granted: [Bool]
    }

    /// (category, purpose) of the five demo consents.
    static let consents = [
        ("emergency", "emergency_sharing"), ("health_records", "health_record_storage"), ("ai_symptoms", "ai_symptom_checker"),
        ("mental_health", "mental_health_processing"), ("medications", "medicine_reminders"),
    ]

    static let accounts = [
        Demo(
            phone: "9999999999",
            profile: Profile(
                name: "Mitesh Sai", age: 28, gender: "Male", bloodGroup: "O+", allergies: ["Peanuts"], conditions: ["Diabetes"],
                emergencyContact: "Sai Family", emergencyPhone: "9876543210"),
            preferences: Preferences(language: "en", emergencyEnabled: true, medicineReminders: true, notificationEnabled: true, darkMode: false),
            granted: [true, true, true, false, true]),
        Demo(
            phone: "8888888888",
            profile: Profile(
                name: "Aakanksha", age: 25, gender: "Female", bloodGroup: "A+", allergies: [], conditions: ["Asthma"],
                emergencyContact: "Parents", emergencyPhone: "8765432109"),
            preferences: Preferences(language: "hi", emergencyEnabled: true, medicineReminders: true, notificationEnabled: true, darkMode: true),
            granted: [true, true, true, true, true]),
        Demo(
            phone: "7777777777",
            profile: Profile(
                name: "Srinidhi", age: 30, gender: "Female", bloodGroup: "B+", allergies: ["Penicillin"], conditions: [],
                emergencyContact: "Spouse", emergencyPhone: "7654321098"),
            preferences: Preferences(language: "en", emergencyEnabled: true, medicineReminders: false, notificationEnabled: true, darkMode: false),
            granted: [true, true, true, false, false]),
        Demo(
            phone: "6666666666",
            profile: Profile(
                name: "Rupak", age: 35, gender: "Male", bloodGroup: "AB+", allergies: ["Sulfa"], conditions: ["Hypertension", "High Cholesterol"],
                emergencyContact: "Brother", emergencyPhone: "6543210987"),
            preferences: Preferences(language: "en", emergencyEnabled: true, medicineReminders: true, notificationEnabled: false, darkMode: true),
            granted: [true, true, true, true, true]),
    ]

    static func seed(in store: any Store, logger: Logger) async throws {
        for demo in accounts {
            let created = try await store.transaction { db -> Bool in
                let accounts = AccountStore(db)
                guard try await !accounts.phoneNumberTaken(demo.phone) else { return false }
                let account = try await accounts.create(phoneNumber: demo.phone, profile: demo.profile, role: "patient")
                try await accounts.save(demo.preferences, userID: account.id)
                let records = ConsentRecords(db)
                for ((category, purpose), granted) in zip(consents, demo.granted) {
                    let text = granted ? "User consented to \(purpose) for \(category) data" : "User declined \(purpose) for \(category) data"
                    try await records.insert(NewConsent(
                        key: ConsentKey(userID: account.userID, dataCategory: category, purpose: purpose),
                        status: granted ? .active : .pending, consentText: text, method: .signup,
                        revocable: !ConsentVocabulary.mandatoryPurposes.contains(purpose)))
                }
                return true
            }
            if created { logger.info("seeded demo account \(demo.phone) (\(demo.profile.name))") }
        }
    }
}

/// `MYSEHAT_ROLE_SEEDS` at start: listed accounts that exist get their role; when it changes,
/// their tokens are revoked. (At signup the same table picks the new account's role.)
enum RoleSeeds {
    static func apply(_ seeds: [String: String], in store: any Store, forgetting verifiedTokens: VerifiedTokenCache, logger: Logger) async throws {
        for (phone, role) in seeds.sorted(by: { $0.key < $1.key }) {
            let changed = try await store.transaction { db -> Bool in
                let accounts = AccountStore(db)
                guard let account = try await accounts.account(phoneNumber: phone), account.role != role else { return false }
                try await accounts.setRole(id: account.id, role: role)
                try await SessionStore(db).revokeAll(userID: account.id, forgetting: verifiedTokens)
                return true
            }
            if changed { logger.info("role seed: \(phone) is now \(role)") }
        }
    }
}

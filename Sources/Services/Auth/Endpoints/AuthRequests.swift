import ConsentService
import ServiceKit

/// Field rules shared by signup and `PUT /auth/me` (01-auth §2.3, §2.9).
enum ProfileRules {
    static let name = FieldRule<String>.string(min: 2, max: 100, trim: true)
    static let age = FieldRule<Int>.integer(ge: 0, le: 130)
    static let gender = FieldRule<String>.string(max: 20)
    static let bloodGroup = FieldRule<String>.string(max: 10)
    static let items = FieldRule<[String]>.list(maxItems: 50, of: .string(min: 1, max: 100))
    static let emergencyContact = FieldRule<String>.string(max: 100)
    static let emergencyPhone = FieldRule<String>.string(max: 15, pattern: .contactPhone)
    static let language = FieldRule<String>.string(min: 2, max: 10)
    static let consentText = FieldRule<String>.string(max: 2000)
}

/// One item of the signup `consents` list.
struct SignupConsent: Sendable {
    var dataCategory: String
    /// Canonical: `hospital_sharing` is stored as `hospital_data_sharing`.
    var purpose: String
    var granted: Bool
    var consentText: String?

    /// The record signup creates (§2.3 step 6).
    func record(userID: String, clientIP: String) -> NewConsent {
        NewConsent(
            key: ConsentKey(userID: userID, dataCategory: dataCategory, purpose: purpose, grantedTo: "self"),
            status: granted ? .active : .pending,
            consentText: consentText ?? (granted ? "User consented to \(purpose)" : "User declined \(purpose)"),
            method: .signup, revocable: !ConsentVocabulary.mandatoryPurposes.contains(purpose), clientIP: clientIP)
    }
}

/// UserCreate (01-auth §2.3), validated as a whole.
struct SignupRequest: Sendable {
    var phoneNumber: String
    var otp: String?
    var profile: Profile
    var preferences: Preferences
    var consents: [SignupConsent]

    static let purposes = ConsentVocabulary.productPurposes + ["hospital_sharing"]

    init(_ body: JSONObject, production: Bool) throws {
        var reader = FieldReader(body)
        let name = reader.required("name", ProfileRules.name)
        let phone = reader.required("phone_number", .string(pattern: .phoneNumber))
        let otp: String? = production ? reader.required("otp", .string(pattern: .otp)) : reader.optional("otp", .string(pattern: .otp)).value
        let age = reader.optional("age", ProfileRules.age).value
        let gender = reader.optional("gender", ProfileRules.gender).value
        let bloodGroup = reader.optional("blood_group", ProfileRules.bloodGroup).value
        let allergies = reader.optional("allergies", ProfileRules.items).value ?? []
        let conditions = reader.optional("conditions", ProfileRules.items).value ?? []
        let contact = reader.optional("emergency_contact", ProfileRules.emergencyContact).value
        let contactPhone = reader.optional("emergency_phone", ProfileRules.emergencyPhone).value
        let language = reader.optional("language", ProfileRules.language).value ?? "en"
        let emergencyEnabled = reader.optional("emergency_enabled", .boolean).value ?? true
        let medicineReminders = reader.optional("medicine_reminders", .boolean).value ?? true
        let consents = reader.required("consents", .list(maxItems: Int.max, of: Self.consentItem))
        try reader.validate()
        guard let name, let phone, let consents else { throw ServiceError.internalError }

        self.phoneNumber = phone
        self.otp = otp
        self.profile = Profile(
            name: name, age: age, gender: gender, bloodGroup: bloodGroup, allergies: allergies, conditions: conditions,
            emergencyContact: contact, emergencyPhone: contactPhone)
        self.preferences = Preferences(
            language: language, emergencyEnabled: emergencyEnabled, medicineReminders: medicineReminders, notificationEnabled: true,
            darkMode: false)
        self.consents = consents
    }

    /// ConsentItem: an object with a category, a product purpose, `granted` and an optional text.
    static let consentItem = FieldRule<SignupConsent> { value, loc in
        guard case .object(let object) = value else {
            return .failure(Issues(
                "model_attributes_type", loc, "Input should be a valid dictionary or object to extract fields from", input: value))
        }
        var reader = FieldReader(object, at: loc)
        let category = reader.required("data_category", .oneOf(ConsentVocabulary.dataCategories))
        let purpose = reader.required("purpose", .oneOf(purposes))
        let granted = reader.required("granted", .boolean)
        let text = reader.optional("consent_text", ProfileRules.consentText).value
        guard reader.issues.isEmpty, let category, let purpose, let granted else { return .failure(Issues(reader.issues)) }
        return .success(SignupConsent(
            dataCategory: category, purpose: ConsentVocabulary.canonicalPurpose(purpose), granted: granted, consentText: text))
    }

    /// The mandatory purposes not granted, in the spec's order; nil when all are.
    var missingMandatoryPurposes: [String]? {
        let missing = ConsentVocabulary.mandatoryPurposes.filter { purpose in
            !consents.contains { $0.purpose == purpose && $0.granted }
        }
        return missing.isEmpty ? nil : missing
    }

    /// The first purpose listed twice.
    var duplicatePurpose: String? {
        var seen: Set<String> = []
        for consent in consents where !seen.insert(consent.purpose).inserted { return consent.purpose }
        return nil
    }
}

/// `PUT /auth/me`: the keys present are applied to the profile; any bad one rejects the update.
struct ProfileUpdate: Sendable {
    var name: Field<String>
    var age: Field<Int>
    var gender: Field<String>
    var bloodGroup: Field<String>
    var allergies: Field<[String]>
    var conditions: Field<[String]>
    var emergencyContact: Field<String>
    var emergencyPhone: Field<String>

    init(_ body: JSONObject) throws {
        var reader = FieldReader(body)
        name = reader.nonNull("name", ProfileRules.name)
        age = reader.optional("age", ProfileRules.age)
        gender = reader.optional("gender", ProfileRules.gender)
        bloodGroup = reader.optional("blood_group", ProfileRules.bloodGroup)
        allergies = reader.optional("allergies", ProfileRules.items)
        conditions = reader.optional("conditions", ProfileRules.items)
        emergencyContact = reader.optional("emergency_contact", ProfileRules.emergencyContact)
        emergencyPhone = reader.optional("emergency_phone", ProfileRules.emergencyPhone)
        try reader.validate()
    }

    func applied(to original: Profile) -> Profile {
        var profile = original
        if let name = name.value { profile.name = name }
        Self.set(&profile.age, age)
        Self.set(&profile.gender, gender)
        Self.set(&profile.bloodGroup, bloodGroup)
        Self.set(&profile.emergencyContact, emergencyContact)
        Self.set(&profile.emergencyPhone, emergencyPhone)
        Self.set(&profile.allergies, allergies)
        Self.set(&profile.conditions, conditions)
        return profile
    }

    /// Absent keeps the value, null clears it.
    static func set<Value>(_ target: inout Value?, _ field: Field<Value>) {
        switch field {
        case .value(let value): target = value
        case .null: target = nil
        case .absent, .invalid: break
        }
    }

    /// Absent keeps the list, null clears it to [].
    static func set(_ target: inout [String], _ field: Field<[String]>) {
        switch field {
        case .value(let items): target = items
        case .null: target = []
        case .absent, .invalid: break
        }
    }
}

/// `PUT /auth/preferences`: null or absent keeps a value.
struct PreferencesUpdate: Sendable {
    var language: String?
    var emergencyEnabled: Bool?
    var medicineReminders: Bool?
    var notificationEnabled: Bool?
    var darkMode: Bool?

    init(_ body: JSONObject) throws {
        var reader = FieldReader(body)
        language = reader.optional("language", ProfileRules.language).value
        emergencyEnabled = reader.optional("emergency_enabled", .boolean).value
        medicineReminders = reader.optional("medicine_reminders", .boolean).value
        notificationEnabled = reader.optional("notification_enabled", .boolean).value
        darkMode = reader.optional("dark_mode", .boolean).value
        try reader.validate()
    }

    func applied(to original: Preferences) -> Preferences {
        var preferences = original
        if let language { preferences.language = language }
        if let emergencyEnabled { preferences.emergencyEnabled = emergencyEnabled }
        if let medicineReminders { preferences.medicineReminders = medicineReminders }
        if let notificationEnabled { preferences.notificationEnabled = notificationEnabled }
        if let darkMode { preferences.darkMode = darkMode }
        return preferences
    }
}

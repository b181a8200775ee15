/// The consent vocabularies of 02-consent-and-rights §3, in the order the 400 texts list them.
public enum ConsentVocabulary {
    /// §3.1
    public static let dataCategories = [
        "location", "mental_health", "documents", "medications", "diagnostics", "emergency", "health_records",
        "personal_info", "ai_symptoms",
    ]

    /// §3.2: the purposes the app shows and the system enforces.
    public static let productPurposes = [
        "emergency_sharing", "health_record_storage", "ai_symptom_checker", "mental_health_processing",
        "medicine_reminders", "hospital_data_sharing",
    ]

    /// §3.2: kept from the reference's DPDP API.
    public static let generalPurposes = ["emergency", "treatment", "storage", "ai_processing", "reminder", "analytics", "sharing"]

    public static let purposes = generalPurposes + productPurposes

    /// §3.3
    public static let recipients = ["self", "hospital", "ambulance", "ai_service", "emergency_responder", "healthcare_worker"]

    /// §3.5: must be granted at signup; their signup records cannot be revoked.
    public static let mandatoryPurposes = ["emergency_sharing", "health_record_storage", "ai_symptom_checker"]

    /// The older name the auth API accepted for `hospital_data_sharing` (01-auth §2.3).
    public static func canonicalPurpose(_ purpose: String) -> String {
        purpose == "hospital_sharing" ? "hospital_data_sharing" : purpose
    }

    /// §3.4: (data_category, purpose, granted_to) patterns that also count as a product purpose;
    /// nil for granted_to means any recipient.
    static let equivalents: [String: [(category: String, purpose: String, recipient: String?)]] = [
        "emergency_sharing": [("emergency", "emergency", nil)],
        "health_record_storage": [("health_records", "storage", nil), ("documents", "storage", nil)],
        "ai_symptom_checker": [("diagnostics", "ai_processing", nil), ("ai_symptoms", "ai_processing", nil)],
        "mental_health_processing": [("mental_health", "ai_processing", nil)],
        "medicine_reminders": [("medications", "reminder", nil)],
        "hospital_data_sharing": [("health_records", "sharing", "hospital"), ("health_records", "sharing", "healthcare_worker")],
    ]

    /// Whether a record with these fields counts as `purpose` (§3.4). For a purpose that is not a
    /// product purpose only an exact purpose match counts.
    public static func counts(dataCategory: String, purpose recordPurpose: String, grantedTo: String, as purpose: String) -> Bool {
        if recordPurpose == purpose { return true }
        return (equivalents[purpose] ?? []).contains { pattern in
            pattern.category == dataCategory && pattern.purpose == recordPurpose && (pattern.recipient.map { $0 == grantedTo } ?? true)
        }
    }

    /// The product purpose a (category, purpose, recipient) triple counts as, if any (§4.4 step 2).
    public static func productPurpose(dataCategory: String, purpose: String, grantedTo: String) -> String? {
        if productPurposes.contains(purpose) { return purpose }
        return productPurposes.first { counts(dataCategory: dataCategory, purpose: purpose, grantedTo: grantedTo, as: $0) }
    }

    /// The stored purposes that can count as `purpose`, to narrow a query.
    static func candidatePurposes(for purpose: String) -> [String] {
        var result = [purpose]
        for pattern in equivalents[purpose] ?? [] where !result.contains(pattern.purpose) { result.append(pattern.purpose) }
        return result
    }
}

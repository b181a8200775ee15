import ServiceKit

/// The shape of the export's `data` and the erasure's `records_deleted` (02 §4.5, §4.6): the
/// spec's keys in its order, each present even when no service of this deployment holds that
/// part, then any further participant, then the correction requests.
enum RightsLayout {
    /// What an area without a participant exports.
    static let exportDefaults: [(key: String, empty: JSONValue)] = [
        ("profile", .null),
        ("consents", []),
        ("audit_logs", []),
        ("medicine", ["medications": [], "schedules": [], "dose_events": [], "prescriptions": []]),
        ("diagnostics", ["triage_sessions": []]),
        ("mental_health", ["messages": [], "risk_events": [], "daily_summaries": [], "preferences": nil]),
        ("sos", ["events": [], "emergency_profile": nil]),
        ("health_records", ["records": []]),
    ]

    static let erasureKeys = ["account", "consents", "diagnostics", "medicine", "mental_health", "sos", "health_records"]

    static let lastKey = "correction_requests"

    /// `parts` laid out: the fixed keys (their defaults when missing), the rest in the order
    /// given, the correction requests last.
    static func ordered(_ parts: [(key: String, value: JSONValue)], fixed: [(key: String, empty: JSONValue)], last: JSONValue) -> JSONObject {
        var object = JSONObject(fixed.map { ($0.key, $0.empty) })
        for part in parts where part.key != lastKey { object[part.key] = part.value }
        object[lastKey] = parts.last { $0.key == lastKey }?.value ?? last
        return object
    }
}

import ServiceKit

/// The final answer of a triage (`final_output`, 03-diagnostics §2.4).
public struct TriageOutput: Sendable, Equatable {
    public enum Severity: String, Sendable { case low, medium, critical }

    public struct PossibleCause: Sendable, Equatable {
        public var name: String
        public var confidence: Double
    }

    public var summary: String
    public var severity: Severity
    public var possibleCauses: [PossibleCause]
    public var homeCare: [String]
    public var prevention: [String]
    public var redFlags: [String]
    public var whenToSeekCare: [String]
    public var disclaimer: String

    public var json: JSONObject {
        [
            "summary": .string(summary),
            "severity": .string(severity.rawValue),
            "possible_causes": .array(possibleCauses.map { ["name": .string($0.name), "confidence": .double($0.confidence)] }),
            "home_care": JSONValue(homeCare),
            "prevention": JSONValue(prevention),
            "red_flags": JSONValue(redFlags),
            "when_to_seek_care": JSONValue(whenToSeekCare),
            "disclaimer": .string(disclaimer),
        ]
    }
}

/// A follow-up question (03-diagnostics §2.3).
public struct TriageQuestion: Sendable, Equatable {
    public var id: String
    public var text: String
    public var options: [String]
    public var allowCustom: Bool

    public var json: JSONObject {
        ["id": .string(id), "text": .string(text), "options": JSONValue(options), "allow_custom": .bool(allowCustom)]
    }
}

/// The question catalogue (03-diagnostics §5). Entries marked "not asked" in the spec are kept so
/// the catalogue reads like the spec; no rule selects them.
public enum QuestionCatalogue {
    public static let systemic1 = TriageQuestion(
        id: "q_systemic_1", text: "How high is your fever and how long has it lasted?",
        options: ["Low grade (<38C), <2 days", "High grade (>38C), <2 days", "Any fever > 3 days"], allowCustom: true)
    public static let systemic2 = TriageQuestion(
        id: "q_systemic_2", text: "Are you experiencing severe dehydration (dry mouth, no urine)?",
        options: ["Yes", "No"], allowCustom: false)
    public static let gastrointestinal1 = TriageQuestion(
        id: "q_gi_1", text: "Do you have any nausea, vomiting, or diarrhea?",
        options: ["Yes, nausea only", "Vomiting", "Diarrhea", "None"], allowCustom: true)
    public static let headache1 = TriageQuestion(
        id: "q_headache_1", text: "Is the headache throbbing, squeezing, or sharp?",
        options: ["Throbbing", "Squeezing (band-like)", "Sharp/Stabbing"], allowCustom: true)
    public static let general1 = TriageQuestion(
        id: "q_general_1", text: "Can you describe your symptoms in more detail?",
        options: ["pain", "weakness", "discomfort"], allowCustom: true)
    public static let wound1 = TriageQuestion(
        id: "q_wound_1", text: "Is the wound deep or showing signs of infection (pus, warmth)?",
        options: ["Superficial, clean", "Deep, bleeding controlled", "Signs of infection"], allowCustom: true)
    public static let wound2 = TriageQuestion(
        id: "q_wound_2", text: "Is the bleeding uncontrollable?", options: ["Yes", "No - stopped with pressure"], allowCustom: false)
    public static let skin1 = TriageQuestion(
        id: "q_skin_1", text: "Is the rash itchy or painful?", options: ["Itchy", "Painful", "Both", "Neither"], allowCustom: true)
    public static let skin2 = TriageQuestion(
        id: "q_skin_2", text: "Is the rash spreading rapidly?", options: ["Yes", "No", "Stable"], allowCustom: false)
    public static let musculoskeletal1 = TriageQuestion(
        id: "q_musculo_1", text: "How did the pain start and how long have you had it?",
        options: ["Sudden injury/trauma", "Gradual onset, < 1 week", "Chronic, > 1 week"], allowCustom: true)
    public static let musculoskeletal2 = TriageQuestion(
        id: "q_musculo_2", text: "Is there any swelling, redness, or limited movement?",
        options: ["Yes, swelling", "Yes, redness/warmth", "Limited movement", "None of these"], allowCustom: true)
    public static let continue1 = TriageQuestion(
        id: "q_continue_1", text: "Do you want to continue (upload another image or describe symptoms) to improve accuracy?",
        options: ["Yes, upload another image", "Yes, add symptoms in text", "No, finalize now"], allowCustom: false)
    public static let uploadPrompt = TriageQuestion(
        id: "q_upload_prompt", text: "Please upload the next image.", options: [], allowCustom: false)

    public static let all = [
        systemic1, systemic2, gastrointestinal1, headache1, general1, wound1, wound2, skin1, skin2,
        musculoskeletal1, musculoskeletal2, continue1, uploadPrompt,
    ]
}

/// Chooses the first question of a text session (03-diagnostics §5).
public enum QuestionSelector {
    static let infection = ["fever", "chills", "shivering", "hot"]
    static let vomiting = ["vomit", "throwing up", "puke"]
    static let longDuration = ["2 day", "3 day", "4 day", "5 day", "week"]
    static let headache = ["headache", "head pain", "migraine"]
    static let stomach = ["uneasy", "stomach", "nausea", "indigestion", "bloating", "gas"]
    static let musculoskeletal = [
        "pain", "ache", "sore", "hurt", "swelling", "stiff", "sprain", "strain", "thumb", "finger", "hand", "wrist",
        "arm", "elbow", "shoulder", "knee", "ankle", "foot", "toe", "leg", "hip", "back", "neck", "joint",
    ]

    /// `combinedText` is normalised; `duration` is the session's raw duration, if any.
    public static func select(combinedText text: String, duration: String?) -> TriageQuestion {
        let duration = duration.map(TriageText.normalise) ?? ""
        if TriageText.containsAny(infection, in: text) { return QuestionCatalogue.systemic1 }
        let vomits = TriageText.containsAny(vomiting, in: text)
        if vomits, TriageText.containsAny(longDuration, in: duration) { return QuestionCatalogue.systemic1 }
        if TriageText.containsAny(headache, in: text) { return QuestionCatalogue.headache1 }
        if vomits || TriageText.containsAny(stomach, in: text) { return QuestionCatalogue.gastrointestinal1 }
        if TriageText.containsAny(musculoskeletal, in: text) { return QuestionCatalogue.musculoskeletal1 }
        return QuestionCatalogue.general1
    }
}

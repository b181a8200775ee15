/// The deterministic final analysis (03-diagnostics §7): a category from the session's text and
/// photo findings, then that category's fixed outcome.
public enum FinalAnalysis {
    public enum Category: String, Sendable, CaseIterable {
        case systemic, wound, skin, musculoskeletal, headache, gastrointestinal, respiratory, autonomic, general
    }

    static let autonomic = ["sweating", "sweat", "shivering", "shiver", "trembling", "tremble", "shaking", "clammy", "cold sweat"]
    /// Matched as plain substrings, not at word starts.
    static let noFeverPhrases = [
        "no fever", "don't have a fever", "don't have fever", "not have fever", "no temperature", "haven't got fever",
        "i don't have a fever", "i dont have fever",
    ]
    static let infection = ["fever", "chills", "cold", "flu", "temperature"]
    static let headache = ["headache", "head pain", "migraine", "head ache"]
    static let respiratory = ["cough", "breathing", "breath", "chest pain", "wheezing", "congestion", "runny nose", "sore throat", "throat pain"]
    static let stomach = [
        "stomach", "nausea", "vomit", "diarrhea", "bloating", "stomach pain", "abdominal", "belly", "gastric", "indigestion",
        "acid reflux", "heartburn",
    ]
    static let skin = ["rash", "itchy", "itching", "hives", "skin", "bump", "acne", "pimple"]
    static let bodyParts = [
        "thumb", "finger", "hand", "wrist", "arm", "elbow", "shoulder", "knee", "ankle", "foot", "toe", "leg", "hip", "back",
        "neck", "joint", "muscle", "spine",
    ]
    static let musculoskeletal = ["sprain", "strain", "swelling", "stiff", "ache", "sore", "injury"]
    /// The parts that can name the area in the musculoskeletal summary (no `muscle`, `spine`).
    static let summaryParts = Array(bodyParts.prefix(16))

    /// The category. In mixed mode (the session has photos) the photo findings decide first;
    /// otherwise, and when they say nothing decisive, the text rules run on the combined text.
    public static func category(combinedText text: String, observations: [VisionObservation]) -> Category {
        let findings = observations.flatMap(\.findings).map(TriageText.normalise)
        if findings.contains(where: { $0.containsText("open wound") || $0.containsText("bleeding") }) { return .wound }
        if findings.contains(where: { $0.containsText("redness") || $0.containsText("rash") }) { return .skin }

        let hasAutonomic = TriageText.containsAny(autonomic, in: text)
        let deniesFever = noFeverPhrases.contains { text.containsText($0) }
        let hasInfection = TriageText.containsAny(infection, in: text)
        if hasAutonomic && deniesFever { return .autonomic }
        if hasAutonomic && !hasInfection { return .autonomic }
        if TriageText.containsAny(headache, in: text) { return .headache }
        if hasInfection && !deniesFever { return .systemic }
        if TriageText.containsAny(respiratory, in: text) { return .respiratory }
        if TriageText.containsAny(stomach, in: text) { return .gastrointestinal }
        if TriageText.containsAny(skin, in: text) { return .skin }
        if TriageText.containsAny(bodyParts + musculoskeletal, in: text) { return .musculoskeletal }
        return .general
    }

    /// The final output for a session's combined text and photos.
    public static func output(combinedText text: String, observations: [VisionObservation]) -> TriageOutput {
        outcome(for: category(combinedText: text, observations: observations), combinedText: text)
    }

    static let disclaimer = "This is not a medical diagnosis. Consult a professional."

    private static func make(
        _ summary: String, _ severity: TriageOutput.Severity, causes: KeyValuePairs<String, Double>, homeCare: [String],
        prevention: [String], redFlags: [String], seekCare: [String]
    ) -> TriageOutput {
        TriageOutput(
            summary: summary, severity: severity,
            possibleCauses: causes.map { TriageOutput.PossibleCause(name: $0.key, confidence: $0.value) },
            homeCare: homeCare, prevention: prevention, redFlags: redFlags, whenToSeekCare: seekCare, disclaimer: disclaimer)
    }

    /// The fixed outcome of a category (03-diagnostics §7.2).
    public static func outcome(for category: Category, combinedText text: String) -> TriageOutput {
        switch category {
        case .systemic:
            make("Symptoms consistent with a viral illness or systemic infection.", .medium,
                 causes: ["Viral Influenza": 0.78, "Common Cold": 0.65],
                 homeCare: ["Rest and hydration", "Over-the-counter antipyretics"],
                 prevention: ["Wash hands frequently"],
                 redFlags: ["Stiff neck", "Confusion", "Difficulty breathing"],
                 seekCare: ["If fever persists > 3 days", "If unable to keep fluids down"])
        case .wound:
            make("Observation of an open wound.", .medium,
                 causes: ["Laceration": 0.85, "Abrasion": 0.80],
                 homeCare: ["Clean with water", "Apply antibiotic ointment", "Cover with sterile bandage"],
                 prevention: ["Keep environment safe"],
                 redFlags: ["Uncontrollable bleeding", "Signs of infection (pus, red streaks)"],
                 seekCare: ["If wound is deep (needs stitches)", "If bleeding doesn't stop"])
        case .skin:
            make("Symptoms suggest a localized skin reaction.", .low,
                 causes: ["Contact Dermatitis": 0.75, "Insect Bite": 0.60],
                 homeCare: ["Keep clean and dry", "Apply cold compress"],
                 prevention: ["Avoid potential allergens"],
                 redFlags: ["Rapidly spreading redness", "High fever"],
                 seekCare: ["If symptoms worsen after 24 hours"])
        case .musculoskeletal:
            make("Symptoms suggest a musculoskeletal issue affecting \(TriageText.firstMatch(of: summaryParts, in: text) ?? "the affected area").",
                 .low,
                 causes: ["Strain or Overuse Injury": 0.75, "Minor Sprain": 0.65, "Repetitive Stress Injury": 0.55, "Joint Inflammation": 0.45],
                 homeCare: [
                    "Rest the affected area and avoid movements that make the pain worse",
                    "Apply ice for 15-20 minutes at a time, several times a day",
                    "Over-the-counter pain relief such as ibuprofen or acetaminophen",
                    "Gentle stretching once the sharp pain settles",
                 ],
                 prevention: ["Take regular breaks from repetitive movements", "Keep good posture and a comfortable workspace", "Warm up before exercise"],
                 redFlags: [
                    "Severe swelling or a visible deformity", "Inability to move the area or bear weight on it", "Numbness or tingling",
                    "Pain that keeps getting worse despite rest",
                 ],
                 seekCare: ["If pain lasts more than 1 week", "If swelling does not improve", "If you cannot use the affected body part"])
        case .headache:
            make("Symptoms suggest a tension or stress-related headache.", .low,
                 causes: ["Tension Headache": 0.80, "Dehydration": 0.60, "Eye Strain": 0.50],
                 homeCare: ["Rest in a quiet, dark room", "Stay hydrated", "Over-the-counter pain relievers", "Apply cold or warm compress to forehead"],
                 prevention: ["Manage stress", "Get adequate sleep", "Limit screen time"],
                 redFlags: ["Sudden severe headache", "Headache with fever and stiff neck", "Vision changes"],
                 seekCare: ["If headache is the worst of your life", "If accompanied by confusion"])
        case .gastrointestinal:
            make("Symptoms suggest a gastrointestinal issue.", .low,
                 causes: ["Indigestion": 0.70, "Gastritis": 0.55, "Food Intolerance": 0.50],
                 homeCare: ["Eat bland foods", "Stay hydrated with clear fluids", "Avoid spicy, fatty, or acidic foods", "Rest and avoid strenuous activity"],
                 prevention: ["Eat smaller meals", "Avoid trigger foods", "Don't lie down right after eating"],
                 redFlags: ["Severe abdominal pain", "Blood in vomit or stool", "High fever"],
                 seekCare: ["If symptoms persist more than 2 days", "If unable to keep fluids down"])
        case .respiratory:
            make("Symptoms suggest a respiratory issue such as a common cold or upper respiratory infection.", .low,
                 causes: ["Common Cold": 0.75, "Upper Respiratory Infection": 0.70, "Allergies": 0.55, "Bronchitis": 0.40],
                 homeCare: [
                    "Get plenty of rest", "Drink warm fluids such as soup or herbal tea",
                    "Honey can ease a cough (never for children under 1 year)", "Use a saline nasal spray or steam inhalation",
                    "Over-the-counter decongestants if needed",
                 ],
                 prevention: ["Wash hands frequently", "Avoid close contact with sick people", "Get adequate sleep"],
                 redFlags: ["Difficulty breathing", "Chest pain", "High fever (>39°C/102°F)", "Symptoms lasting >10 days"],
                 seekCare: ["If breathing becomes difficult", "If cough produces blood", "If fever persists >3 days"])
        case .autonomic:
            make("Symptoms suggest an autonomic nervous system response, possibly related to stress, anxiety, blood sugar changes, or temperature regulation.",
                 .low,
                 causes: [
                    "Anxiety or Panic Response": 0.75, "Low Blood Sugar (Hypoglycemia)": 0.65, "Stress Response": 0.60,
                    "Caffeine or Stimulant Effect": 0.45, "Cold Exposure": 0.40,
                 ],
                 homeCare: [
                    "If your blood sugar may be low, eat or drink something sugary", "Breathe slowly and deeply",
                    "Move somewhere with a comfortable temperature", "Lie down if you feel dizzy or weak", "Drink water",
                 ],
                 prevention: ["Eat regular, balanced meals", "Practise stress management", "Cut down on caffeine", "Get enough sleep"],
                 redFlags: ["Chest pain", "Difficulty breathing", "Confusion", "Symptoms that do not improve after eating"],
                 seekCare: ["If episodes are frequent or keep coming back", "If you faint", "If you have diabetes and these symptoms occur"])
        case .general:
            make("General health concern noted. Based on your symptoms: \(String(text.prefix(100)))...", .low,
                 causes: ["General Discomfort": 0.60, "Minor Health Issue": 0.50],
                 homeCare: ["Get adequate rest", "Stay hydrated", "Monitor symptoms for changes"],
                 prevention: ["Maintain healthy lifestyle", "Regular exercise", "Balanced diet"],
                 redFlags: ["Symptoms worsening rapidly", "New severe symptoms appearing"],
                 seekCare: ["If symptoms persist or worsen", "If you develop new concerns"])
        }
    }
}

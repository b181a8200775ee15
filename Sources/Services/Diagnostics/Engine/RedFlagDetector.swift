/// The emergency red flags (03-diagnostics §6.1) and the choice of emergency type (§6.2).
///
/// The patterns are regular expressions searched in the normalised combined text. Each starts at a
/// word boundary. They use only literals, `.`, `?`, `*` and `\b`, which `TextPattern` implements
/// with the word definition of §4.2 (letters, digits, `_`); `.` does not cross the newline between
/// two messages.
public enum RedFlagDetector {
    public enum Group: String, Sendable, CaseIterable {
        case mentalHealth = "mental health", cardiac, respiratory, neurological, trauma, other
    }

    public struct Pattern: Sendable {
        public let group: Group
        /// The pattern as the spec writes it (without the leading `\b`).
        public let source: String
        let pattern: TextPattern
    }

    public static let patterns: [Pattern] = {
        let table: [(Group, [String])] = [
            (.mentalHealth, ["suicid", "kill myself", "want to die", "end my life", "harm myself", "self.?harm"]),
            (.cardiac, ["cardiac arrest", "heart attack", "heart stop", #"chest pain\b"#, "chest tightness", "chest pressure",
                        "heart racing", "irregular heartbeat", "palpitation"]),
            (.respiratory, [#"cant breathe\b"#, #"can't breathe\b"#, "cannot breathe", "difficulty breathing", "shortness of breath",
                            "choking", "can't get air", "gasping"]),
            (.neurological, [#"stroke\b"#, "seizure", "convulsion", "slurred speech", "face droop", "arm weakness", "sudden confusion",
                             "sudden numbness", "worst headache", "thunderclap headache", "loss of consciousness", "passed out",
                             "fainted", "unresponsive"]),
            (.trauma, ["severe bleeding", "uncontrollable bleeding", "head injury", "head trauma", "severe burn", "electrocution"]),
            (.other, ["overdose", "poisoning", "allergic reaction.*severe", "anaphyla", "swelling.*throat", "throat.*closing"]),
        ]
        return table.flatMap { group, sources in
            sources.map { source in
                Pattern(group: group, source: source, pattern: TextPattern(#"\b"# + source))
            }
        }
    }()

    /// The patterns that match the normalised combined text, in table order.
    public static func matches(in text: String) -> [Pattern] {
        let scalars = Array(text.unicodeScalars)
        return patterns.filter { $0.pattern.matches(in: scalars) }
    }

    public enum EmergencyType: String, Sendable {
        case cardiac, respiratory, stroke, mentalHealth = "mental health", generic
    }

    static let typeKeywords: [(EmergencyType, [String])] = [
        (.cardiac, ["cardiac", "heart", "chest pain", "chest tight", "chest pressure"]),
        (.respiratory, ["breathe", "breathing", "choking", "gasping", "air"]),
        (.stroke, ["stroke", "slurred", "face droop", "arm weak", "sudden numb"]),
        (.mentalHealth, ["suicid", "kill myself", "want to die", "end my life", "harm myself", "self harm", "self-harm", "selfharm"]),
    ]

    /// The emergency type: the first group of §6.2 whose keywords match, else generic.
    public static func emergencyType(for text: String) -> EmergencyType {
        typeKeywords.first { TriageText.containsAny($0.1, in: text) }?.0 ?? .generic
    }

    /// The emergency output when a red flag matches `text`, else nil.
    public static func assess(_ text: String) -> TriageOutput? {
        let matched = matches(in: text)
        guard !matched.isEmpty else { return nil }
        return EmergencyOutput.make(
            type: emergencyType(for: text),
            addSupportLines: matched.contains { $0.group == .mentalHealth })
    }
}

/// The emergency outputs (03-diagnostics §6.3).
public enum EmergencyOutput {
    static let callNow = "Call 112 (or 108 for an ambulance) immediately"
    static let startCPR = "If the person stops responding and is not breathing normally, start CPR"

    public static let supportLines = [
        "Tele-MANAS (free, 24x7): 14416 or 1-800-891-4416",
        "In immediate danger call 112",
        "iCall (India): 9152987821",
        "Vandrevala Foundation (India): 1860-2662-345",
    ]

    /// The output for `type`; the support lines are appended to a physical emergency's home care
    /// when a mental-health pattern matched as well (the mental-health type always carries them).
    public static func make(type: RedFlagDetector.EmergencyType, addSupportLines: Bool) -> TriageOutput {
        let (summary, homeCare) = content(for: type)
        return TriageOutput(
            summary: summary,
            severity: .critical,
            possibleCauses: [],
            homeCare: type != .mentalHealth && addSupportLines ? homeCare + supportLines : homeCare,
            prevention: [],
            redFlags: ["THIS IS AN EMERGENCY - Do not delay seeking help"],
            whenToSeekCare: [
                "🚨 SEEK HELP NOW - Call 112 (or 108 for an ambulance) immediately",
                "Go to the nearest emergency room",
                "Do NOT drive yourself - have someone else drive or call ambulance",
            ],
            disclaimer: "This system has detected potential emergency symptoms. This is NOT a diagnosis - emergency services can provide proper evaluation.")
    }

    private static func content(for type: RedFlagDetector.EmergencyType) -> (summary: String, homeCare: [String]) {
        switch type {
        case .cardiac:
            ("🚨 CRITICAL: POTENTIAL CARDIAC EMERGENCY DETECTED", [
                callNow, "Stop all activity and sit or lie down comfortably",
                "Chew one regular aspirin (325 mg) only if you are not allergic and no doctor has told you to avoid it",
                "Loosen tight clothing", startCPR,
            ])
        case .respiratory:
            ("🚨 CRITICAL: BREATHING EMERGENCY DETECTED", [
                callNow, "Sit upright - do not lie flat", "Use your prescribed rescue inhaler if you have one",
                "Loosen tight clothing and try to breathe slowly",
                "If someone is choking and cannot speak or cough, give abdominal thrusts",
            ])
        case .stroke:
            ("🚨 CRITICAL: POTENTIAL STROKE - TIME IS CRITICAL", [
                callNow, "Note the time the symptoms started",
                "Check F.A.S.T.: Face drooping, Arm weakness, Speech difficulty, Time to call",
                "Do not eat, drink or take medicines", "If drowsy or vomiting, lie on your side with the head slightly raised",
            ])
        case .mentalHealth:
            ("🚨 CRISIS SUPPORT NEEDED - You are not alone",
             ["You are not alone - please reach out right now"] + supportLines
                + ["Stay with someone you trust and move away from anything you could use to hurt yourself"])
        case .generic:
            ("🚨 CRITICAL: EMERGENCY SYMPTOMS DETECTED", [
                callNow, "Stay with the person and keep them still and comfortable", "Do not give food or drink",
                startCPR, "Follow the emergency operator's instructions",
            ])
        }
    }
}

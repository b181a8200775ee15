import Testing

@testable import DiagnosticsService

/// Table-driven tests of the pure triage rules (03-diagnostics §4-§7).
@Suite struct TriageRulesTests {
    // MARK: §4.2 text

    @Test(arguments: [
        ("I’ve  got\n\tA   HEADACHE", "i've got a headache"),
        ("It‘s   fine", "it's fine"),
        ("plain", "plain"),
    ])
    func normalisation(input: String, expected: String) {
        #expect(TriageText.normalise(input) == expected)
    }

    @Test(arguments: [
        ("air", "i can't get air", true),
        ("air", "i sat on a chair", false),
        ("air", "my hair hurts", false),
        ("arm", "i want to harm", false),
        ("arm", "my arm hurts", true),
        ("hot", "i got a shot", false),
        ("hot", "i feel hot", true),
        ("sweat", "i am sweating", true),
        ("suicid", "feeling suicidal", true),
        ("chest pain", "sharp chest pain", true),
        ("chest pain", "chest-pain", false),
        ("back", "(back) pain", true),
        ("back", "_back", false),
        ("leg", "9leg", false),
        ("leg", "leg", true),
    ])
    func keywordMatchesAtWordStart(keyword: String, text: String, expected: Bool) {
        #expect(TriageText.contains(keyword: keyword, in: text) == expected)
    }

    @Test func combinedTextJoinsMessagesAndPhotoLines() {
        let photo = VisionObservation(findings: ["Redness", "mild swelling"], description: "A red patch.", model: "m")
        let text = TriageText.combined(userTexts: ["First  TEXT", "second"], observations: [photo])
        #expect(text == "first text\nsecond\n[photo] a red patch. redness, mild swelling")
    }

    // MARK: §6.1 each red-flag pattern

    static let redFlagSamples: [(pattern: String, text: String)] = [
        ("suicid", "i have suicidal thoughts"),
        ("kill myself", "i want to kill myself"),
        ("want to die", "i just want to die"),
        ("end my life", "thinking to end my life"),
        ("harm myself", "i might harm myself"),
        ("self.?harm", "history of self-harm"),
        ("cardiac arrest", "dad had a cardiac arrest"),
        ("heart attack", "is this a heart attack"),
        ("heart stop", "felt my heart stopping"),
        (#"chest pain\b"#, "crushing chest pain since noon"),
        ("chest tightness", "chest tightness when walking"),
        ("chest pressure", "some chest pressure"),
        ("heart racing", "my heart racing all night"),
        ("irregular heartbeat", "an irregular heartbeat"),
        ("palpitation", "palpitations at rest"),
        (#"cant breathe\b"#, "i cant breathe"),
        (#"can't breathe\b"#, "i can't breathe properly"),
        ("cannot breathe", "cannot breathe lying down"),
        ("difficulty breathing", "difficulty breathing"),
        ("shortness of breath", "shortness of breath"),
        ("choking", "baby is choking"),
        ("can't get air", "i can't get air in"),
        ("gasping", "gasping for air"),
        (#"stroke\b"#, "i think it's a stroke"),
        ("seizure", "had a seizure"),
        ("convulsion", "convulsions this morning"),
        ("slurred speech", "slurred speech"),
        ("face droop", "face drooping on one side"),
        ("arm weakness", "sudden arm weakness"),
        ("sudden confusion", "sudden confusion"),
        ("sudden numbness", "sudden numbness in leg"),
        ("worst headache", "worst headache of my life"),
        ("thunderclap headache", "a thunderclap headache"),
        ("loss of consciousness", "brief loss of consciousness"),
        ("passed out", "passed out at work"),
        ("fainted", "she fainted"),
        ("unresponsive", "he is unresponsive"),
        ("severe bleeding", "severe bleeding from the cut"),
        ("uncontrollable bleeding", "uncontrollable bleeding"),
        ("head injury", "head injury after a fall"),
        ("head trauma", "head trauma"),
        ("severe burn", "a severe burn on the hand"),
        ("electrocution", "electrocution at home"),
        ("overdose", "took an overdose"),
        ("poisoning", "possible food poisoning"),
        ("allergic reaction.*severe", "allergic reaction, quite severe"),
        ("anaphyla", "history of anaphylaxis"),
        ("swelling.*throat", "swelling in my throat"),
        ("throat.*closing", "my throat is closing"),
    ]

    @Test func everyPatternHasASample() {
        #expect(Set(Self.redFlagSamples.map(\.pattern)) == Set(RedFlagDetector.patterns.map(\.source)))
        #expect(RedFlagDetector.patterns.count == Self.redFlagSamples.count)
    }

    @Test(arguments: redFlagSamples)
    func eachRedFlagPatternMatches(pattern: String, text: String) {
        let matched = RedFlagDetector.matches(in: TriageText.normalise(text)).map(\.source)
        #expect(matched.contains(pattern), "\(pattern) should match \(text)")
        #expect(RedFlagDetector.assess(TriageText.normalise(text))?.severity == .critical)
    }

    @Test(arguments: [
        "chest painful after gym",       // `chest pain\b` has a trailing boundary
        "two strokes of the brush",      // `stroke\b`
        "i sat on a chair to breathe",   // no pattern
        "itself harmless",               // `\bself` needs a word start
        "mild headache",
        "allergic reaction\nnot severe", // `.` does not cross messages
        "i can't breathed",              // `can't breathe\b`
    ])
    func lookalikesDoNotMatch(text: String) {
        let normalised = text.split(separator: "\n").map { TriageText.normalise(String($0)) }.joined(separator: "\n")
        #expect(RedFlagDetector.assess(normalised) == nil)
    }

    // MARK: §6.2/§6.3 emergency type and output

    @Test(arguments: [
        ("crushing chest pain", "🚨 CRITICAL: POTENTIAL CARDIAC EMERGENCY DETECTED"),
        ("palpitations and my heart is racing", "🚨 CRITICAL: POTENTIAL CARDIAC EMERGENCY DETECTED"),
        ("i can't breathe", "🚨 CRITICAL: BREATHING EMERGENCY DETECTED"),
        ("gasping, can't get air", "🚨 CRITICAL: BREATHING EMERGENCY DETECTED"),
        ("slurred speech since noon", "🚨 CRITICAL: POTENTIAL STROKE - TIME IS CRITICAL"),
        ("i want to end my life", "🚨 CRISIS SUPPORT NEEDED - You are not alone"),
        ("thoughts of self-harm", "🚨 CRISIS SUPPORT NEEDED - You are not alone"),
        ("took an overdose", "🚨 CRITICAL: EMERGENCY SYMPTOMS DETECTED"),
        ("passed out in a chair", "🚨 CRITICAL: EMERGENCY SYMPTOMS DETECTED"), // "air" not in "chair"
    ])
    func emergencyType(text: String, summary: String) throws {
        let output = try #require(RedFlagDetector.assess(TriageText.normalise(text)))
        #expect(output.summary == summary)
        #expect(output.severity == .critical)
        #expect(output.possibleCauses.isEmpty && output.prevention.isEmpty)
        #expect(output.redFlags == ["THIS IS AN EMERGENCY - Do not delay seeking help"])
        #expect(output.whenToSeekCare.first == "🚨 SEEK HELP NOW - Call 112 (or 108 for an ambulance) immediately")
    }

    @Test func mentalHealthOutputCarriesSupportLinesInOrder() throws {
        let output = try #require(RedFlagDetector.assess("i want to kill myself"))
        #expect(output.homeCare == ["You are not alone - please reach out right now"] + EmergencyOutput.supportLines
            + ["Stay with someone you trust and move away from anything you could use to hurt yourself"])
        #expect(EmergencyOutput.supportLines.first == "Tele-MANAS (free, 24x7): 14416 or 1-800-891-4416")
    }

    @Test func physicalEmergencyWithSelfHarmWordsGetsSupportLines() throws {
        let output = try #require(RedFlagDetector.assess("chest pain and i want to die"))
        #expect(output.summary == "🚨 CRITICAL: POTENTIAL CARDIAC EMERGENCY DETECTED")
        #expect(output.homeCare.count == 5 + 4)
        #expect(Array(output.homeCare.suffix(4)) == EmergencyOutput.supportLines)

        let plain = try #require(RedFlagDetector.assess("chest pain"))
        #expect(plain.homeCare.count == 5)
        #expect(!plain.homeCare.contains(EmergencyOutput.supportLines[0]))
    }

    // MARK: §5 question selection

    @Test(arguments: [
        ("i have a fever", nil, "q_systemic_1"),
        ("chills at night", nil, "q_systemic_1"),
        ("i feel hot", nil, "q_systemic_1"),
        ("i got a shot yesterday", nil, "q_general_1"),     // "hot" is not at a word start
        ("vomiting", "3 days", "q_systemic_1"),
        ("vomiting", "for a week", "q_systemic_1"),
        ("vomiting", "since morning", "q_gi_1"),
        ("i have a headache since morning", nil, "q_headache_1"),
        ("migraine again", nil, "q_headache_1"),
        ("stomach feels uneasy", nil, "q_gi_1"),
        ("lots of gas", nil, "q_gi_1"),
        ("my knee hurts", nil, "q_musculo_1"),
        ("stiff neck", nil, "q_musculo_1"),
        ("i feel tired", nil, "q_general_1"),
    ] as [(String, String?, String)])
    func questionSelection(text: String, duration: String?, questionID: String) {
        #expect(QuestionSelector.select(combinedText: TriageText.normalise(text), duration: duration).id == questionID)
    }

    // MARK: §7 final analysis categories and outcomes

    @Test(arguments: [
        ("sweating but no fever", FinalAnalysis.Category.autonomic),
        ("cold sweat and i don't have a fever", .autonomic),
        ("shaking hands", .autonomic),                      // autonomic before body parts
        ("shivering with fever", .systemic),                // infection, no denial -> not autonomic
        ("headache and fever", .headache),
        ("fever and body pain", .systemic),
        ("no fever, just a sore throat", .respiratory),
        ("a bad cough", .respiratory),
        ("nausea after lunch", .gastrointestinal),
        ("heartburn at night", .gastrointestinal),
        ("itchy bumps", .skin),
        ("my wrist hurts", .musculoskeletal),
        ("a sprain", .musculoskeletal),
        ("i feel tired", .general),
        ("i sat on a chair", .general),
    ])
    func textCategory(text: String, category: FinalAnalysis.Category) {
        #expect(FinalAnalysis.category(combinedText: TriageText.normalise(text), observations: []) == category)
    }

    @Test func mixedModeFindingsDecideFirstThenText() {
        let wound = VisionObservation(findings: ["open wound", "jagged edges"], model: "m")
        let bleeding = VisionObservation(findings: ["Bleeding"], model: "m")
        let rash = VisionObservation(findings: ["rash"], model: "m")
        let plain = VisionObservation(findings: ["scab"], model: "m")
        #expect(FinalAnalysis.category(combinedText: "headache", observations: [wound]) == .wound)
        #expect(FinalAnalysis.category(combinedText: "headache", observations: [rash, bleeding]) == .wound)
        #expect(FinalAnalysis.category(combinedText: "headache", observations: [rash]) == .skin)
        // Nothing decisive in the photo: typed text decides (the reference defaulted to systemic).
        #expect(FinalAnalysis.category(combinedText: "headache", observations: [plain]) == .headache)
    }

    @Test(arguments: FinalAnalysis.Category.allCases)
    func everyOutcomeIsComplete(category: FinalAnalysis.Category) {
        let output = FinalAnalysis.outcome(for: category, combinedText: "text")
        #expect(output.severity == ([.systemic, .wound].contains(category) ? .medium : .low))
        #expect(output.disclaimer == "This is not a medical diagnosis. Consult a professional.")
        #expect(!output.possibleCauses.isEmpty && !output.homeCare.isEmpty && !output.whenToSeekCare.isEmpty)
        #expect(output.possibleCauses.allSatisfy { (0...1).contains($0.confidence) })
    }

    @Test func outcomeDetails() {
        let headache = FinalAnalysis.outcome(for: .headache, combinedText: "")
        #expect(headache.json["possible_causes"] == [
            ["name": "Tension Headache", "confidence": 0.8], ["name": "Dehydration", "confidence": 0.6],
            ["name": "Eye Strain", "confidence": 0.5],
        ])
        let musculo = FinalAnalysis.output(combinedText: "pain in my lower back and hip", observations: [])
        #expect(musculo.summary == "Symptoms suggest a musculoskeletal issue affecting hip.")  // list order, not text order
        let spine = FinalAnalysis.output(combinedText: "spine sprain", observations: [])
        #expect(spine.summary == "Symptoms suggest a musculoskeletal issue affecting the affected area.")
        let long = String(repeating: "abcdefghij", count: 12)
        let general = FinalAnalysis.output(combinedText: long, observations: [])
        #expect(general.summary == "General health concern noted. Based on your symptoms: \(long.prefix(100))...")
    }

    // MARK: §4 steps

    static let headacheText = "I have a headache since morning"

    @Test func firstTextAsksAndRecordsTheQuestion() {
        let step = TriageEngine.decide(TriageState(userTexts: [Self.headacheText]))
        #expect(step == .ask(QuestionCatalogue.headache1, record: true))
    }

    @Test func answerAfterQuestionCompletesWithAnalysis() {
        let state = TriageState(userTexts: [Self.headacheText, "Throbbing"], questionCount: 1)
        #expect(TriageEngine.answer(state, answer: "Throbbing").output?.summary == "Symptoms suggest a tension or stress-related headache.")
    }

    /// The reference finalised "now I also have chest pain" as a headache ("no" inside "now").
    @Test(arguments: [
        "now I also have chest pain",
        "No, finalize now. But I also have chest pain",
        "upload another image - oh and I can't breathe",
        "add symptoms: I want to end my life",
        "None. fainted twice though",
    ])
    func answersEscalateWhateverElseTheySay(answer: String) {
        let state = TriageState(userTexts: [Self.headacheText, answer], questionCount: 1)
        #expect(TriageEngine.answer(state, answer: answer).output?.severity == .critical)
    }

    @Test(arguments: [
        ("Yes, upload another image", "q_upload_prompt"),
        ("Yes, add symptoms in text", "q_general_1"),
    ])
    func optionAnswersAskAgainWithoutRecording(answer: String, questionID: String) throws {
        let state = TriageState(userTexts: [Self.headacheText, answer], questionCount: 1)
        let step = TriageEngine.answer(state, answer: answer)
        let question = try #require(step.question)
        #expect(question.id == questionID)
        #expect(step == .ask(question, record: false))
    }

    @Test(arguments: ["No, finalize now", "no", "NO.", "finalize"])
    func finalizingAnswersComplete(answer: String) {
        let photo = VisionObservation(findings: ["redness"], model: "m")
        let state = TriageState(userTexts: [answer], observations: [photo])
        #expect(TriageEngine.answer(state, answer: answer).output?.summary == "Symptoms suggest a localized skin reaction.")
    }

    @Test(arguments: ["I know", "not really", "None", "another thing"])
    func noInsideOtherWordsIsNotTheWordNo(answer: String) {
        #expect(!TriageEngine.containsWord("no", in: TriageText.normalise(answer)))
    }

    @Test func imageStepAsksToContinueUnlessRedFlag() {
        let wound = VisionObservation(findings: ["open wound"], description: "A cut on the forearm.", model: "m")
        #expect(TriageEngine.image(TriageState(observations: [wound])) == .ask(QuestionCatalogue.continue1, record: false))
        let burn = VisionObservation(findings: ["blisters"], description: "A severe burn on the palm.", model: "m")
        #expect(TriageEngine.image(TriageState(observations: [burn])).output?.severity == .critical)
    }

    @Test func decideCompletesOnLastObservationWithOpenWound() {
        let wound = VisionObservation(findings: ["Open wound"], model: "m")
        let state = TriageState(userTexts: ["it hurts"], observations: [wound])
        #expect(TriageEngine.decide(state).output?.summary == "Observation of an open wound.")
    }

    @Test func addedTextChecksRedFlagsThenAsksToContinue() {
        #expect(TriageEngine.addedText(TriageState(userTexts: ["headache", "also itchy"], questionCount: 1)).question?.id == "q_continue_1")
        #expect(TriageEngine.addedText(TriageState(userTexts: ["headache", "and now a seizure"], questionCount: 1)).output != nil)
    }

    // MARK: §8.5 vision reply parsing

    @Test func visionReplyParsesFirstObjectAndDefaults() throws {
        let reply = """
            Here you go: ```json
            {"body_part": "forearm", "observations": ["redness", "papules"], "description": "\(String(repeating: "x", count: 400))",
             "vision_confidence": {"redness": 0.86, "bad": "x"}} trailing {"other": 1}
            """
        let observation = try VisionReplyParser.parse(reply, model: "vision-model")
        #expect(observation.bodyPart == "forearm")
        #expect(observation.findings == ["redness", "papules"])
        #expect(observation.description.count == 300)
        #expect(observation.qualityFlags.isEmpty)
        #expect(observation.json["vision_confidence"] == ["redness": 0.86])
        #expect(observation.json["model"] == "vision-model")
    }

    @Test(arguments: [
        "no json here",
        #"{"observations": "redness"}"#,
        #"{"observations": [1, 2]}"#,
        #"{"description": "missing list"}"#,
        #"{"observations": ["a"]"#,
    ])
    func unusableVisionReplies(reply: String) {
        #expect(throws: VisionReplyParser.UnusableReply.self) { try VisionReplyParser.parse(reply, model: "m") }
    }
}

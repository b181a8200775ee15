/// What the rules know about a session (03-diagnostics §4.1).
public struct TriageState: Sendable, Equatable {
    /// The contents of the `user` messages, in order, as sent.
    public var userTexts: [String]
    public var observations: [VisionObservation]
    public var duration: String?
    /// The number of `ai` messages (questions asked through question selection).
    public var questionCount: Int

    public init(userTexts: [String] = [], observations: [VisionObservation] = [], duration: String? = nil, questionCount: Int = 0) {
        self.userTexts = userTexts
        self.observations = observations
        self.duration = duration
        self.questionCount = questionCount
    }

    public var combinedText: String { TriageText.combined(userTexts: userTexts, observations: observations) }
}

/// The outcome of one step.
public enum TriageStep: Sendable, Equatable {
    /// Answer `needs_more_info` with the question; `record` says whether the question text is
    /// stored as an `ai` message (only questions chosen by question selection are).
    case ask(TriageQuestion, record: Bool)
    /// Store the output as the session's final output and answer `completed`.
    case complete(TriageOutput)

    public var question: TriageQuestion? {
        if case .ask(let question, _) = self { return question }
        return nil
    }

    public var output: TriageOutput? {
        if case .complete(let output) = self { return output }
        return nil
    }
}

/// The triage state machine (03-diagnostics §4). Pure: each step reads the session state (which
/// already holds the text just received) and says what to answer and store. Every step starts with
/// the red-flag check on the combined text, so no piece of user text escapes it.
public enum TriageEngine {
    /// Decide step (§4.3): after the first text, and for answers no option rule handles.
    public static func decide(_ state: TriageState) -> TriageStep {
        let text = state.combinedText
        if let emergency = RedFlagDetector.assess(text) { return .complete(emergency) }
        if let last = state.observations.last, last.findings.contains(where: { TriageText.normalise($0).containsText("open wound") }) {
            return finalAnalysis(state)
        }
        if state.observations.isEmpty && state.questionCount == 0 {
            return .ask(QuestionSelector.select(combinedText: text, duration: state.duration), record: true)
        }
        return finalAnalysis(state)
    }

    /// Image step (§4.4): after an observation is stored. A photo never completes a triage on its
    /// own unless it shows a red flag.
    public static func image(_ state: TriageState) -> TriageStep {
        if let emergency = RedFlagDetector.assess(state.combinedText) { return .complete(emergency) }
        return .ask(QuestionCatalogue.continue1, record: false)
    }

    /// Answer step (§4.5). The red-flag check runs before any option handling, whatever the
    /// answer says ("finalize", "no", ...).
    public static func answer(_ state: TriageState, answer: String) -> TriageStep {
        if let emergency = RedFlagDetector.assess(state.combinedText) { return .complete(emergency) }
        let answer = TriageText.normalise(answer)
        if answer.containsText("upload another image") { return .ask(QuestionCatalogue.uploadPrompt, record: false) }
        if answer.containsText("add symptoms") { return .ask(QuestionCatalogue.general1, record: false) }
        if answer.containsText("finalize") || containsWord("no", in: answer) { return finalAnalysis(state) }
        return decide(state)
    }

    /// Text added to an existing session (§3.6): red flags, else the continue question.
    public static func addedText(_ state: TriageState) -> TriageStep {
        image(state)
    }

    static func finalAnalysis(_ state: TriageState) -> TriageStep {
        .complete(FinalAnalysis.output(combinedText: state.combinedText, observations: state.observations))
    }

    /// Whole-word occurrence: bounded on both sides by a non-word character or the text's ends.
    static func containsWord(_ word: String, in text: String) -> Bool {
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        while let range = text.scalarRange(of: word, from: start) {
            let beforeOK = range.lowerBound == scalars.startIndex || !TriageText.isWordScalar(scalars[scalars.index(before: range.lowerBound)])
            let afterOK = range.upperBound == scalars.endIndex || !TriageText.isWordScalar(scalars[range.upperBound])
            if beforeOK && afterOK { return true }
            start = scalars.index(after: range.lowerBound)
        }
        return false
    }
}

/// Text handling of the triage rules (03-diagnostics §4.2): normalisation, the combined text of a
/// session, and keyword matching at word starts.
public enum TriageText {
    /// Lower-cased, curly apostrophes straightened, runs of whitespace collapsed to one space.
    public static func normalise(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        var pendingSpace = false
        for scalar in text.lowercased().unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = true
                continue
            }
            if pendingSpace {
                result.unicodeScalars.append(" ")
                pendingSpace = false
            }
            result.unicodeScalars.append(scalar == "\u{2019}" || scalar == "\u{2018}" ? "'" : scalar)
        }
        // A trailing run collapses to one space too; it cannot change any match.
        if pendingSpace { result.unicodeScalars.append(" ") }
        return result
    }

    /// The normalised user texts joined with newlines, then one `[photo] ...` line per observation.
    public static func combined(userTexts: [String], observations: [VisionObservation]) -> String {
        var lines = userTexts.map(normalise)
        for observation in observations {
            lines.append(normalise("[photo] \(observation.description) \(observation.findings.joined(separator: ", "))"))
        }
        return lines.joined(separator: "\n")
    }

    /// Whether `keyword` occurs in `text` starting at a word boundary: at the start of the text or
    /// after a character that is not a letter, digit or `_`. The match may run into a longer word
    /// (`sweat` matches "sweating"), so "air" does not match "chair" but does match "airway".
    public static func contains(keyword: String, in text: String) -> Bool {
        let scalars = text.unicodeScalars
        var searchStart = scalars.startIndex
        while let range = text.scalarRange(of: keyword, from: searchStart) {
            if range.lowerBound == scalars.startIndex || !isWordScalar(scalars[scalars.index(before: range.lowerBound)]) {
                return true
            }
            searchStart = scalars.index(after: range.lowerBound)
        }
        return false
    }

    /// Whether any of `keywords` matches (see `contains(keyword:in:)`).
    public static func containsAny(_ keywords: [String], in text: String) -> Bool {
        keywords.contains { contains(keyword: $0, in: text) }
    }

    /// The first of `keywords` that matches.
    public static func firstMatch(of keywords: [String], in text: String) -> String? {
        keywords.first { contains(keyword: $0, in: text) }
    }

    /// Letters, digits and `_`: what a keyword may not follow.
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }
}

extension String {
    /// Substring search that compares Unicode scalars (no Foundation needed, no locale rules).
    func scalarRange(of needle: String, from start: Index) -> Range<Index>? {
        guard !needle.isEmpty else { return nil }
        let needleScalars = Array(needle.unicodeScalars)
        var index = start
        let scalars = unicodeScalars
        while index < scalars.endIndex {
            var candidate = index
            var matched = 0
            while matched < needleScalars.count, candidate < scalars.endIndex, scalars[candidate] == needleScalars[matched] {
                matched += 1
                candidate = scalars.index(after: candidate)
            }
            if matched == needleScalars.count { return index..<candidate }
            index = scalars.index(after: index)
        }
        return nil
    }

    /// Plain substring test on Unicode scalars.
    func containsText(_ needle: String) -> Bool {
        scalarRange(of: needle, from: startIndex) != nil
    }
}

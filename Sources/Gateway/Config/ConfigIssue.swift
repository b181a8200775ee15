/// A problem found while loading the config folder.
public struct ConfigIssue: Sendable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String

    public var description: String { "\(location): \(message)" }
}

/// Loading failed; the previous configuration stays active.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let issues: [ConfigIssue]

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Finds the line on which a value is written, so errors about data (not syntax) can still point
/// at a line: the first line containing the quoted value.
struct SourceIndex {
    let lines: [String: [Substring]]

    init(files: [(path: String, code: String)]) {
        var lines: [String: [Substring]] = [:]
        for file in files { lines[file.path] = file.code.split(separator: "\n", omittingEmptySubsequences: false) }
        self.lines = lines
    }

    /// The first line holding the quoted value, preferring one that also names `key` and that
    /// no earlier lookup claimed (two entries with the same path get their own lines).
    mutating func location(in file: String, key: String? = nil, of value: String?) -> SourceLocation {
        guard let value, let fileLines = lines[file] else { return SourceLocation(file: file, line: nil) }
        let quoted = ["\"\(value)\"", "'\(value)'"]
        var fallback: Int?
        for (index, line) in fileLines.enumerated() where quoted.contains(where: { line.contains($0) }) {
            let claimedKey = "\(file):\(index)"
            if let key, line.contains(key), !claimed.contains(claimedKey) {
                claimed.insert(claimedKey)
                return SourceLocation(file: file, line: index + 1)
            }
            if fallback == nil { fallback = index + 1 }
        }
        return SourceLocation(file: file, line: fallback)
    }

    private var claimed: Set<String> = []
}

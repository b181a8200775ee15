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

    func location(in file: String, of value: String?) -> SourceLocation {
        guard let value, let fileLines = lines[file] else { return SourceLocation(file: file, line: nil) }
        for (index, line) in fileLines.enumerated()
        where line.contains("\"\(value)\"") || line.contains("'\(value)'") {
            return SourceLocation(file: file, line: index + 1)
        }
        return SourceLocation(file: file, line: nil)
    }
}

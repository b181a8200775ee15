import ServiceKit

/// Reads typed fields out of a config table, collecting problems instead of stopping at the first.
struct ConfigValueReader {
    let object: JSONObject
    let location: SourceLocation
    let what: String
    private(set) var issues: [ConfigIssue] = []

    init(_ value: JSONValue, location: SourceLocation, what: String, issues: inout [ConfigIssue]) {
        self.location = location
        self.what = what
        if case .object(let object) = value {
            self.object = object
        } else if case .array(let items) = value, items.isEmpty {
            self.object = [:]
        } else {
            self.object = [:]
            issues.append(ConfigIssue(location: location, message: "\(what) must be a table of named fields"))
        }
    }

    mutating func fail(_ message: String) {
        issues.append(ConfigIssue(location: location, message: "\(what): \(message)"))
    }

    /// Rejects keys that are not in `known` (a misspelt key is a silent hole otherwise).
    mutating func rejectUnknownKeys(_ known: Set<String>) {
        for key in object.keys where !known.contains(key) {
            fail("unknown field '\(key)'")
        }
    }

    mutating func string(_ key: String) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let string = value.stringValue else {
            fail("'\(key)' must be a string")
            return nil
        }
        return string
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard let bool = value.boolValue else {
            fail("'\(key)' must be true or false")
            return nil
        }
        return bool
    }

    mutating func number(_ key: String) -> Double? {
        guard let value = object[key], value != .null else { return nil }
        guard let number = value.doubleValue else {
            fail("'\(key)' must be a number")
            return nil
        }
        return number
    }

    mutating func stringList(_ key: String) -> [String]? {
        guard let value = object[key], value != .null else { return nil }
        if let single = value.stringValue { return [single] }
        guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
            fail("'\(key)' must be a list of strings")
            return nil
        }
        return items.compactMap(\.stringValue)
    }

    /// Sizes like `1MB`, `16KB`, `12MiB` or a byte count.
    mutating func byteSize(_ key: String) -> Int? {
        guard let value = object[key], value != .null else { return nil }
        if let count = value.intValue, count > 0 { return count }
        guard let text = value.stringValue, let size = Self.parseByteSize(text) else {
            fail("'\(key)' must be a size such as \"1MB\" or \"16KB\"")
            return nil
        }
        return size
    }

    static func parseByteSize(_ text: String) -> Int? {
        let trimmed = text.filter { $0 != " " }.uppercased()
        let units: [(String, Int)] = [("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10), ("GB", 1 << 30), ("MB", 1 << 20),
                                      ("KB", 1 << 10), ("B", 1)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number > 0 else { return nil }
            return Int(number * Double(factor))
        }
        return Int(trimmed).flatMap { $0 > 0 ? $0 : nil }
    }
}

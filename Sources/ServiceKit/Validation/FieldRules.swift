// Field validation in the terms of 00-conventions §3.2 (pydantic's types and messages), shared by
// the Swift services: a `FieldReader` collects every problem of a request before anything is used.

/// A field of a partial update: absent and null mean different things (01-auth §2.9, §2.11).
public enum Field<Value> {
    case absent
    case null
    case value(Value)
    /// The field was present but broke a rule; the issue is already recorded.
    case invalid

    public var value: Value? {
        if case .value(let value) = self { return value }
        return nil
    }
}

extension Field: Sendable where Value: Sendable {}

/// Converts one JSON value, or explains what is wrong with it in the terms of 00-conventions §3.2.
public struct FieldRule<Value>: Sendable {
    public let convert: @Sendable (JSONValue, _ loc: [JSONValue]) -> Result<Value, Issues>

    public init(convert: @escaping @Sendable (JSONValue, _ loc: [JSONValue]) -> Result<Value, Issues>) {
        self.convert = convert
    }
}

public struct Issues: Error {
    public var list: [ValidationIssue]

    public init(_ list: [ValidationIssue]) {
        self.list = list
    }

    public init(_ type: String, _ loc: [JSONValue], _ msg: String, input: JSONValue, ctx: JSONObject? = nil) {
        list = [ValidationIssue(type: type, loc: loc, msg: msg, input: input, ctx: ctx)]
    }
}

extension FieldRule<String> {
    /// A string of `min...max` characters (Unicode scalars, as the reference counted them),
    /// optionally trimmed first and matched against a pattern.
    public static func string(min: Int? = nil, max: Int? = nil, trim: Bool = false, pattern: TextPattern? = nil) -> FieldRule {
        FieldRule { value, loc in
            guard case .string(let original) = value else {
                return .failure(Issues("string_type", loc, "Input should be a valid string", input: value))
            }
            let text = trim ? original.trimmed : original
            let length = text.unicodeScalars.count
            if let min, length < min {
                return .failure(Issues(
                    "string_too_short", loc, "String should have at least \(min) character\(min == 1 ? "" : "s")", input: value,
                    ctx: ["min_length": .int(Int64(min))]))
            }
            if let max, length > max {
                return .failure(Issues(
                    "string_too_long", loc, "String should have at most \(max) character\(max == 1 ? "" : "s")", input: value,
                    ctx: ["max_length": .int(Int64(max))]))
            }
            if let pattern, !pattern.matches(text) {
                return .failure(Issues(
                    "string_pattern_mismatch", loc, "String should match pattern '\(pattern.source)'", input: value,
                    ctx: ["pattern": .string(pattern.source)]))
            }
            return .success(text)
        }
    }

    /// One of a fixed list of values (a 422 `enum` error otherwise).
    public static func oneOf(_ allowed: [String]) -> FieldRule {
        FieldRule { value, loc in
            guard case .string(let text) = value else {
                return .failure(Issues("string_type", loc, "Input should be a valid string", input: value))
            }
            guard allowed.contains(text) else {
                let quoted = allowed.map { "'\($0)'" }
                let expected = quoted.count > 1 ? quoted.dropLast().joined(separator: ", ") + " or " + quoted.last! : quoted.joined()
                return .failure(Issues("enum", loc, "Input should be \(expected)", input: value, ctx: ["expected": .string(expected)]))
            }
            return .success(text)
        }
    }
}

extension FieldRule<Int> {
    /// An integer within bounds. Integral numbers and numeric strings are accepted, as the
    /// reference's lax parsing did.
    public static func integer(ge: Int? = nil, le: Int? = nil) -> FieldRule {
        FieldRule { value, loc in
            let number: Int
            switch value {
            case .int, .double:
                guard let exact = value.intValue else {
                    return .failure(Issues("int_type", loc, "Input should be a valid integer", input: value))
                }
                number = exact
            case .string(let text):
                guard let parsed = Int(text.trimmed) else {
                    return .failure(Issues(
                        "int_parsing", loc, "Input should be a valid integer, unable to parse string as an integer", input: value))
                }
                number = parsed
            default:
                return .failure(Issues("int_type", loc, "Input should be a valid integer", input: value))
            }
            if let ge, number < ge {
                return .failure(Issues(
                    "greater_than_equal", loc, "Input should be greater than or equal to \(ge)", input: value, ctx: ["ge": .int(Int64(ge))]))
            }
            if let le, number > le {
                return .failure(Issues(
                    "less_than_equal", loc, "Input should be less than or equal to \(le)", input: value, ctx: ["le": .int(Int64(le))]))
            }
            return .success(number)
        }
    }
}

extension FieldRule<Bool> {
    /// JSON booleans, and the words and 0/1 of 00-conventions §4.
    public static var boolean: FieldRule {
        FieldRule { value, loc in
            switch value {
            case .bool(let flag): return .success(flag)
            case .int(0): return .success(false)
            case .int(1): return .success(true)
            case .string(let text):
                if let flag = BooleanText.parse(text) { return .success(flag) }
            default: break
            }
            return .failure(Issues("bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", input: value))
        }
    }
}

extension FieldRule {
    /// A list of at most `maxItems` values, each checked by `item`; every bad item is reported.
    public static func list<Item>(maxItems: Int, of item: FieldRule<Item>) -> FieldRule where Value == [Item] {
        FieldRule { value, loc in
            guard case .array(let values) = value else {
                return .failure(Issues("list_type", loc, "Input should be a valid list", input: value))
            }
            if values.count > maxItems {
                return .failure(Issues(
                    "too_long", loc, "List should have at most \(maxItems) items after validation, not \(values.count)", input: value,
                    ctx: ["field_type": "List", "max_length": .int(Int64(maxItems)), "actual_length": .int(Int64(values.count))]))
            }
            var items: [Item] = []
            var issues: [ValidationIssue] = []
            for (index, element) in values.enumerated() {
                switch item.convert(element, loc + [.int(Int64(index))]) {
                case .success(let converted): items.append(converted)
                case .failure(let problems): issues += problems.list
                }
            }
            return issues.isEmpty ? .success(items) : .failure(Issues(issues))
        }
    }
}

/// A pattern a string field must match, with the source text the 422 message quotes.
public struct TextPattern: Sendable {
    public let source: String
    public let matches: @Sendable (String) -> Bool

    public init(source: String, matches: @escaping @Sendable (String) -> Bool) {
        self.source = source
        self.matches = matches
    }
}

/// Reads the fields of one JSON object, collecting every problem before anything is used.
public struct FieldReader {
    public let object: JSONObject
    public let location: [JSONValue]
    public private(set) var issues: [ValidationIssue] = []

    public init(_ object: JSONObject, at location: [JSONValue] = ["body"]) {
        self.object = object
        self.location = location
    }

    /// The request's query parameters (the first value of each name), located at `query`.
    public init(query request: ServiceRequest) {
        self.init(JSONObject(request.queryItems.reversed().map { ($0.name, .string($0.value)) }), at: ["query"])
    }

    /// A field that may be absent or null.
    public mutating func optional<Value>(_ name: String, _ rule: FieldRule<Value>) -> Field<Value> {
        guard let value = object[name] else { return .absent }
        if value == .null { return .null }
        switch rule.convert(value, location + [.string(name)]) {
        case .success(let converted): return .value(converted)
        case .failure(let problems):
            issues += problems.list
            return .invalid
        }
    }

    /// A field that must be present; null is checked by the rule (and so refused as a wrong type).
    public mutating func required<Value>(_ name: String, _ rule: FieldRule<Value>) -> Value? {
        guard let value = object[name] else {
            issues.append(ValidationIssue(
                type: "missing", loc: location + [.string(name)], msg: "Field required", input: .object(object)))
            return nil
        }
        switch rule.convert(value, location + [.string(name)]) {
        case .success(let converted): return converted
        case .failure(let problems):
            issues += problems.list
            return nil
        }
    }

    /// A field that may be absent but not null: null is checked by the rule.
    public mutating func nonNull<Value>(_ name: String, _ rule: FieldRule<Value>) -> Field<Value> {
        guard let value = object[name] else { return .absent }
        switch rule.convert(value, location + [.string(name)]) {
        case .success(let converted): return .value(converted)
        case .failure(let problems):
            issues += problems.list
            return .invalid
        }
    }

    public mutating func record(_ issue: ValidationIssue) {
        issues.append(issue)
    }

    /// Throws the 422 answer when anything was wrong.
    public func validate() throws {
        try Self.validate(self)
    }

    /// One 422 answer listing the problems of several parts (path, query, body, in that order).
    public static func validate(_ readers: FieldReader...) throws {
        let issues = readers.flatMap(\.issues)
        if !issues.isEmpty { throw ServiceError.validation(issues) }
    }
}

extension ServiceRequest {
    /// The JSON body, which must be an object (422 `model_attributes_type` otherwise).
    public func jsonObject() async throws -> JSONObject {
        try Self.object(from: try await jsonBody())
    }

    /// The JSON body as an object, or nil when the request has no body (a body that is optional,
    /// or one whose absence is answered as a `missing` item).
    public func jsonObjectIfPresent() async throws -> JSONObject? {
        if let type = headers[.contentType], !MediaType.isJSON(type) { throw ServiceError.unsupportedMediaType }
        let bytes = try await collectBody()
        guard bytes.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return nil }
        return try Self.object(from: try Self.decodeJSON(bytes))
    }

    static func object(from body: JSONValue) throws -> JSONObject {
        guard case .object(let object) = body else {
            throw ServiceError.validation([
                ValidationIssue(
                    type: "model_attributes_type", loc: ["body"],
                    msg: "Input should be a valid dictionary or object to extract fields from", input: body)
            ])
        }
        return object
    }
}

/// Boolean words of 00-conventions §4: true/false, 1/0, yes/no, on/off, any case.
public enum BooleanText {
    public static func parse(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: nil
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing Unicode whitespace.
    public var trimmed: String {
        let scalars = unicodeScalars.drop { $0.properties.isWhitespace }.reversed().drop { $0.properties.isWhitespace }.reversed()
        return String(String.UnicodeScalarView(scalars))
    }
}

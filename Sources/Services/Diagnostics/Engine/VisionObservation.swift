import ServiceKit

/// What the vision model saw in one photo (03-diagnostics §8.4), as stored in `observation_data`.
public struct VisionObservation: Sendable, Equatable {
    public var bodyPart: String?
    /// The visible findings (`observations` in the JSON), e.g. `["redness", "open wound"]`.
    public var findings: [String]
    public var description: String
    public var qualityFlags: [String]
    public var confidence: [(finding: String, value: Double)]
    public var model: String

    public init(bodyPart: String? = nil, findings: [String], description: String = "", qualityFlags: [String] = [],
                confidence: [(finding: String, value: Double)] = [], model: String) {
        self.bodyPart = bodyPart
        self.findings = findings
        self.description = description
        self.qualityFlags = qualityFlags
        self.confidence = confidence
        self.model = model
    }

    public static func == (lhs: VisionObservation, rhs: VisionObservation) -> Bool {
        lhs.json == rhs.json
    }

    /// The `observation_data` object.
    public var json: JSONObject {
        [
            "body_part": JSONValue(bodyPart),
            "observations": JSONValue(findings),
            "description": .string(description),
            "quality_flags": JSONValue(qualityFlags),
            "vision_confidence": .object(JSONObject(confidence.map { ($0.finding, JSONValue.double($0.value)) })),
            "model": .string(model),
        ]
    }

    /// Reads a stored `observation_data` object back.
    public init?(json: JSONValue) {
        guard let object = json.objectValue, let parsed = try? VisionReplyParser.observation(from: object, model: "") else {
            return nil
        }
        self = parsed
        model = object["model"]?.stringValue ?? ""
    }
}

/// Turns the model's reply text into a `VisionObservation` (03-diagnostics §8.5).
public enum VisionReplyParser {
    public struct UnusableReply: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static let maxDescriptionLength = 300

    /// Parses the first JSON object in `reply`. `observations` must be an array of strings; other
    /// keys fall back to null, `[]` or `{}` when missing or of the wrong type.
    public static func parse(_ reply: String, model: String) throws(UnusableReply) -> VisionObservation {
        guard let objectText = firstJSONObject(in: reply) else { throw UnusableReply(description: "no JSON object in reply") }
        guard let object = (try? JSON.decode(objectText))?.objectValue else {
            throw UnusableReply(description: "reply JSON does not parse")
        }
        return try observation(from: object, model: model)
    }

    static func observation(from object: JSONObject, model: String) throws(UnusableReply) -> VisionObservation {
        guard let list = object["observations"]?.arrayValue else {
            throw UnusableReply(description: "observations is not an array")
        }
        var findings: [String] = []
        for item in list {
            guard let finding = item.stringValue else { throw UnusableReply(description: "observations holds a non-string") }
            findings.append(finding)
        }
        let qualityFlags = (object["quality_flags"]?.arrayValue ?? []).compactMap(\.stringValue)
        let confidence = (object["vision_confidence"]?.objectValue ?? [:]).compactMap { entry -> (finding: String, value: Double)? in
            entry.value.doubleValue.map { (entry.key, $0) }
        }
        return VisionObservation(
            bodyPart: object["body_part"]?.stringValue,
            findings: findings,
            description: String((object["description"]?.stringValue ?? "").prefix(maxDescriptionLength)),
            qualityFlags: qualityFlags,
            confidence: confidence,
            model: model)
    }

    /// The text of the first balanced `{...}` in `text`, skipping braces inside JSON strings, so a
    /// reply wrapped in prose or a code fence still parses.
    static func firstJSONObject(in text: String) -> String? {
        let bytes = Array(text.utf8)
        guard let start = bytes.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        var depth = 0
        var inString = false
        var escaped = false
        for index in start..<bytes.count {
            let byte = bytes[index]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { return String(decoding: bytes[start...index], as: UTF8.self) }
            default: break
            }
        }
        return nil
    }
}

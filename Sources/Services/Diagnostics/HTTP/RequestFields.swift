import Foundation
import HTTPTypes
import ServiceKit

/// Reads fields of a JSON request body and collects every problem as a 422 item in the shape of
/// 00-conventions §3.2 (pydantic's types and messages), so a client sees all of them at once.
struct RequestFields {
    private let body: JSONValue
    private let object: JSONObject
    private(set) var issues: [ValidationIssue] = []

    /// Fails at once (422 `model_attributes_type`) when the body is not a JSON object.
    init(body: JSONValue) throws {
        guard let object = body.objectValue else {
            throw ServiceError.validation([
                ValidationIssue(type: "model_attributes_type", loc: ["body"],
                                msg: "Input should be a valid dictionary or object to extract fields from", input: body)
            ])
        }
        self.body = body
        self.object = object
    }

    /// Throws the collected problems, if any.
    func finish() throws {
        if !issues.isEmpty { throw ServiceError.validation(issues) }
    }

    mutating func requiredString(_ key: String, length: ClosedRange<Int>) -> String? {
        guard let value = object[key] else {
            issues.append(ValidationIssue(type: "missing", loc: ["body", .string(key)], msg: "Field required", input: body))
            return nil
        }
        return checkedString(value, key: key, length: length)
    }

    /// nil when absent or null.
    mutating func optionalString(_ key: String, maxLength: Int) -> String? {
        guard let value = object[key], value != .null else { return nil }
        return checkedString(value, key: key, length: 0...maxLength)
    }

    /// nil when absent or null. Accepts integral numbers and decimal-integer strings, as pydantic's
    /// lax mode does.
    mutating func optionalInt(_ key: String, range: ClosedRange<Int>) -> Int? {
        guard let value = object[key], value != .null else { return nil }
        let loc: [JSONValue] = ["body", .string(key)]
        let number: Int
        switch value {
        case .int, .double:
            guard let integer = value.intValue else {
                issues.append(ValidationIssue(type: "int_type", loc: loc, msg: "Input should be a valid integer", input: value))
                return nil
            }
            number = integer
        case .string(let text):
            guard let integer = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                issues.append(ValidationIssue(type: "int_parsing", loc: loc,
                                              msg: "Input should be a valid integer, unable to parse string as an integer", input: value))
                return nil
            }
            number = integer
        default:
            issues.append(ValidationIssue(type: "int_type", loc: loc, msg: "Input should be a valid integer", input: value))
            return nil
        }
        if number < range.lowerBound {
            issues.append(ValidationIssue(type: "greater_than_equal", loc: loc,
                                          msg: "Input should be greater than or equal to \(range.lowerBound)", input: value,
                                          ctx: ["ge": .int(Int64(range.lowerBound))]))
            return nil
        }
        if number > range.upperBound {
            issues.append(ValidationIssue(type: "less_than_equal", loc: loc,
                                          msg: "Input should be less than or equal to \(range.upperBound)", input: value,
                                          ctx: ["le": .int(Int64(range.upperBound))]))
            return nil
        }
        return number
    }

    /// An identity claim (`user_id`): a string, or a number compared as its decimal text.
    /// Empty counts as absent (00-conventions §2.4).
    func claim(_ key: String) -> String? {
        switch object[key] {
        case .string(let text): text.isEmpty ? nil : text
        case .int(let number): String(number)
        default: nil
        }
    }

    /// Lengths count Unicode scalars, as the reference (Python) did.
    private mutating func checkedString(_ value: JSONValue, key: String, length: ClosedRange<Int>) -> String? {
        let loc: [JSONValue] = ["body", .string(key)]
        guard let text = value.stringValue else {
            issues.append(ValidationIssue(type: "string_type", loc: loc, msg: "Input should be a valid string", input: value))
            return nil
        }
        let count = text.unicodeScalars.count
        if count < length.lowerBound {
            issues.append(ValidationIssue(
                type: "string_too_short", loc: loc,
                msg: "String should have at least \(length.lowerBound) character\(length.lowerBound == 1 ? "" : "s")", input: value,
                ctx: ["min_length": .int(Int64(length.lowerBound))]))
            return nil
        }
        if count > length.upperBound {
            issues.append(ValidationIssue(
                type: "string_too_long", loc: loc, msg: "String should have at most \(length.upperBound) characters", input: value,
                ctx: ["max_length": .int(Int64(length.upperBound))]))
            return nil
        }
        return text
    }
}

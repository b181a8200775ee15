/// Identity claims (00-conventions §2.4): a `user_id` in a body, query or form is accepted only
/// when it equals the verified caller's id; without a caller (anonymous use) no claim can match.
/// (The gateway checks the `X-User-Id` header itself, before any service runs.)
public enum IdentityClaim {
    /// A `user_id` value: a string, or a number compared as its decimal text.
    public static let rule = FieldRule<String> { value, loc in
        switch value {
        case .string(let text): .success(text)
        case .int(let number): .success(String(number))
        default: .failure(Issues("string_type", loc, "Input should be a valid string", input: value))
        }
    }

    public static let mismatch = ServiceError(.forbidden, "user_id does not match the authenticated user")

    /// 403 when a claim names someone other than the caller; an absent or empty claim is no claim.
    public static func check(_ claim: String?, caller: VerifiedUser?) throws {
        guard let claim, !claim.isEmpty else { return }
        guard claim == caller?.id else { throw mismatch }
    }
}

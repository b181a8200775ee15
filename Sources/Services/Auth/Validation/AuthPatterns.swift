import ServiceKit

/// The patterns the auth API checks (01-auth §2), with the source text the 422 message quotes.
extension TextPattern {
    static let phoneNumber = TextPattern(source: #"^\d{10}$"#) { OTPRules.isPhoneNumber($0) }
    static let otp = TextPattern(source: #"^\d{6}$"#) { OTPRules.isCode($0) }
    /// Digits with an optional leading `+`.
    static let contactPhone = TextPattern(source: #"^\+?\d+$"#) { text in
        let digits = text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.utf8.allSatisfy { (48...57).contains($0) }
    }
}

import Foundation

/// Request ids: a client's `X-Request-ID` is kept when it is 1–128 characters of
/// `[A-Za-z0-9._:-]`; otherwise a new UUID v4 is generated (00-conventions §6).
enum RequestID {
    static func accept(_ candidate: String?) -> String {
        if let candidate, isSane(candidate) { return candidate }
        return UUID().uuidString.lowercased()
    }

    static func isSane(_ value: String) -> Bool {
        let utf8 = value.utf8
        guard (1...128).contains(utf8.count) else { return false }
        return utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || c == UInt8(ascii: "-")
        }
    }
}

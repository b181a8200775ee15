import Foundation

/// Request ids: a client's `X-Request-ID` is kept when it is 1–128 characters of
/// `[A-Za-z0-9._:-]`; otherwise a new UUID v4 is generated (00-conventions §6).
enum RequestID {
    static func accept(_ candidate: String?) -> String {
        if let candidate, isSane(candidate) { return candidate }
        return uuid4()
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A random (version 4) UUID in lower-case text, without Foundation's formatter.
    static func uuid4() -> String {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000  // version 4
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000  // variant 10
        var out = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var position = 0
        for word in [high, low] {
            for shift in stride(from: 60, through: 0, by: -4) {
                if position == 8 || position == 13 || position == 18 || position == 23 { position += 1 }
                out[position] = hex[Int((word >> UInt64(shift)) & 0xF)]
                position += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
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

import Crypto

/// HMAC-SHA256 for code that should not depend on swift-crypto itself (OTP hashes, webhook
/// signatures).
public enum MessageAuthentication {
    public static func hmacSHA256(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message), using: SymmetricKey(data: Array(key))))
    }
}

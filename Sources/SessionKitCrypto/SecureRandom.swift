#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Cryptographically secure random bytes from the operating system.
///
/// On Linux this is `getrandom(2)` (through `getentropy(3)`), which blocks only until the kernel's pool is first
/// initialised at boot and never returns predictable bytes.
public enum SecureRandom {
    /// Fills `buffer` with random bytes from the operating system.
    ///
    /// - Throws: ``SecureRandomError`` when the OS refuses (for example a seccomp filter that
    ///   forbids `getrandom`); the error names the `errno` it returned.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(SecureRandomError) {
        guard var base = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            // getentropy(3) is getrandom(2) with no flags, limited to 256 bytes per call;
            // glibc retries EINTR itself.
            let chunk = min(remaining, 256)
            if getentropy(base, chunk) != 0 {
                throw SecureRandomError(errno: errno)
            }
            remaining -= chunk
            base += chunk
        }
    }

    /// Returns `count` random bytes from the operating system.
    ///
    /// - Throws: ``SecureRandomError`` when the OS refuses.
    public static func bytes(count: Int) throws(SecureRandomError) -> [UInt8] {
        precondition(count >= 0, "count must not be negative")
        var result = [UInt8](repeating: 0, count: count)
        let failure: SecureRandomError? = result.withUnsafeMutableBytes { raw in
            do throws(SecureRandomError) {
                try fill(raw)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        return result
    }
}

/// The operating system refused to provide random bytes.
public struct SecureRandomError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `errno` value reported by the system call.
    public let errno: Int32

    /// What failed, the errno and its meaning, and what to check.
    public var description: String {
        "the operating system refused to provide secure random bytes (getrandom failed with errno \(errno): \(String(cString: strerror(errno)))); check that the process may call getrandom(2) (seccomp or sandbox policy)"
    }
}

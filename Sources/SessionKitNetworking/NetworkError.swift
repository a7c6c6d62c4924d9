#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the networking layer: a failed name lookup, connect, read or write.
///
/// The ``message`` says what failed and, where the operating system reported one, its `errno`
/// text. Higher layers wrap these errors in their own error types.
public struct NetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case resolutionFailed
            case connectFailed
            case connectionRefused
            case timeout
            case connectionReset
            case connectionClosed
            case ioError
            case invalidAddress
        }
        fileprivate let base: Base

        /// The host name could not be resolved.
        public static let resolutionFailed = Code(base: .resolutionFailed)
        /// The connection could not be established.
        public static let connectFailed = Code(base: .connectFailed)
        /// Nothing listens at the address (`ECONNREFUSED`, or a missing Unix socket).
        public static let connectionRefused = Code(base: .connectionRefused)
        /// A deadline passed.
        public static let timeout = Code(base: .timeout)
        /// The peer reset the connection.
        public static let connectionReset = Code(base: .connectionReset)
        /// The connection was closed, by the peer or locally.
        public static let connectionClosed = Code(base: .connectionClosed)
        /// A read or write failed.
        public static let ioError = Code(base: .ioError)
        /// The address is not usable (a Unix socket path too long, a malformed host).
        public static let invalidAddress = Code(base: .invalidAddress)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What went wrong.
    public let message: String
    /// The `errno` value reported by the system, if any.
    public let systemError: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, systemError: Int32? = nil) {
        self.code = code
        self.message = message
        self.systemError = systemError
    }

    /// Creates an error from an `errno` value, choosing the code from it.
    static func system(_ what: String, errno err: Int32, default code: Code = .ioError) -> NetworkError {
        let text = String(cString: strerror(err))
        let chosen: Code
        switch err {
        case ECONNREFUSED, ENOENT: chosen = .connectionRefused
        case ECONNRESET, EPIPE: chosen = .connectionReset
        case ETIMEDOUT: chosen = .timeout
        default: chosen = code
        }
        return NetworkError(chosen, "\(what): \(text) (errno \(err))", systemError: err)
    }

    public var description: String { "NetworkError.\(code): \(message)" }
}

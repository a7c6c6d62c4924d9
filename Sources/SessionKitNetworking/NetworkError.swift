#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the networking layer: a failed name lookup, connect, read or write, a deadline,
/// a broken reply stream.
///
/// The ``message`` names the server and says what failed and, where the operating system
/// reported one, its `errno` text. The stores turn these errors into `SessionError`s.
@_spi(Engine) public struct NetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    @_spi(Engine) public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case resolutionFailed
            case connectFailed
            case connectionRefused
            case timeout
            case connectionReset
            case connectionClosed
            case ioError
            case invalidAddress
            case protocolError
            case overloaded
            case shutDown
            case tlsFailed
        }
        fileprivate let base: Base

        /// The host name could not be resolved.
        @_spi(Engine) public static let resolutionFailed = Code(base: .resolutionFailed)
        /// The connection could not be established.
        @_spi(Engine) public static let connectFailed = Code(base: .connectFailed)
        /// Nothing listens at the address (`ECONNREFUSED`, or a missing Unix socket).
        @_spi(Engine) public static let connectionRefused = Code(base: .connectionRefused)
        /// A deadline passed.
        @_spi(Engine) public static let timeout = Code(base: .timeout)
        /// The peer reset the connection.
        @_spi(Engine) public static let connectionReset = Code(base: .connectionReset)
        /// The connection was closed, by the peer or locally.
        @_spi(Engine) public static let connectionClosed = Code(base: .connectionClosed)
        /// A read or write failed.
        @_spi(Engine) public static let ioError = Code(base: .ioError)
        /// The address is not usable (a Unix socket path too long, a malformed host).
        @_spi(Engine) public static let invalidAddress = Code(base: .invalidAddress)
        /// The server sent something that breaks the protocol or the reply order; the
        /// connection was closed so that no reply reaches the wrong caller.
        @_spi(Engine) public static let protocolError = Code(base: .protocolError)
        /// Too many requests wait for replies on the connection.
        @_spi(Engine) public static let overloaded = Code(base: .overloaded)
        /// The client was closed.
        @_spi(Engine) public static let shutDown = Code(base: .shutDown)
        /// The connection's transport security failed: a certificate that does not verify, a
        /// server that does not speak TLS, a handshake refused. The message names the cause.
        @_spi(Engine) public static let tlsFailed = Code(base: .tlsFailed)

        @_spi(Engine) public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    @_spi(Engine) public let code: Code
    /// What went wrong.
    @_spi(Engine) public let message: String
    /// The `errno` value reported by the system, if any.
    @_spi(Engine) public let systemError: Int32?

    /// Creates an error.
    @_spi(Engine) public init(_ code: Code, _ message: String, systemError: Int32? = nil) {
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

    @_spi(Engine) public var description: String { "NetworkError.\(code): \(message)" }
}

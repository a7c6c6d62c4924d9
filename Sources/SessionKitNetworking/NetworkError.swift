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
package struct NetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
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
        }
        fileprivate let base: Base

        /// The host name could not be resolved.
        package static let resolutionFailed = Code(base: .resolutionFailed)
        /// The connection could not be established.
        package static let connectFailed = Code(base: .connectFailed)
        /// Nothing listens at the address (`ECONNREFUSED`, or a missing Unix socket).
        package static let connectionRefused = Code(base: .connectionRefused)
        /// A deadline passed.
        package static let timeout = Code(base: .timeout)
        /// The peer reset the connection.
        package static let connectionReset = Code(base: .connectionReset)
        /// The connection was closed, by the peer or locally.
        package static let connectionClosed = Code(base: .connectionClosed)
        /// A read or write failed.
        package static let ioError = Code(base: .ioError)
        /// The address is not usable (a Unix socket path too long, a malformed host).
        package static let invalidAddress = Code(base: .invalidAddress)
        /// The server sent something that breaks the protocol or the reply order; the
        /// connection was closed so that no reply reaches the wrong caller.
        package static let protocolError = Code(base: .protocolError)
        /// Too many requests wait for replies on the connection.
        package static let overloaded = Code(base: .overloaded)
        /// The client was closed.
        package static let shutDown = Code(base: .shutDown)

        package var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    package let code: Code
    /// What went wrong.
    package let message: String
    /// The `errno` value reported by the system, if any.
    package let systemError: Int32?

    /// Creates an error.
    package init(_ code: Code, _ message: String, systemError: Int32? = nil) {
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

    package var description: String { "NetworkError.\(code): \(message)" }
}

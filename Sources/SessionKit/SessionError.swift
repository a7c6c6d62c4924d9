/// The one error type of SessionKit.
///
/// Every error carries a ``code`` to switch on and a ``message`` that says what went wrong
/// and what to do about it. New codes may be added without breaking clients.
public struct SessionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case invalidConfiguration
            case storeUnavailable
            case storeFailure
            case valueTooLarge
            case malformedData
            case invalidKey
            case cookieTooLarge
            case timeout
            case protocolError
            case serverError
            case authenticationFailed
            case unsupported
            case encodingFailed
            case decodingFailed
            case invalidSignature
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// A configuration value is invalid; the message names the option and the fix.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The store could not be reached (connection refused, server down, deadline passed).
        public static let storeUnavailable = Code(.storeUnavailable)
        /// The store was reached but the operation failed (disk full, permission denied...).
        public static let storeFailure = Code(.storeFailure)
        /// A value is larger than the store or the cookie can hold.
        public static let valueTooLarge = Code(.valueTooLarge)
        /// Stored or received data could not be parsed.
        public static let malformedData = Code(.malformedData)
        /// A key or session ID is not acceptable to the store.
        public static let invalidKey = Code(.invalidKey)
        /// A cookie would exceed the browsers' size limit.
        public static let cookieTooLarge = Code(.cookieTooLarge)
        /// An operation did not finish before its deadline.
        public static let timeout = Code(.timeout)
        /// A server sent a reply that breaks its protocol.
        public static let protocolError = Code(.protocolError)
        /// A server answered with an error.
        public static let serverError = Code(.serverError)
        /// The server refused the credentials.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The requested feature is not supported.
        public static let unsupported = Code(.unsupported)
        /// A value could not be encoded for storage.
        public static let encodingFailed = Code(.encodingFailed)
        /// A stored value could not be decoded into the requested type.
        public static let decodingFailed = Code(.decodingFailed)
        /// A signed value's signature does not match: tampered, truncated, or signed with
        /// another secret.
        public static let invalidSignature = Code(.invalidSignature)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What went wrong and what to do about it.
    public let message: String

    /// Creates an error with a code and a message that names the cause and the fix.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "SessionError.\(code): \(message)" }
}

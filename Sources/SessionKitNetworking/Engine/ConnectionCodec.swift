// The engine's declarations are `@_spi(Engine) public`, not `package`: Swift serializes the
// bodies of `@inlinable` declarations for public ones only, and without them every store would
// run the engine as unspecialized generic code. The SPI keeps them out of the module's public
// interface: only a module that says `@_spi(Engine) import SessionKitNetworking` sees them, and
// the module is no product of the package.

/// A wire protocol plugged into the connection engine: how a request is written, how replies
/// are read back, and how a reply is checked against the request it is matched to.
///
/// The engine (``PipelinedConnection``) knows no protocol. It writes each request with
/// ``encode(_:into:)``, keeps what the request expects in its reply queue, feeds every byte it
/// reads to one ``Decoder`` and hands each complete reply to the oldest waiting request, after
/// ``accepts(_:for:)`` agreed that the reply can be that request's. A reply that cannot be
/// (or a decoder error) closes the connection, so that no later reply reaches the wrong caller.
@_spi(Engine) public protocol ConnectionCodec: Sendable {
    /// What a caller sends.
    associatedtype Request: Sendable
    /// What a sent request expects back; kept in the reply queue until its reply arrives.
    associatedtype Expectation: Sendable
    /// A complete reply.
    associatedtype Reply: Sendable
    /// The incremental reply parser of one connection.
    associatedtype Decoder: ReplyDecoder where Decoder.Expectation == Expectation, Decoder.Reply == Reply

    /// Appends `request`'s bytes to `buffer` and returns what its reply must look like.
    func encode(_ request: Request, into buffer: inout [UInt8]) -> Expectation

    /// How many replies `request` gets (at least 1): all but the last are read and dropped, as
    /// for a prefix command written in the same write (Redis' `ASKING`).
    func replyCount(of request: Request) -> Int

    /// Whether `reply` can be the answer to a request that expects `expectation`.
    func accepts(_ reply: Reply, for expectation: Expectation) -> Bool

    /// A fresh parser for a new connection.
    func makeDecoder() -> Decoder

    /// Whether the decoder must be told what the oldest waiting request expects
    /// (``ReplyDecoder/next(due:)``); default `false`.
    var decodesWithExpectation: Bool { get }
}

extension ConnectionCodec {
    @_spi(Engine) public func replyCount(of request: Request) -> Int { 1 }
    @_spi(Engine) public var decodesWithExpectation: Bool { false }
}

/// The incremental reply parser of one connection: bytes go in with ``append(_:)``, complete
/// frames come out of ``next(due:)``; `nil` means "need more bytes", a thrown error that the
/// stream is broken (the connection is then closed).
@_spi(Engine) public protocol ReplyDecoder: Sendable {
    associatedtype Expectation
    associatedtype Reply

    /// Adds received bytes.
    mutating func append(_ bytes: UnsafeRawBufferPointer)

    /// The next complete frame, or `nil` until more bytes arrive.
    ///
    /// - Parameter due: what the request this reply is due to expects (`nil` when none waits,
    ///   or when the codec does not ask for it), for protocols whose parser must know it (a
    ///   memcached get's keys).
    mutating func next(due: Expectation?) throws -> DecodedFrame<Reply>?
}

/// What a ``ReplyDecoder`` read.
@_spi(Engine) public enum DecodedFrame<Reply> {
    /// A reply, for the oldest waiting request.
    case reply(Reply)
    /// An out-of-band frame (a RESP3 push), never matched to a request. With `outOfStep`, the
    /// frame shows that a request will never get its reply (a pub/sub push on a shared
    /// connection): the message says so, after the server's name ("sent a pub/sub push..."),
    /// and the connection is closed.
    case push(outOfStep: String?)
}

import SessionKit
@_spi(Engine) import SessionKitNetworking

/// A memcached command as the engine writes it, with what its reply must look like.
enum MemcachedRequest: Sendable {
    /// A validated command (``MemcachedEncoder/encodeValidated(_:keys:opaque:into:)``).
    case command(MemcachedCommand, keys: [[UInt8]], opaque: String?, expecting: ReplyExpectation)
    /// Bytes appended by a closure (`flush_all`, tests).
    case encoded(expecting: ReplyExpectation, encode: @Sendable (inout [UInt8]) -> Void)
}

/// The text and meta protocols for the connection engine: replies through ``MemcachedParser``,
/// each checked against its request's ``ReplyExpectation`` (a get's keys, a meta command's
/// kind and opaque token).
struct MemcachedCodec: ConnectionCodec {
    let limits: MemcachedParser.Limits
    /// Whether get replies are parsed against their request's keys (`false` only with injected faults).
    let checksKeys: Bool

    func encode(_ request: MemcachedRequest, into buffer: inout [UInt8]) -> ReplyExpectation {
        switch request {
        case .command(let command, let keys, let opaque, let expectation):
            MemcachedEncoder.encodeValidated(command, keys: keys, opaque: opaque, into: &buffer)
            return expectation
        case .encoded(let expectation, let encode):
            encode(&buffer)
            return expectation
        }
    }

    func accepts(_ reply: MemcachedReply, for expectation: ReplyExpectation) -> Bool {
        expectation.accepts(reply)
    }

    func makeDecoder() -> Decoder { Decoder(parser: MemcachedParser(limits: limits), checksKeys: checksKeys) }

    /// Get replies are parsed against their request's keys.
    var decodesWithExpectation: Bool { true }

    /// ``MemcachedParser`` behind the engine's decoder interface: a get reply is parsed knowing
    /// the keys its request asked for, so a VALUE for another key fails at its header line.
    struct Decoder: ReplyDecoder {
        var parser: MemcachedParser
        let checksKeys: Bool

        mutating func append(_ bytes: UnsafeRawBufferPointer) { parser.append(bytes) }

        mutating func next(due: ReplyExpectation?) throws -> DecodedFrame<MemcachedReply>? {
            do {
                return try parser.next(expectingKeys: checksKeys ? due?.itemKeys ?? [] : nil).map { .reply($0) }
            } catch {
                throw NetworkError(.protocolError, error.message)
            }
        }
    }
}

/// One multiplexed connection to a memcached server.
typealias MemcachedConnection = PipelinedConnection<MemcachedCodec>

extension PipelinedConnection where Codec == MemcachedCodec {
    /// Creates a connection to `server` (not yet open).
    convenience init(server: MemcachedConfiguration.Server, loop: EventLoop, configuration: MemcachedConfiguration, faults: ConnectionFaults = .none) {
        // Replies may carry a value of up to maxItemSize bytes.
        let codec = MemcachedCodec(limits: MemcachedParser.Limits(maximumValueLength: configuration.maxItemSize), checksKeys: !faults.freesCancelledSlots)
        self.init(codec: codec, label: .memcached(at: server.description), loop: loop, commandTimeout: configuration.commandTimeout,
                  maxPending: configuration.maxPendingCommandsPerConnection, faults: faults)
    }

    /// Writes one command and waits for its reply.
    ///
    /// - Throws: `SessionError` (the engine's errors turned into the store's).
    func perform(_ request: MemcachedRequest, deadline: Deadline) async throws -> MemcachedReply {
        do {
            return try await send(request, deadline: deadline)
        } catch let error as NetworkError {
            throw SessionError(error)
        }
    }

    /// Writes one command (appended by `encode`) and waits for its reply.
    func send(expecting expectation: ReplyExpectation, deadline: Deadline, encode: @escaping @Sendable (inout [UInt8]) -> Void) async throws -> MemcachedReply {
        try await perform(.encoded(expecting: expectation, encode: encode), deadline: deadline)
    }
}

extension SessionError {
    /// The store's error for an engine error: same message; timeouts and broken streams keep
    /// their codes, everything else means the server cannot be used now.
    init(_ error: NetworkError) {
        self.init(error.code == .timeout ? .timeout : error.code == .protocolError ? .protocolError : .storeUnavailable, error.message)
    }
}

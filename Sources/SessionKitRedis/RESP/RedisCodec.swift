import SessionKit
@_spi(Engine) import SessionKitNetworking

/// A Redis command as the engine writes it: its arguments, and for a Cluster `ASK`
/// redirection an `ASKING` written right before it, in the same write, so that no other command
/// can come between them (its reply is read and dropped).
struct RedisRequest: Sendable {
    let arguments: [RedisArgument]
    let asking: Bool
}

/// RESP for the connection engine: commands as arrays of bulk strings, replies through
/// ``RESPParser``; RESP3 push frames are pushes, never replies.
struct RedisCodec: ConnectionCodec {
    /// RESP replies carry nothing to check them against their command: they are matched by order.
    struct Expectation: Sendable {}

    let limits: RESPParser.Limits

    func encode(_ request: RedisRequest, into buffer: inout [UInt8]) -> Expectation {
        if request.asking { RESPEncoder.encode(["ASKING"], into: &buffer) }
        RESPEncoder.encode(request.arguments, into: &buffer)
        return Expectation()
    }

    func replyCount(of request: RedisRequest) -> Int { request.asking ? 2 : 1 }

    func accepts(_ reply: RESPValue, for expectation: Expectation) -> Bool { true }

    func makeDecoder() -> Decoder { Decoder(parser: RESPParser(limits: limits)) }

    /// ``RESPParser`` behind the engine's decoder interface.
    ///
    /// Most push frames are skipped (client-side caching invalidations), but a pub/sub push
    /// (`subscribe`, `message`...) means that a command whose reply is a push went out on this
    /// connection: its caller's entry will never be answered and every later reply would go to
    /// the caller before its own, so the frame ends the connection. (`RedisClient.send`
    /// refuses those commands; this is the backstop.)
    struct Decoder: ReplyDecoder {
        var parser: RESPParser

        mutating func append(_ bytes: UnsafeRawBufferPointer) { parser.append(bytes) }

        mutating func next(due: Expectation?) throws -> DecodedFrame<RESPValue>? {
            let value: RESPValue?
            do {
                value = try parser.next()
            } catch let error as SessionError {
                throw NetworkError(.protocolError, error.message)
            }
            guard let value else { return nil }
            guard case .push(let frame) = value else { return .reply(value) }
            return .push(outOfStep: RedisCodec.pubSubKind(of: frame).map {
                "sent a pub/sub push ('\($0)') on a shared connection, so a command's reply will never come and later replies would reach the wrong callers; the connection was closed to stay in step"
            })
        }
    }

    /// The kind of a pub/sub push frame (`subscribe`, `message`...), or `nil` for other pushes.
    static func pubSubKind(of frame: [RESPValue]) -> String? {
        let kind: String
        switch frame.first {
        case .bulkString(let bytes)?: kind = String(decoding: bytes.prefix(16), as: UTF8.self).lowercased()
        case .simpleString(let text)?: kind = text.lowercased()
        default: return nil
        }
        switch kind {
        case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
             "message", "pmessage", "smessage":
            return kind
        default:
            return nil
        }
    }
}

/// One multiplexed connection to a Redis server.
typealias RedisConnection = PipelinedConnection<RedisCodec>

extension PipelinedConnection where Codec == RedisCodec {
    /// Creates a connection to the Redis server at `address` (not yet open).
    convenience init(address: String, loop: EventLoop, configuration: RedisConfiguration, faults: ConnectionFaults = .none) {
        self.init(codec: RedisCodec(limits: configuration.parserLimits), label: .redis(at: address), loop: loop,
                  commandTimeout: configuration.commandTimeout, maxPending: configuration.maxPendingCommandsPerConnection, faults: faults)
    }

    /// Sends one command and waits for its reply (error replies are returned, not thrown).
    ///
    /// - Parameter asking: Cluster `ASK` redirection: `ASKING` goes out right before the command.
    /// - Throws: `SessionError` (the engine's errors turned into the store's).
    func send(_ arguments: [RedisArgument], deadline: Deadline, asking: Bool = false) async throws -> RESPValue {
        do {
            return try await send(RedisRequest(arguments: arguments, asking: asking), deadline: deadline)
        } catch let error as NetworkError {
            throw SessionError(error)
        }
    }

    /// Closes the connection; commands in flight fail with `reason`.
    func close(reason: SessionError) {
        close(reason: NetworkError(reason.code == .timeout ? .timeout : .connectionClosed, reason.message))
    }

    /// How many RESP3 push frames arrived (and were skipped) on this connection.
    var pushFramesSkipped: Int { outOfBandFramesSkipped }
}

extension SessionError {
    /// The store's error for an engine error: same message; timeouts and broken streams keep
    /// their codes, everything else means the server cannot be used now.
    init(_ error: NetworkError) {
        self.init(error.code == .timeout ? .timeout : error.code == .protocolError ? .protocolError : .storeUnavailable, error.message)
    }
}

import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

/// One memcached shared by the tests that need no special configuration.
enum SharedMemcached {
    private static let server = Task { try await MemcachedServer.start() }

    static func get() async throws -> MemcachedServer {
        try await server.value
    }
}

extension MemcachedConfiguration {
    /// A configuration from `url` with deadlines generous enough for a loaded CI machine or a
    /// sanitizer build (the same as the Redis tests': a full run on 2 cores can leave a
    /// connect's task waiting for the cooperative pool for many seconds); tests never assert on
    /// timing, only on outcomes.
    init(testing url: String) throws {
        try self.init(url: url)
        connectTimeout = .seconds(20)
        commandTimeout = .seconds(20)
    }

    /// Fast reconnects and retries for fault tests.
    func withFastReconnect() -> MemcachedConfiguration {
        var copy = self
        copy.reconnectDelay = .milliseconds(10)
        copy.maxReconnectDelay = .milliseconds(100)
        copy.deadServerRetryInterval = .milliseconds(300)
        return copy
    }
}

extension MemcachedClient {
    /// A client for tests (see ``MemcachedConfiguration/init(testing:)``).
    convenience init(testing url: String) throws {
        try self.init(configuration: MemcachedConfiguration(testing: url))
    }
}

extension MemcachedSessionStore {
    /// A store for tests (see ``MemcachedConfiguration/init(testing:)``).
    convenience init(testing url: String) throws {
        try self.init(configuration: MemcachedConfiguration(testing: url))
    }
}

/// Polls `condition` until it holds or `limit` passes (a bounded wait, not a timing assertion):
/// ``Poll/until(_:within:every:_:)``.
func eventually(_ what: String, within limit: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool) async throws {
    try await Poll.until(what, within: limit, condition)
}

extension Trait where Self == ConditionTrait {
    /// Runs only when memcached is installed, or under CI=true (where its absence fails).
    static var needsMemcached: ConditionTrait {
        .enabled(if: MemcachedServer.shouldRun, "memcached is not installed (apt-get install -y memcached); set CI=true to make this a failure")
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

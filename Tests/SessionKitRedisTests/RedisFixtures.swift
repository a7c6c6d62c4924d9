import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

/// One redis-server shared by the tests that need no special configuration.
enum SharedRedis {
    private static let server = Task { try await RedisServer.start() }

    static func get() async throws -> RedisServer {
        try await server.value
    }

    /// A configuration for the shared server with short, test-friendly timeouts.
    static func configuration(_ server: RedisServer) -> RedisConfiguration {
        var configuration = try! RedisConfiguration(url: server.url)
        configuration.commandTimeout = .seconds(20)
        configuration.connectTimeout = .seconds(20)
        return configuration
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs only when redis-server is installed, or under CI=true (where its absence fails).
    static var needsRedis: ConditionTrait {
        .enabled(if: RedisServer.shouldRun, "redis-server is not installed (apt-get install -y redis-server); set CI=true to make this a failure")
    }
}

extension RedisConfiguration {
    /// A configuration from `url` with deadlines generous enough for a loaded CI machine or a
    /// sanitizer build; tests never assert on timing, only on outcomes.
    init(testing url: String) throws {
        try self.init(url: url)
        connectTimeout = .seconds(20)
        commandTimeout = .seconds(20)
    }
}

extension RedisClient {
    /// A client for tests (see ``RedisConfiguration/init(testing:)``).
    convenience init(testing url: String) throws {
        try self.init(configuration: RedisConfiguration(testing: url))
    }
}

extension RedisSessionStore {
    /// A store for tests (see ``RedisConfiguration/init(testing:)``).
    convenience init(testing url: String) throws {
        try self.init(configuration: RedisConfiguration(testing: url))
    }
}

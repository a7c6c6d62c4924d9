// The chaos soak for long runs:
// `SessionKitSoak [seconds] [redis|memcached|all] [users] [seed] [wholeSession|changedKeys]`.
// Prints progress, the report, and one line per store:
// RESULT soak store=<redis|memcached> seconds=.. requests=.. faults=.. errors=.. violations=..
// With `logout-redis`, `logout-memcached` or `logout` (both) as the store, it runs the logout
// soak instead (LogoutSoak: logins, held requests, logouts, revocations, faults) and prints
// RESULT logout store=<s> seconds=.. logouts=.. revocations=.. probes=.. resurrected=.. ...
// Exits with status 1 when any violation was found, 2 on bad arguments or a fixture failure.
import Foundation
import SessionKit
import SessionKitMemcached
import SessionKitRedis
import SessionKitTestSupport

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: SessionKitSoak [seconds (default 300)] [redis|memcached|all|logout-redis|logout-memcached|logout (default all)] [users (default 300)] [seed (default 1)] [wholeSession|changedKeys (save mode, default wholeSession)]\n".utf8))
    exit(2)
}

func number<T: LosslessStringConvertible>(_ text: String) -> T {
    guard let value = T(text) else { usage() }
    return value
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count <= 5 else { usage() }
let seconds = arguments.count > 0 ? number(arguments[0]) as Int : 300
let which = arguments.count > 1 ? arguments[1] : "all"
let users = arguments.count > 2 ? number(arguments[2]) as Int : 300
let seed = arguments.count > 3 ? number(arguments[3]) as UInt64 : 1
let saveMode: SessionConfiguration.SaveMode
switch arguments.count > 4 ? arguments[4] : "wholeSession" {
case "wholeSession": saveMode = .wholeSession
case "changedKeys": saveMode = .changedKeys
default: usage()
}
let sessionConfiguration = try SessionConfiguration(saveMode: saveMode)
guard seconds > 0, users > 0 else { usage() }
var stores: [ChaosSoak.StoreKind] = []
var logoutStores: [ChaosSoak.StoreKind] = []
switch which {
case "all": stores = ChaosSoak.StoreKind.allCases
case "redis": stores = [.redis]
case "memcached": stores = [.memcached]
case "logout": logoutStores = ChaosSoak.StoreKind.allCases
case "logout-redis": logoutStores = [.redis]
case "logout-memcached": logoutStores = [.memcached]
default: usage()
}

func factory(_ store: ChaosSoak.StoreKind) -> ChaosSoak.Factory {
    switch store {
    case .redis:
        return { port, configuration in
            var redis = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
            redis.connectTimeout = configuration.clientTimeout
            redis.commandTimeout = configuration.clientTimeout
            redis.reconnectDelay = .milliseconds(10)
            redis.maxReconnectDelay = .milliseconds(200)
            let store = RedisSessionStore(client: try RedisClient(configuration: redis))
            let middleware = try SessionMiddleware(RedisSessionInterface(store: store, configuration: sessionConfiguration))
            return ChaosSoak.Target(middleware: middleware, close: { store.client.close() })
        }
    case .memcached:
        return { port, configuration in
            var memcached = try MemcachedConfiguration(url: "memcached://127.0.0.1:\(port)")
            memcached.connectTimeout = configuration.clientTimeout
            memcached.commandTimeout = configuration.clientTimeout
            memcached.reconnectDelay = .milliseconds(10)
            memcached.maxReconnectDelay = .milliseconds(200)
            let client = try MemcachedClient(configuration: memcached)
            let middleware = try SessionMiddleware(MemcacheSessionInterface(store: MemcachedSessionStore(client: client), configuration: sessionConfiguration))
            return ChaosSoak.Target(middleware: middleware, close: { client.close() })
        }
    }
}

@Sendable func log(_ line: String) {
    print(line)
    fflush(nil)
}

var violations = 0
var results: [String] = []
for store in logoutStores {
    let made = factory(store)
    let logoutFactory: LogoutSoak.Factory = { port, timeout in
        var configuration = ChaosSoak.Configuration(store: store, duration: .seconds(1))
        configuration.clientTimeout = timeout
        return try made(port, configuration)
    }
    log("logout soak: store=\(store.rawValue) seconds=\(seconds) users=\(users) seed=\(seed) save-mode=\(saveMode)")
    do {
        let report = try await LogoutSoak.run(
            LogoutSoak.Configuration(store: store, duration: .seconds(seconds), users: users, seed: seed), factory: logoutFactory)
        for detail in report.details { log("  resurrected: \(detail)") }
        log(report.resultLine)
        results.append(report.resultLine)
        violations += report.resurrected
    } catch {
        log("logout soak: store=\(store.rawValue) failed: \(error)")
        exit(2)
    }
}
for store in stores {
    var configuration = ChaosSoak.Configuration(store: store, duration: .seconds(seconds), users: users, seed: seed)
    configuration.progress = { log("  [\(store.rawValue)] \($0)") }
    if seconds < 120 {
        configuration.warmUp = .seconds(max(1, seconds / 10))
        configuration.progressInterval = .seconds(max(5, seconds / 6))
    }
    log("soak: store=\(store.rawValue) seconds=\(seconds) users=\(users) seed=\(seed) save-mode=\(saveMode) client-timeout=\(configuration.clientTimeout) request-deadline=\(configuration.requestDeadline) stall=\(configuration.stallLength) fault-interval=\(configuration.faultInterval)s cancel=\(configuration.cancelProbability) rss-allowance=\(configuration.rssAllowance >> 20)MiB")
    do {
        let report = try await ChaosSoak.run(configuration, factory: factory(store))
        log(report.description)
        log(report.resultLine)
        results.append(report.resultLine)
        violations += report.violations
    } catch {
        log("soak: store=\(store.rawValue) failed: \(error)")
        exit(2)
    }
}
if results.count > 1 { for line in results { log(line) } }
exit(violations == 0 ? 0 : 1)

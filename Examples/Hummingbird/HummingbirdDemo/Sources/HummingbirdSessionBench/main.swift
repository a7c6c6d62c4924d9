import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdSessionKit
import Logging
import SessionKit
import SessionKitRedis

// The Hummingbird servers of the HTTP benchmark (Benchmarks/Scripts/http-bench.sh). Every
// variant with sessions reads a counter from the session and writes it back incremented on
// every request, so each request costs one load and one save.
//
//   HummingbirdSessionBench MODE PORT [REDIS_URL]
//   MODE: nosession | hbauth | sessionkit-memory | sessionkit-redis | sessionkit-cookie

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = Int(arguments[2]) else {
    FileHandle.standardError.write(
        Data("usage: HummingbirdSessionBench nosession|hbauth|sessionkit-memory|sessionkit-redis|sessionkit-cookie PORT [REDIS_URL]\n".utf8))
    exit(2)
}
let mode = arguments[1]
let address = BindAddress.hostname("127.0.0.1", port: port)
var logger = Logger(label: "HummingbirdSessionBench")
logger.logLevel = .warning

/// hummingbird-auth's session value.
struct Counter: Codable, Sendable {
    var count: Int
}

/// The request context of the SessionKit variants.
struct BenchContext: SessionKitRequestContext {
    var coreContext: CoreRequestContextStorage
    var sessions = RequestSessions()
    init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
}

func sessionKitRouter(_ interface: any SessionInterface) throws -> Router<BenchContext> {
    let router = Router(context: BenchContext.self)
    router.add(middleware: SessionKitMiddleware(try SessionMiddleware(interface)))
    router.get("/") { _, context -> String in
        let session = try await context.sessions.session()
        let count = (session["count"]?.intValue ?? 0) + 1
        session["count"] = .int(count)
        return "count \(count)"
    }
    return router
}

let configuration = try SessionConfiguration(expiry: 3600)
switch mode {
case "nosession":
    let router = Router()
    router.get("/") { _, _ -> String in "count 1" }
    try await Application(router: router, configuration: .init(address: address), logger: logger).runService()

case "hbauth":
    typealias Context = BasicSessionRequestContext<Counter, String>
    let persist = MemoryPersistDriver()
    let router = Router(context: Context.self)
    router.add(middleware: HummingbirdAuth.SessionMiddleware(storage: persist))
    router.get("/") { _, context -> String in
        let count = (context.sessions.session?.count ?? 0) + 1
        if !context.sessions.updateSession(Counter(count: count)) {
            context.sessions.createSession(Counter(count: count))
        }
        return "count \(count)"
    }
    try await Application(router: router, configuration: .init(address: address), services: [persist], logger: logger)
        .runService()

case "sessionkit-memory":
    let router = try sessionKitRouter(InMemorySessionInterface(configuration: configuration))
    try await Application(router: router, configuration: .init(address: address), logger: logger).runService()

case "sessionkit-redis":
    let url = arguments.count > 3 ? arguments[3] : "redis://127.0.0.1:6379"
    let router = try sessionKitRouter(RedisSessionInterface(url: url, configuration: configuration))
    try await Application(router: router, configuration: .init(address: address), logger: logger).runService()

case "sessionkit-cookie":
    let secret = ProcessInfo.processInfo.environment["SESSIONKIT_SECRET"] ?? "benchmark-secret-0123456789abcdef0123456789abcdef"
    let interface = try SignedCookieSessionInterface(
        secret: secret, options: CookieSessionConfiguration(maxAge: 3600, timeout: 3600))
    let router = try sessionKitRouter(interface)
    try await Application(router: router, configuration: .init(address: address), logger: logger).runService()

default:
    FileHandle.standardError.write(Data("unknown mode \(mode)\n".utf8))
    exit(2)
}

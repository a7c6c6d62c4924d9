import Foundation
import NIOCore
import NIOPosix
import Vapor
import VaporDemoApp

// SessionKit demo on Vapor 4. Run from the repository's root:
//   swift run --package-path Examples/Vapor/VaporDemo SessionKitVaporDemo
// It listens on 127.0.0.1, port SESSIONKIT_PORT (default 8080); Vapor's own flags
// (serve --hostname H --port P) override that.

var env = try Environment.detect()
try LoggingSystem.bootstrap(from: &env)
let app = try await Application.make(env)
// As in Vapor's app template: NIO's event loops become Swift Concurrency's global executor, so
// the async handlers and SessionKit's AsyncMiddleware stay on the request's event loop.
if !NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() {
    app.logger.warning("Could not install NIO's event loops as the global executor; async code runs on Swift's cooperative pool")
}
do {
    let environment = ProcessInfo.processInfo.environment
    app.http.server.configuration.hostname = "127.0.0.1"
    app.http.server.configuration.port = environment["SESSIONKIT_PORT"].flatMap(Int.init) ?? 8080
    try configureDemo(app, interface: demoInterface(environment: environment))
    try await app.execute()
} catch {
    app.logger.report(error: error)
    try? await app.asyncShutdown()
    throw error
}
try await app.asyncShutdown()

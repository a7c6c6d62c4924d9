import Foundation
import NIOCore
import NIOPosix
import SessionKit
import Vapor
import VaporSessionKit

// The Vapor servers of the HTTP benchmark (Benchmarks/Scripts/http-bench.sh). Every variant
// with sessions reads a counter from the session and writes it back incremented on every
// request, so each request costs one load and one save.
//
//   VaporSessionBench MODE PORT
//   MODE: nosession | vapor-sessions | sessionkit-memory
//   Diagnostic modes (not rows of the suite): nosession-async (an async handler, no middleware),
//   empty-async-middleware (an async handler behind an AsyncMiddleware that does nothing).
//
// Every mode runs with the process setup of Vapor's app template (Sources/App/entrypoint.swift
// of vapor/template): NIO's singleton event loop group is installed as Swift Concurrency's
// global executor, so async handlers and AsyncMiddleware run on the event loop that received the
// request instead of hopping to the cooperative pool and back. The same setting for every mode
// keeps the rows comparable.

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: VaporSessionBench nosession|vapor-sessions|sessionkit-memory PORT\n".utf8))
    exit(2)
}
let mode = arguments[1]

var env = Environment(name: "production", arguments: ["VaporSessionBench"])
try LoggingSystem.bootstrap(from: &env)
let app = try await Application.make(env)
app.logger.logLevel = .warning
if !NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() {
    FileHandle.standardError.write(Data("warning: could not install NIO's event loops as the global executor; async code runs on Swift's cooperative pool\n".utf8))
}
app.http.server.configuration.hostname = "127.0.0.1"
app.http.server.configuration.port = port

switch mode {
case "nosession":
    app.get { _ in "count 1" }
case "vapor-sessions":
    app.sessions.use(.memory)
    app.middleware.use(app.sessions.middleware)
    app.get { req -> String in
        let count = (req.session.data["count"].flatMap { Int($0) } ?? 0) + 1
        req.session.data["count"] = String(count)
        return "count \(count)"
    }
case "sessionkit-memory":
    app.middleware.use(SessionKitMiddleware(try SessionMiddleware(InMemorySessionInterface(configuration: SessionConfiguration(expiry: 3600)))))
    app.get { req async throws -> String in
        let session = try await req.sessionKit.session()
        let count = (session["count"]?.intValue ?? 0) + 1
        session["count"] = .int(count)
        return "count \(count)"
    }
case "nosession-async":
    app.get { _ async -> String in "count 1" }
case "empty-async-middleware":
    struct Empty: AsyncMiddleware {
        func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
            try await next.respond(to: request)
        }
    }
    app.middleware.use(Empty())
    app.get { _ async -> String in "count 1" }
default:
    FileHandle.standardError.write(Data("unknown mode \(mode)\n".utf8))
    exit(2)
}

do {
    try await app.execute()
} catch {
    try? await app.asyncShutdown()
    throw error
}
try await app.asyncShutdown()

import SessionKit
import Vapor
import VaporSessionKit

/// Installs SessionKit and the demo's routes: a visit counter, login (a new session ID) and
/// logout (the session ends).
///
/// - Parameters:
///   - app: the application.
///   - interface: where sessions live (in memory by default; any SessionKit interface works).
public func configureDemo(_ app: Application, interface: any SessionInterface) throws {
    app.middleware.use(SessionKitMiddleware(try SessionMiddleware(interface)))

    // Never touches the session, so it sets no cookie.
    app.get("healthz") { _ in "ok" }

    app.get { req async throws -> String in
        let session = try await req.sessionKit.session()
        let visits = (session["visits"]?.intValue ?? 0) + 1
        session["visits"] = .int(visits)
        let user = session["user"]?.stringValue.map { "logged in as \($0)" } ?? "not logged in"
        return "visits \(visits); \(user)\n"
    }

    // Login: a new session ID (no session fixation), the data kept.
    app.post("login") { req async throws -> String in
        struct Login: Content { var username: String }
        let name = try req.content.decode(Login.self).username.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 40 else { throw Abort(.badRequest, reason: "username must have 1 to 40 characters") }
        let session = try await req.sessionKit.session()
        try session.regenerateID()
        try session.newCSRFToken()
        session["user"] = .string(name)
        return "logged in as \(name)\n"
    }

    // Logout: the stored session is deleted and the cookie expired.
    app.post("logout") { req async throws -> String in
        let session = try await req.sessionKit.session()
        try session.invalidate()
        return "logged out\n"
    }
}

/// The demo's session interface, chosen by `SESSIONKIT_STORE`: `memory` (default) or
/// `filesystem[:DIR]`; `SESSIONKIT_EXPIRY` sets the expiry in seconds (default 3600).
public func demoInterface(environment: [String: String]) throws -> any SessionInterface {
    let expiry = environment["SESSIONKIT_EXPIRY"].flatMap(Int.init) ?? 3600
    let configuration = try SessionConfiguration(expiry: expiry)
    let store = environment["SESSIONKIT_STORE"] ?? "memory"
    if store == "filesystem" || store.hasPrefix("filesystem:") {
        let directory = store.hasPrefix("filesystem:") ? String(store.dropFirst("filesystem:".count)) : nil
        return try FilesystemSessionInterface(configuration: configuration, directory: directory)
    }
    guard store == "memory" else {
        throw SessionError(.invalidConfiguration, "the Vapor demo knows the stores memory and filesystem[:DIR], not \"\(store)\"")
    }
    return try InMemorySessionInterface(configuration: configuration)
}

import SessionKit
import Vapor

/// A Vapor middleware that gives every request its SessionKit sessions.
///
/// It passes the request's `Cookie` headers to ``SessionKit/SessionMiddleware``, keeps the
/// ``SessionKit/SessionContext`` in `request.storage` for the handlers (``Vapor/Request/sessionKit``),
/// and adds the headers SessionKit asks for (`Set-Cookie`, `Vary: Cookie`,
/// `Cache-Control: private`) to the response.
///
/// ```swift
/// app.middleware.use(SessionKitMiddleware(try SessionMiddleware(InMemorySessionInterface())))
/// app.get { req async throws -> String in
///     let session = try await req.sessionKit.session()
///     let visits = (session["visits"]?.intValue ?? 0) + 1
///     session["visits"] = .int(visits)
///     return "visit \(visits)"
/// }
/// ```
///
/// Errors: when a handler throws, nothing is saved and the error goes on up the chain. Cookie
/// sessions with `setOnException` still send their cookie: the error is then rethrown as a
/// ``SessionKitAbortError`` that keeps the original status and reason and adds those headers.
public struct SessionKitMiddleware: AsyncMiddleware {
    /// The framework-neutral middleware doing the work.
    public let sessions: SessionMiddleware

    /// Creates the middleware.
    public init(_ sessions: SessionMiddleware) {
        self.sessions = sessions
    }

    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            let result = try await sessions.handle(cookieHeaders: request.headers[.cookie]) { context in
                request.storage[SessionKitContextKey.self] = context
                return try await next.respond(to: request)
            }
            for header in result.headers {
                result.value.headers.add(name: header.name, value: header.value)
            }
            return result.value
        } catch let error as SessionHandlerError {
            throw SessionKitAbortError(error: error.error, sessionHeaders: error.headers)
        }
    }
}

/// The `request.storage` key under which ``SessionKitMiddleware`` keeps the request's context.
public struct SessionKitContextKey: StorageKey {
    public typealias Value = SessionContext
}

extension Request {
    /// The request's SessionKit sessions: `try await req.sessionKit.session()`.
    ///
    /// - Throws: a 500 `Abort` when ``SessionKitMiddleware`` is not installed.
    public var sessionKit: SessionContext {
        get throws {
            guard let context = storage[SessionKitContextKey.self] else {
                throw Abort(.internalServerError, reason: "SessionKitMiddleware is not installed")
            }
            return context
        }
    }
}

/// A handler's error together with the session headers that must go out with its response
/// (cookie sessions with `setOnException`).
public struct SessionKitAbortError: AbortError {
    /// What the handler threw.
    public let error: any Error
    /// The headers SessionKit asks for.
    public let sessionHeaders: [SessionHeader]

    /// The original error's status when it has one, otherwise 500.
    public var status: HTTPResponseStatus { (error as? any AbortError)?.status ?? .internalServerError }

    /// The original error's reason when it has one, otherwise a generic one.
    public var reason: String { (error as? any AbortError)?.reason ?? "Something went wrong." }

    /// The original error's headers plus the session headers.
    public var headers: HTTPHeaders {
        var headers = (error as? any AbortError)?.headers ?? [:]
        for header in sessionHeaders { headers.add(name: header.name, value: header.value) }
        return headers
    }
}

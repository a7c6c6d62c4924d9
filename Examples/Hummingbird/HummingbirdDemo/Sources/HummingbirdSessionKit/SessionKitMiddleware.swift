import HTTPTypes
import Hummingbird
import SessionKit

/// A Hummingbird router middleware that gives every request its SessionKit sessions.
///
/// It passes the request's `Cookie` headers to ``SessionKit/SessionMiddleware``, runs the rest of
/// the chain with the ``SessionKit/SessionContext`` stored in the request context, and adds the
/// headers SessionKit asks for (`Set-Cookie`, `Vary: Cookie`, `Cache-Control: private`) to the
/// response.
///
/// ```swift
/// struct AppContext: SessionKitRequestContext {
///     var coreContext: CoreRequestContextStorage
///     var sessions = RequestSessions()
///     init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
/// }
///
/// let router = Router(context: AppContext.self)
/// router.add(middleware: SessionKitMiddleware(try SessionMiddleware(InMemorySessionInterface())))
/// router.get("/") { _, context in
///     let session = try await context.sessions.session()
///     let visits = (session["visits"]?.intValue ?? 0) + 1
///     session["visits"] = .int(visits)
///     return "visit \(visits)"
/// }
/// ```
///
/// Errors: when a handler throws, nothing is saved and the error goes on up the chain. Cookie
/// sessions with `setOnException` still send their cookie: the error is then rethrown as a
/// ``SessionKitResponseError`` that renders the original error's response plus those headers.
public struct SessionKitMiddleware<Context: SessionKitRequestContext>: RouterMiddleware {
    /// The framework-neutral middleware doing the work.
    public let sessions: SessionMiddleware

    /// Creates the middleware.
    public init(_ sessions: SessionMiddleware) {
        self.sessions = sessions
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let cookieHeaders = request.headers[values: .cookie]
        do {
            let result = try await sessions.handle(cookieHeaders: cookieHeaders) { sessionContext in
                var context = context
                context.sessions = RequestSessions(sessionContext)
                return try await next(request, context)
            }
            var response = result.value
            response.headers.append(sessionHeaders: result.headers)
            return response
        } catch let error as SessionHandlerError {
            throw SessionKitResponseError(error: error.error, headers: error.headers)
        }
    }
}

/// A request context that carries SessionKit sessions; ``SessionKitMiddleware`` fills it in.
public protocol SessionKitRequestContext: RequestContext {
    /// The request's sessions. Empty until ``SessionKitMiddleware`` has run.
    var sessions: RequestSessions { get set }
}

/// A request's access to its sessions, stored in the request context.
public struct RequestSessions: Sendable {
    /// SessionKit's per-request context, or `nil` outside ``SessionKitMiddleware``.
    public let context: SessionContext?

    /// An empty value, for a request context's initializer.
    public init() { self.context = nil }

    /// Wraps the context that ``SessionKitMiddleware`` received from SessionKit.
    public init(_ context: SessionContext) { self.context = context }

    /// Returns the session named `name` (``SessionKit/SessionConfiguration/sessionName``),
    /// loading it on first use.
    ///
    /// - Throws: a 500 `HTTPError` when ``SessionKitMiddleware`` is not installed in front of
    ///   the route, or SessionKit's error when the session cannot be loaded.
    public func session(_ name: String = "session") async throws -> Session {
        guard let context else {
            throw HTTPError(.internalServerError, message: "SessionKitMiddleware is not installed for this route")
        }
        return try await context.session(name)
    }
}

/// A handler's error together with the session headers that must go out with its response
/// (cookie sessions with `setOnException`).
public struct SessionKitResponseError: HTTPResponseError {
    /// What the handler threw.
    public let error: any Error
    /// The headers SessionKit asks for.
    public let headers: [SessionHeader]

    /// The status of the original error when it has one, otherwise 500.
    public var status: HTTPResponse.Status {
        (error as? any HTTPResponseError)?.status ?? .internalServerError
    }

    /// The original error's response (an empty 500 for errors Hummingbird cannot render),
    /// with the session headers added.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response: Response
        if let error = error as? any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } else {
            response = Response(status: .internalServerError)
        }
        response.headers.append(sessionHeaders: headers)
        return response
    }
}

extension HTTPFields {
    /// Appends SessionKit's headers (several `Set-Cookie` fields stay separate fields).
    mutating func append(sessionHeaders: [SessionHeader]) {
        for header in sessionHeaders {
            let name: HTTPField.Name
            switch header.name {
            case "Set-Cookie": name = .setCookie
            case "Vary": name = .vary
            case "Cache-Control": name = .cacheControl
            default:
                guard let other = HTTPField.Name(header.name) else { continue }
                name = other
            }
            append(HTTPField(name: name, value: header.value))
        }
    }
}

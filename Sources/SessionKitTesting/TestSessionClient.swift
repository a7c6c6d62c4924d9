import SessionKit
import Synchronization

/// Runs handlers through a `SessionMiddleware` the way a browser would call them:
/// it sends the cookies it holds and keeps those each response sets (`Max-Age=0` deletes).
///
/// No server is involved: the handler is the code under test, called with a real
/// `SessionContext`, and the result carries what the response would.
///
/// ```swift
/// let client = TestSessionClient(try SessionMiddleware(InMemorySessionInterface()))
/// let first = try await client.request { context in try await visit(context) }
/// let second = try await client.request { context in try await visit(context) }
/// ```
public final class TestSessionClient: Sendable {
    /// The middleware the requests go through.
    public let middleware: SessionMiddleware
    private let jar = Mutex<[String: String]>([:])

    /// Creates a client with no cookies.
    public init(_ middleware: SessionMiddleware) {
        self.middleware = middleware
    }

    /// The cookies held, by name.
    public var cookies: [String: String] { jar.withLock { $0 } }

    /// The `Cookie` header values the next request sends (none when no cookie is held).
    public var cookieHeaders: [String] {
        jar.withLock { jar in
            jar.isEmpty ? [] : [jar.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
        }
    }

    /// Sets a cookie by hand (a stale or forged cookie, another service's).
    public func setCookie(_ name: String, _ value: String) {
        jar.withLock { $0[name] = value }
    }

    /// Forgets every cookie, as a new browser.
    public func clearCookies() {
        jar.withLock { $0.removeAll() }
    }

    /// Runs `handler` as one request with this client's cookies, keeps the cookies the
    /// response sets, and returns the result (the handler's value and the response headers).
    ///
    /// - Throws: what the handler or the middleware throws; when the handler throws, cookies
    ///   that the middleware still sends (`SessionHandlerError`) are kept.
    @discardableResult
    nonisolated(nonsending) public func request<Value>(
        _ handler: nonisolated(nonsending) (SessionContext) async throws -> Value
    ) async throws -> SessionResult<Value> {
        do {
            let result = try await middleware.handle(cookieHeaders: cookieHeaders, handler)
            receive(result.setCookies)
            return result
        } catch let error as SessionHandlerError {
            receive(error.headers.filter { $0.name == SessionHeader.setCookie }.map(\.value))
            throw error
        }
    }

    /// Applies `Set-Cookie` header values as a browser would (name and value; `Max-Age=0`
    /// deletes).
    public func receive(_ setCookies: [String]) {
        jar.withLock { jar in
            for header in setCookies {
                let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: " ") }
                guard let pair = parts.first, let equals = pair.firstIndex(of: "=") else { continue }
                let name = String(pair[..<equals])
                let value = String(pair[pair.index(after: equals)...])
                if parts.contains(where: { $0.lowercased() == "max-age=0" }) {
                    jar.removeValue(forKey: name)
                } else {
                    jar[name] = value
                }
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var text = self
        while text.first == character { text = text.dropFirst() }
        while text.last == character { text = text.dropLast() }
        return text
    }
}

import Hummingbird
import HummingbirdSessionKit
import SessionKit

/// The demo's request context: Hummingbird's basics plus the request's sessions.
struct DemoContext: SessionKitRequestContext {
    var coreContext: CoreRequestContextStorage
    var sessions = RequestSessions()

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}

/// Builds the demo's router: counter, login/logout, "log out everywhere", a devices page,
/// flash messages, a CSRF-protected form, the cookie settings, and a cross-site link for
/// checking SameSite.
func makeRouter(settings: DemoSettings, interface: any SessionInterface) throws -> Router<DemoContext> {
    let router = Router(context: DemoContext.self)
    let sessions = try SessionMiddleware(interface)
    router.add(middleware: StoreErrorPage())
    router.add(middleware: SessionKitMiddleware(sessions))
    let cookieName = interface.configuration.cookieName

    // Health check for scripts; it never touches the session, so it sets no cookie.
    router.get("/healthz") { _, _ in "ok" }

    // Test-only (SESSIONKIT_TEST_CLOCK=1): moves the store's clock forward. Not routed otherwise.
    if let testClock = settings.testClock {
        router.post("/__test/advance") { request, _ -> Response in
            guard let text = request.uri.queryParameters.get("seconds"), let seconds = Double(text), seconds >= 0 else {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "seconds=N (N >= 0) is required\n")))
            }
            testClock.advance(by: seconds)
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "\(testClock.now)\n")))
        }
    }

    // The visit counter, the user, and any flash messages (shown once).
    router.get("/") { _, context -> Response in
        let session = try await context.sessions.session()
        let visits = (session["visits"]?.intValue ?? 0) + 1
        session["visits"] = .int(visits)
        let flashes = session.popFlash().compactMap(\.stringValue)
        var body = "<p>Visits in this session: <strong id=\"visits\">\(visits)</strong></p>"
        if let user = session["user"]?.stringValue {
            body += """
                <p id="user">Logged in as <strong>\(Page.escape(user))</strong>. <a id="devices-link" href="/devices">Your devices</a></p>
                <form method="post" action="/logout">\(Page.csrfField(try session.csrfToken()))<button id="logout">Log out</button></form>
                <form method="post" action="/logout-everywhere">\(Page.csrfField(try session.csrfToken()))<button id="logout-everywhere">Log out everywhere</button></form>
                """
        } else {
            body += "<p id=\"user\">Not logged in. <a href=\"/login\">Log in</a></p>"
        }
        body += "<p>Store: <code>\(Page.escape(settings.storeDescription))</code></p>"
        return Page.html("SessionKit + Hummingbird", flashes: flashes, body)
    }

    router.get("/login") { _, context -> Response in
        let session = try await context.sessions.session()
        let flashes = session.popFlash().compactMap(\.stringValue)
        return Page.html(
            "Log in", flashes: flashes,
            """
            <form method="post" action="/login">\(Page.csrfField(try session.csrfToken()))
            <label>Name <input id="username" name="username" maxlength="40" autofocus></label>
            <button id="login">Log in</button></form>
            <p>Any name works: this shows a new session ID on login, not a password check.</p>
            """)
    }

    // Login: a new session ID (no session fixation) and a new CSRF token, then a flash
    // message that survives the redirect.
    router.post("/login") { request, context -> Response in
        let form = try await Page.form(request)
        let session = try await context.sessions.session()
        guard session.isValidCSRFToken(form["csrf_token"] ?? "") else { return forbidden() }
        let name = (form["username"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 40 else {
            session.flash("Enter a name of 1 to 40 characters.")
            return Page.redirect(to: "/login")
        }
        try session.regenerateID()  // a new ID and a new CSRF token
        try session.bindUser(name, device: request.headers[.userAgent].map { String($0.prefix(120)) })
        session["user"] = .string(name)
        session.flash(.string("Welcome, \(name)!"))
        return Page.redirect(to: "/")
    }

    // Logout: the stored session is deleted and the data dropped; the flash message lives in
    // the fresh session that replaces it.
    router.post("/logout") { request, context -> Response in
        let form = try await Page.form(request)
        let session = try await context.sessions.session()
        guard session.isValidCSRFToken(form["csrf_token"] ?? "") else { return forbidden() }
        try session.invalidate()
        session.flash("You have been logged out.")
        return Page.redirect(to: "/")
    }

    // Every session of the user ends, this one too; the flash lives in a fresh session.
    router.post("/logout-everywhere") { request, context -> Response in
        let form = try await Page.form(request)
        let session = try await context.sessions.session()
        guard session.isValidCSRFToken(form["csrf_token"] ?? "") else { return forbidden() }
        if let user = session.boundUser { try await sessions.revokeAllSessions(ofUser: user) }
        try session.invalidate()
        session.flash("You have been logged out everywhere.")
        return Page.redirect(to: "/")
    }

    // The user's sessions on other devices (server-side stores list them; cookies cannot be).
    router.get("/devices") { _, context -> Response in
        let session = try await context.sessions.session()
        let flashes = session.popFlash().compactMap(\.stringValue)
        guard let user = session.boundUser, let sessionContext = context.sessions.context else {
            return Page.html("Your devices", flashes: flashes, "<p id=\"user\">Not logged in. <a href=\"/login\">Log in</a></p>")
        }
        let listed = try await sessions.sessions(ofUser: user, current: sessionContext)
        let token = try session.csrfToken()
        let rows = listed.enumerated().map { index, entry -> String in
            let id = entry.isCurrent ? "device-current" : "device-\(index)"
            let action =
                entry.isCurrent
                ? "this device"
                : "<form method=\"post\" action=\"/devices/revoke\">\(Page.csrfField(token))<input type=\"hidden\" name=\"handle\" value=\"\(Page.escape(entry.handle))\"><button class=\"revoke\" id=\"revoke-\(index)\">Log out this device</button></form>"
            return "<tr id=\"\(id)\"><td>\(Page.escape(entry.device ?? "unknown device"))</td><td>\(action)</td></tr>"
        }
        let list =
            listed.isEmpty
            ? "<p id=\"devices-none\">Sessions in signed cookies live in the browsers and cannot be listed.</p>"
            : "<table id=\"devices\">\(rows.joined())</table>"
        return Page.html("Your devices", flashes: flashes, "<p id=\"device-count\">\(listed.count)</p>\(list)")
    }

    router.post("/devices/revoke") { request, context -> Response in
        let form = try await Page.form(request)
        let session = try await context.sessions.session()
        guard session.isValidCSRFToken(form["csrf_token"] ?? "") else { return forbidden() }
        if let user = session.boundUser, let handle = form["handle"], try await sessions.revokeSession(ofUser: user, handle: handle) {
            session.flash("That device was logged out.")
        }
        return Page.redirect(to: "/devices")
    }

    // A form protected by the session's CSRF token.
    router.get("/form") { _, context -> Response in
        let session = try await context.sessions.session()
        let flashes = session.popFlash().compactMap(\.stringValue)
        let note = session["note"]?.stringValue ?? "(none yet)"
        return Page.html(
            "CSRF-protected form", flashes: flashes,
            """
            <p>Saved note: <strong id="note">\(Page.escape(note))</strong></p>
            <form id="note-form" method="post" action="/form">\(Page.csrfField(try session.csrfToken()))
            <label>Note <input id="note-input" name="note" maxlength="200"></label>
            <button id="save">Save</button></form>
            <p>The form carries a hidden <code>csrf_token</code>; a post without it, or with a wrong one, gets 403.</p>
            """)
    }

    router.post("/form") { request, context -> Response in
        let form = try await Page.form(request)
        let session = try await context.sessions.session()
        guard session.isValidCSRFToken(form["csrf_token"] ?? "") else { return forbidden() }
        session["note"] = .string(String((form["note"] ?? "").prefix(200)))
        session.flash("Note saved.")
        return Page.redirect(to: "/form")
    }

    // The cookie settings in force. Reads no session.
    router.get("/settings") { request, _ -> Response in
        let c = interface.configuration
        let rows: [(String, String)] = [
            ("store", settings.storeDescription),
            ("cookieName", c.cookieName),
            ("expiry (server-side TTL, s)", c.expiry.map(String.init) ?? "none (permanent)"),
            ("sessionCookie", String(c.sessionCookie)),
            ("cookie Max-Age (s)", c.cookieMaxAge.map(String.init) ?? "none (browser-session cookie)"),
            ("httpOnly", String(c.httpOnly)),
            ("secure", String(c.secure)),
            ("sameSite", c.sameSite == .unspecified ? "(not sent)" : c.sameSite.rawValue),
            ("path", c.path),
            ("domain", c.domain ?? "(host-only)"),
            ("partitioned", String(c.partitioned)),
            ("rolling", String(c.rolling)),
            ("absoluteLifetime (s)", c.absoluteLifetime.map(String.init) ?? "none"),
            ("prefix (store keys)", c.prefix.isEmpty ? "(none)" : c.prefix),
        ]
        let table = rows.map { "<tr><th>\(Page.escape($0.0))</th><td id=\"setting-\(Page.escape(settingID($0.0)))\">\(Page.escape($0.1))</td></tr>" }
        let received = !CookieHeader.values(named: cookieName, in: request.headers[values: .cookie]).isEmpty
        return Page.html(
            "Cookie settings",
            "<table>\(table.joined())</table><p>This request carried the session cookie: <strong id=\"cookie-received\">\(received ? "yes" : "no")</strong></p>")
    }

    // Whether this request carried the session cookie; reads no session, so it sets none.
    router.get("/cookie-check") { request, _ -> Response in
        let received = !CookieHeader.values(named: cookieName, in: request.headers[values: .cookie]).isEmpty
        return Page.html(
            "Cookie check",
            "<p>This request to <code>\(Page.escape(request.head.authority ?? ""))</code> carried the session cookie: <strong id=\"cookie-received\">\(received ? "yes" : "no")</strong></p>")
    }

    // A link from one loopback site to the other (localhost <-> 127.0.0.1): following it is
    // a cross-site navigation, where a SameSite=Strict cookie is not sent and a Lax one is.
    router.get("/cross-site") { request, _ -> Response in
        let host = request.head.authority ?? ""
        let other = host.hasPrefix("localhost") ? "127.0.0.1" : "localhost"
        let target = "http://\(other):\(settings.port)/cookie-check"
        return Page.html(
            "Cross-site check",
            """
            <p>This page is on <code>\(Page.escape(host))</code>. Open it on one host name, then follow the link to the
            other: the browser treats the two as different sites.</p>
            <p><a id="cross-link" href="\(Page.escape(target))">\(Page.escape(target))</a></p>
            """)
    }

    return router
}

/// Turns "the session store is down" into a 503 page instead of an empty 500.
struct StoreErrorPage<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as SessionError where error.code == .storeUnavailable || error.code == .timeout {
            context.logger.error("session store: \(error)")
            return Page.html(
                "503 Session store unavailable", status: .serviceUnavailable,
                "<p class=\"error\" id=\"store-error\">The session store does not answer (\(Page.escape(error.message))). Try again shortly.</p>")
        }
    }
}

/// The answer to a form post whose CSRF token is missing or wrong.
private func forbidden() -> Response {
    Page.html(
        "403 Forbidden", status: .forbidden,
        "<p class=\"error\" id=\"csrf-error\">The form's CSRF token is missing or wrong. Reload the form and try again.</p>")
}

private func settingID(_ label: String) -> String {
    String(label.prefix { $0 != " " })
}

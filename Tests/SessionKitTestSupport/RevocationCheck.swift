import SessionKit

/// User-wide revocation through a middleware, as an app uses it.
public enum RevocationCheck {
    /// Logs a new browser in as `user` (regenerated ID, bound with `device`) on the session
    /// named `sessionName`, and returns it.
    public static func login(
        _ middleware: SessionMiddleware, user: String, device: String, sessionName: String = "session"
    ) async throws -> TestBrowser {
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in
            let session = try await context.session(sessionName)
            try session.regenerateID()
            try session.bindUser(user, device: device)
            session["user"] = .string(user)
        }
        return browser
    }

    /// The `user` value a browser's session holds now.
    public static func user(of browser: TestBrowser, _ middleware: SessionMiddleware, sessionName: String = "session") async throws -> String? {
        try await browser.request(middleware) { try await $0.session(sessionName)["user"]?.stringValue }.value
    }
}

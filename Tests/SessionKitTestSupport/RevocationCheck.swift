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

extension RevocationCheck {
    /// The user-wide revocation scenario a store must pass, through `middleware` (one
    /// server-side interface named "session"): three devices of user "42", one of user "7",
    /// an anonymous session; listing; "sign out everywhere else" from device b; "log out
    /// everywhere". Returns what went wrong, empty when all held.
    public static func scenario(_ middleware: SessionMiddleware) async throws -> [String] {
        var problems: [String] = []
        func check(_ condition: Bool, _ what: String) { if !condition { problems.append(what) } }
        let a = try await login(middleware, user: "42", device: "a")
        let b = try await login(middleware, user: "42", device: "b")
        let c = try await login(middleware, user: "42", device: "c")
        let other = try await login(middleware, user: "7", device: "a")
        let anonymous = TestBrowser()
        _ = try await anonymous.request(middleware) { try await $0.session()["cart"] = 3 }

        let listed = try await middleware.sessions(ofUser: "42").compactMap { $0.device }.sorted()
        check(listed == ["a", "b", "c"], "listing before: \(listed)")
        let (ended, current) = try await b.request(middleware) { context in
            _ = try await context.session()["user"]
            let ended = try await middleware.revokeOtherSessions(ofUser: "42", keeping: context)
            return (ended, try await middleware.sessions(ofUser: "42", current: context))
        }.value
        check(ended == 2, "revokeOtherSessions ended \(ended), not 2")
        check(current.count == 1 && current.first?.device == "b" && current.first?.isCurrent == true, "listing after: \(current)")
        check(try await user(of: a, middleware) == nil, "device a still logged in")
        check(try await user(of: b, middleware) == "42", "device b (kept) logged out")
        check(try await user(of: c, middleware) == nil, "device c still logged in")
        check(try await user(of: other, middleware) == "7", "another user's session ended")
        check(try await anonymous.request(middleware) { try await $0.session()["cart"] }.value == 3, "an anonymous session ended")

        let endedAll = try await middleware.revokeAllSessions(ofUser: "42")
        check(endedAll == 1, "revokeAllSessions ended \(endedAll), not 1")
        check(try await user(of: b, middleware) == nil, "device b still logged in after revokeAllSessions")
        check(try await middleware.sessions(ofUser: "42").isEmpty, "sessions listed after revokeAllSessions")
        check(try await user(of: other, middleware) == "7", "another user's session ended by revokeAllSessions")
        _ = try await middleware.revokeAllSessions(ofUser: "7")
        return problems
    }
}

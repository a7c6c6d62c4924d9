// Run with: swift run --package-path Examples/Console
//
// A browser (a cookie jar) makes requests to a handler wrapped in SessionMiddleware; each
// step prints what the handler did and the headers SessionKit asked the server to send.

import SessionKit

/// The cookies a browser holds for one site.
final class Browser {
    var cookies: [String: String] = [:]

    var cookieHeaders: [String] {
        cookies.isEmpty ? [] : [cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
    }

    func receive(_ headers: [SessionHeader]) {
        for header in headers where header.name == "Set-Cookie" {
            let pair = header.value.prefix { $0 != ";" }
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
            if header.value.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
    }
}

let configuration = try SessionConfiguration(expiry: 3600, cookieName: "demo")
let sessions = try SessionMiddleware(InMemorySessionInterface(configuration: configuration))
let browser = Browser()

func request(_ title: String, _ handler: (SessionContext) async throws -> String) async throws {
    let result = try await sessions.handle(cookieHeaders: browser.cookieHeaders, handler)
    browser.receive(result.headers)
    print("== \(title)")
    print("   request Cookie: \(browser.cookieHeaders.first ?? "(none)")".replacingOccurrences(of: "\n", with: ""))
    print("   page: \(result.value)")
    for header in result.headers { print("   \(header.name): \(header.value)") }
}

try await request("a page that never touches the session") { _ in "static page" }

for _ in 1...3 {
    try await request("visit counter") { context in
        let session = try await context.session()
        let visits = (session["visits"]?.intValue ?? 0) + 1
        session["visits"] = .int(visits)
        return "you have been here \(visits) time(s)"
    }
}

try await request("login: new session ID, flash a message") { context in
    let session = try await context.session()
    try session.regenerateID()
    session["user"] = "ada"
    session.flash("Welcome back, ada")
    return "logged in, redirecting"
}

try await request("the page after the redirect shows the flash once") { context in
    let session = try await context.session()
    let messages = session.popFlash().compactMap(\.stringValue)
    return "user=\(session["user"]?.stringValue ?? "-") flash=\(messages)"
}

try await request("a form with a CSRF token") { context in
    let token = try await context.session().csrfToken()
    return "<input type=hidden name=csrf value=\(token)>"
}

try await request("logout: the session is deleted and its cookie expired") { context in
    try await context.session().invalidate()
    return "logged out"
}

print("== the browser now holds: \(browser.cookies.isEmpty ? "no cookies" : "\(browser.cookies)")")

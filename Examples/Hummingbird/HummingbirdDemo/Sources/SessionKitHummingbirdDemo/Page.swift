import Foundation
import Hummingbird

/// HTML helpers of the demo: one layout, escaping, redirects and form bodies.
enum Page {
    /// Escapes text for HTML element content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A complete page in the demo's layout.
    static func html(_ title: String, status: HTTPResponse.Status = .ok, flashes: [String] = [], _ body: String) -> Response {
        let flashHTML = flashes.map { "<p class=\"flash\">\(escape($0))</p>" }.joined()
        let page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) · SessionKit demo</title>
            <style>
            body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1d2330; }
            nav a { margin-right: 1rem; } h1 { font-size: 1.6rem; }
            .flash { background: #e6f4ea; border: 1px solid #8fc79a; padding: .5rem .8rem; border-radius: 4px; }
            .error { background: #fdecea; border: 1px solid #e0a3a0; padding: .5rem .8rem; border-radius: 4px; }
            table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: .25rem .8rem .25rem 0; text-align: left; }
            code { background: #f3f4f6; padding: 0 .2rem; } input, button { font: inherit; }
            </style></head>
            <body>
            <nav><a href="/">Home</a><a href="/login">Log in</a><a href="/form">CSRF form</a><a href="/settings">Cookie settings</a><a href="/cross-site">Cross-site check</a></nav>
            <h1>\(escape(title))</h1>
            \(flashHTML)
            \(body)
            </body></html>
            """
        let buffer = ByteBuffer(string: page)
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .contentLength: String(buffer.readableBytes)],
            body: .init(byteBuffer: buffer))
    }

    /// A 303 See Other to `location`, the answer to a successful form post.
    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .contentLength: "0"])
    }

    /// A hidden form field carrying the CSRF token.
    static func csrfField(_ token: String) -> String {
        "<input type=\"hidden\" name=\"csrf_token\" value=\"\(escape(token))\">"
    }

    /// Reads an `application/x-www-form-urlencoded` body (at most 16 KiB).
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 16 * 1024)
        var fields: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            let name = decode(parts[0])
            if fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }
}

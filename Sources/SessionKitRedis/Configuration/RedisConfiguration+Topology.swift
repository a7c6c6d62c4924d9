import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking

extension RedisConfiguration {
    /// Parses `redis+cluster://` and `redis+sentinel://` URLs, which list several hosts.
    mutating func parseMultiHost(_ url: String) throws {
        let shown = Self.redacted(url)
        let schemeEnd = url.range(of: "://")!
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let isCluster = scheme == "redis+cluster"
        var rest = Substring(url[schemeEnd.upperBound...])
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0]).removingPercentEncoding?.lowercased() ?? ""
                let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? "") : ""
                query[name] = value
            }
            rest = rest[..<mark]
        }
        // user:password@ ends at the last '@' before the path.
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            if let user = String(parts[0]).removingPercentEncoding, !user.isEmpty { username = user }
            if parts.count > 1 { password = String(parts[1]).removingPercentEncoding ?? String(parts[1]) }
        }
        if let user = query["user"] ?? query["username"], !user.isEmpty { username = user }
        if let pass = query["password"] { password = pass }
        if let pass = query["sentinel_password"] ?? query["sentinelpassword"] { sentinelPassword = pass }

        let defaultPort = isCluster ? 6379 : 26379
        var hosts: [Address] = []
        for item in authority.split(separator: ",", omittingEmptySubsequences: false) {
            hosts.append(try Self.parseHostPort(item, defaultPort: defaultPort, url: shown))
        }
        guard !hosts.isEmpty else {
            throw SessionError(.invalidConfiguration, "the URL '\(shown)' lists no host; use \(isCluster ? "redis+cluster://host1:6379,host2:6379" : "redis+sentinel://sentinel1:26379,sentinel2:26379/mymaster")")
        }
        let segments = path.split(separator: "/").map(String.init)
        if isCluster {
            guard segments.isEmpty || segments == ["0"] else {
                throw SessionError(.invalidConfiguration, "the Redis Cluster URL '\(shown)' has a path '/\(segments.joined(separator: "/"))'; Redis Cluster has only database 0, so use redis+cluster://host1:port1,host2:port2 without a path")
            }
            if let db = query["db"], db != "0" {
                throw SessionError(.invalidConfiguration, "the Redis Cluster URL '\(shown)' asks for db=\(db); Redis Cluster has only database 0")
            }
            topology = .cluster(seeds: hosts)
        } else {
            guard let name = segments.first.flatMap({ $0.removingPercentEncoding }), !name.isEmpty, segments.count <= 2 else {
                throw SessionError(.invalidConfiguration, "the Sentinel URL '\(shown)' needs the monitored primary's name as its path: redis+sentinel://sentinel1:26379,sentinel2:26379/mymaster[/db]")
            }
            if segments.count == 2 {
                guard let db = Int(segments[1]), db >= 0 else {
                    throw SessionError(.invalidConfiguration, "the Sentinel URL's database '/\(segments[1])' must be a number like /0")
                }
                database = db
            }
            if let db = query["db"] {
                guard let number = Int(db), number >= 0 else {
                    throw SessionError(.invalidConfiguration, "the Redis URL's db=\(db) must be a non-negative database number")
                }
                database = number
            }
            topology = .sentinel(masterName: name, sentinels: hosts)
        }
        address = hosts[0]
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    static func parseHostPort(_ text: Substring, defaultPort: Int, url: String) throws -> Address {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw SessionError(.invalidConfiguration, "the host '\(text)' in '\(url)' opens an IPv6 bracket without closing it; write [::1]:6379")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw SessionError(.invalidConfiguration, "the host '\(text)' in '\(url)' has text after its IPv6 address; write [::1]:6379")
                }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else {
            throw SessionError(.invalidConfiguration, "the URL '\(url)' has an empty host in its host list; separate hosts with commas: host1:6379,host2:6379")
        }
        var port = defaultPort
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw SessionError(.invalidConfiguration, "the port '\(portText)' of host '\(host)' in '\(url)' is not a number in 1...65535")
            }
            port = number
        }
        return .tcp(host: String(host), port: port)
    }
}

extension RedisConfiguration.Address {
    /// Where the engine connects.
    var endpoint: Endpoint {
        switch self {
        case .tcp(let host, let port): return .tcp(host: host, port: port)
        case .unix(let path): return .unix(path: path)
        }
    }
}

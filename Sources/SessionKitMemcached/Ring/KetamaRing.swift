import SessionKitCrypto

/// A consistent-hashing ring laid out like libmemcached's `ketama_weighted` distribution
/// (also spymemcached's `KETAMA_HASH`), so that SessionKit and a C, PHP or Python client built
/// on libmemcached put every key on the same server.
///
/// Each server gets 160 points: for `i` in 0..<40 the MD5 digest of `"host:port-i"` (or
/// `"host-i"` when the port is 11211, `"path-i"` for a Unix socket) gives four points, point
/// `h` being bytes `4h...4h+3` read little-endian. A key hashes to the first four bytes of its
/// MD5 digest, little-endian, and belongs to the server of the first point at or after that
/// hash, wrapping around. Removing a server removes only its points, so only its keys move.
public struct KetamaRing: Sendable, Hashable {
    /// A point on the ring and the index of the server it belongs to.
    struct Point: Sendable, Hashable {
        var hash: UInt32
        var server: Int
    }

    /// Points per server: 40 MD5 digests of 4 points each.
    public static let pointsPerServer = 160

    private let points: [Point]
    /// The ring's server names, in the order given (indices refer to this array).
    public let names: [String]

    /// Builds the ring for servers named by ``name(host:port:)`` (or a socket path).
    ///
    /// - Parameter names: the servers' ketama names; an empty array gives an empty ring.
    public init(names: [String]) {
        self.names = names
        var points: [Point] = []
        points.reserveCapacity(names.count * Self.pointsPerServer)
        for (index, name) in names.enumerated() {
            for i in 0..<(Self.pointsPerServer / 4) {
                let digest = Insecure.MD5.hash(data: Array("\(name)-\(i)".utf8))
                digest.withUnsafeBytes { bytes in
                    for h in 0..<4 {
                        let value = UInt32(bytes[4 * h + 3]) << 24 | UInt32(bytes[4 * h + 2]) << 16
                            | UInt32(bytes[4 * h + 1]) << 8 | UInt32(bytes[4 * h])
                        points.append(Point(hash: value, server: index))
                    }
                }
            }
        }
        // Stable by server index for equal hashes, so the layout is deterministic.
        points.sort { $0.hash != $1.hash ? $0.hash < $1.hash : $0.server < $1.server }
        self.points = points
    }

    /// The name libmemcached hashes for a server: `host` on the default port 11211,
    /// `host:port` otherwise.
    public static func name(host: String, port: Int) -> String {
        port == 11211 ? host : "\(host):\(port)"
    }

    /// A key's position on the ring: the first four bytes of its MD5 digest, little-endian.
    public static func hash(key: some Sequence<UInt8>) -> UInt32 {
        Insecure.MD5.hash(data: key).withUnsafeBytes { bytes in
            UInt32(bytes[3]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[1]) << 8 | UInt32(bytes[0])
        }
    }

    /// Whether the ring has no servers.
    public var isEmpty: Bool { points.isEmpty }

    /// The index (into ``names``) of the server that holds `key`, or `nil` for an empty ring.
    public func server(for key: some Sequence<UInt8>) -> Int? {
        server(forHash: Self.hash(key: key))
    }

    /// The index of the server owning `hash`: the first point at or after it, wrapping.
    public func server(forHash hash: UInt32) -> Int? {
        guard !points.isEmpty else { return nil }
        return points[firstPoint(atOrAfter: hash)].server
    }

    /// The first `count` distinct servers met walking the ring from `key`'s position: its
    /// owner, then the server that would own it without the owner (its fallback), and so on.
    ///
    /// Removing a server removes only its points, so the second server is exactly where
    /// `key` goes on the ring without its owner.
    func servers(for key: some Sequence<UInt8>, count: Int) -> [Int] {
        guard !points.isEmpty, count > 0 else { return [] }
        var found: [Int] = []
        let start = firstPoint(atOrAfter: Self.hash(key: key))
        for offset in 0..<points.count {
            let server = points[(start + offset) % points.count].server
            if !found.contains(server) {
                found.append(server)
                if found.count == count || found.count == names.count { break }
            }
        }
        return found
    }

    private func firstPoint(atOrAfter hash: UInt32) -> Int {
        var low = 0, high = points.count
        while low < high {
            let middle = low + (high - low) / 2
            if points[middle].hash < hash { low = middle + 1 } else { high = middle }
        }
        return low == points.count ? 0 : low
    }
}

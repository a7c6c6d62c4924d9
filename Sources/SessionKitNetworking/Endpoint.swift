#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Where a server listens: a TCP host and port (IPv4, IPv6 or a name to resolve) or a Unix
/// domain socket path.
@_spi(Engine) public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// A TCP server; `host` is a name, an IPv4 address or an IPv6 address (without brackets).
    case tcp(host: String, port: Int)
    /// A Unix domain socket at `path`.
    case unix(path: String)

    @_spi(Engine) public var description: String {
        switch self {
        case .tcp(let host, let port):
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path):
            return "unix:\(path)"
        }
    }
}

/// A resolved socket address, ready for `connect(2)`.
struct SocketAddress: Sendable {
    var storage: sockaddr_storage
    var length: socklen_t
    var family: Int32
    var display: String

    static func unix(path: String) throws -> SocketAddress {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw NetworkError(.invalidAddress, "Unix socket path '\(path)' is empty, contains NUL or is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            withUnsafeBytes(of: address) { raw.copyMemory(from: $0) }
        }
        return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_un>.size), family: AF_UNIX, display: "unix:\(path)")
    }

    /// Parses a numeric IPv4 or IPv6 address without any lookup.
    static func numeric(host: String, port: Int) -> SocketAddress? {
        var storage = sockaddr_storage()
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr = v4
            withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: address) { raw.copyMemory(from: $0) } }
            return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size), family: AF_INET, display: "\(host):\(port)")
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            address.sin6_addr = v6
            withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: address) { raw.copyMemory(from: $0) } }
            return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size), family: AF_INET6, display: "[\(host)]:\(port)")
        }
        return nil
    }
}

/// Name resolution with `getaddrinfo`, which blocks: it runs on a private serial queue, never on
/// Swift's cooperative pool.
enum Resolver {
    private static let queue = DispatchQueue(label: "SessionKit.resolver")

    static func resolve(_ endpoint: Endpoint) async throws -> [SocketAddress] {
        switch endpoint {
        case .unix(let path):
            return [try SocketAddress.unix(path: path)]
        case .tcp(let host, let port):
            guard (1...65535).contains(port) else {
                throw NetworkError(.invalidAddress, "port \(port) is out of range 1...65535")
            }
            if let numeric = SocketAddress.numeric(host: host, port: port) { return [numeric] }
            return try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Result { try lookup(host: host, port: port) })
                }
            }
        }
    }

    private static func lookup(host: String, port: Int) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        hints.ai_flags = AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            let text = rc == 0 ? "no addresses" : String(cString: gai_strerror(rc))
            throw NetworkError(.resolutionFailed, "cannot resolve host '\(host)': \(text)")
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let raw = info.pointee.ai_addr, Int(info.pointee.ai_addrlen) <= MemoryLayout<sockaddr_storage>.size {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { dest in
                    dest.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: Int(info.pointee.ai_addrlen)))
                }
                let family = info.pointee.ai_family
                let display = family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
                addresses.append(SocketAddress(storage: storage, length: info.pointee.ai_addrlen, family: family, display: display))
            }
            cursor = info.pointee.ai_next
        }
        if addresses.isEmpty {
            throw NetworkError(.resolutionFailed, "cannot resolve host '\(host)': no usable addresses")
        }
        return addresses
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The socket calls the fixtures make on 127.0.0.1, in one place.
public enum Loopback {
    /// Binds `fd` to 127.0.0.1:`port` (0 lets the kernel pick a free port); true on success.
    public static func bind(_ fd: Int32, port: Int) -> Bool {
        withAddress(port: port) { Glibc.bind(fd, $0, $1) } == 0
    }

    /// Connects `fd` to 127.0.0.1:`port`; true on success.
    public static func connect(_ fd: Int32, port: Int) -> Bool {
        withAddress(port: port) { Glibc.connect(fd, $0, $1) } == 0
    }

    /// The local port `fd` is bound to, or `nil` when it cannot be read.
    public static func localPort(of fd: Int32) -> Int? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let read = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return read == 0 ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }

    private static func withAddress(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// A loopback port that nothing listens on and no other test can take: a socket bound to it
/// that does not listen, so connections are refused as on a machine with no server. Call
/// ``release()`` just before a test starts its own server there.
public final class HeldPort: @unchecked Sendable {
    /// The port.
    public let port: Int
    private var fd: Int32

    public init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        guard fd >= 0, Loopback.bind(fd, port: 0), let port = Loopback.localPort(of: fd) else {
            if fd >= 0 { close(fd) }
            throw FixtureError("could not hold a loopback port")
        }
        self.port = port
    }

    /// Holds a given port (one a stopped server used), when it can be bound.
    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1  // a stopped server's connections may linger in TIME_WAIT
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        guard fd >= 0, Loopback.bind(fd, port: port) else {
            if fd >= 0 { close(fd) }
            throw FixtureError("could not hold port \(port)")
        }
        self.port = port
    }

    /// Lets the port go.
    public func release() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { release() }
}

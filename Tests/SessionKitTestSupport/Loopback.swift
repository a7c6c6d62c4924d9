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

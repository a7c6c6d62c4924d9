#if canImport(Glibc)
import Glibc
#endif

/// Reads the kernel's `/proc` tables.
public enum ProcFile {
    /// The whole text of `path`, read to its end; `nil` when it cannot be opened or read.
    ///
    /// `String(contentsOfFile:)` returns only the first page (4 KiB) of a `/proc` table, whose
    /// size reads as 0: `/proc/net/tcp` then lists about 26 sockets, and a busy machine's
    /// listening socket, or a lock waiter in `/proc/locks`, further down is never seen.
    public static func text(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}

// A child process for the random pool's fork test: it draws once (so that the pool holds
// 4 KiB of random bytes), forks, and prints what the child and the parent draw next. A child
// that handed out its copy of the parent's buffered bytes would print the parent's values.
//
//   SessionKitForkProbe pool      draws 32-byte values from SecureRandomPool.shared
//   SessionKitForkProbe tokens    makes encrypted cookie tokens and prints their nonces
//
// Output, four 32-byte values each, in hex:
//   parent <hex> <hex> <hex> <hex>
//   child <hex> <hex> <hex> <hex>
// Exit status 0; a failure prints a line starting with "FAIL" and exits with status 1.

import SessionKit
import SessionKitCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func fail(_ message: String) -> Never {
    print("FAIL \(message)")
    exit(1)
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 15)])
    }
    return String(decoding: text, as: UTF8.self)
}

let mode = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ""
let draw: () -> [UInt8]
switch mode {
case "pool":
    draw = {
        var value = [UInt8](repeating: 0, count: 32)
        do {
            try value.withUnsafeMutableBytes { try SecureRandomPool.shared.fill($0) }
        } catch {
            fail("the pool refused: \(error)")
        }
        return value
    }
case "tokens":
    let serializer: any SessionSerializer
    do {
        serializer = try EncryptedCookieSessionInterface(keys: [[UInt8](repeating: 7, count: 32)]).base.serializer
    } catch {
        fail("cannot make the interface: \(error)")
    }
    let payload: SessionValue = .array([.int(1_795_300_000), .double(1_795_299_123.5), ["user": "ada"]])
    draw = {
        do {
            // v4.local.<base64url(nonce || ciphertext || tag)>
            let token = try serializer.serialize(payload)
            guard token.starts(with: Array("v4.local.".utf8)),
                let decoded = Array(token[9...]).withUnsafeBytes({ Base64URL.decode(bytes: $0) }), decoded.bytes.count >= 64
            else { fail("not a v4.local token: \(String(decoding: token, as: UTF8.self))") }
            return Array(decoded.bytes[..<32])
        } catch {
            fail("cannot encode: \(error)")
        }
    }
default:
    fail("usage: SessionKitForkProbe pool|tokens")
}

// The pool now holds a refill, 32 bytes of it handed out.
_ = draw()

var fds: [Int32] = [0, 0]
guard pipe(&fds) == 0 else { fail("pipe: errno \(errno)") }
let pid = fork()
if pid < 0 { fail("fork: errno \(errno)") }
if pid == 0 {
    close(fds[0])
    let line = Array(("child " + (0..<4).map { _ in hex(draw()) }.joined(separator: " ") + "\n").utf8)
    let written = line.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
    _exit(written == line.count ? 0 : 1)
}
close(fds[1])
let parentLine = "parent " + (0..<4).map { _ in hex(draw()) }.joined(separator: " ")
var childOutput: [UInt8] = []
var chunk = [UInt8](repeating: 0, count: 1024)
while true {
    let n = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    childOutput += chunk[..<n]
}
var status: Int32 = 0
while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
guard status == 0 else { fail("the child exited with wait status \(status)") }
print(parentLine)
print(String(decoding: childOutput, as: UTF8.self), terminator: "")

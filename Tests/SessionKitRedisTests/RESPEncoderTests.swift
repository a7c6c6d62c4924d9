@_spi(Engine) @testable import SessionKitRedis
import Testing

@Suite("RESP encoder")
struct RESPEncoderTests {
    @Test("commands are arrays of bulk strings, byte for byte")
    func exactBytes() {
        #expect(RESPEncoder.encode(["GET", "key"]) == Array("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n".utf8))
        #expect(RESPEncoder.encode(["PING"]) == Array("*1\r\n$4\r\nPING\r\n".utf8))
        #expect(RESPEncoder.encode([]) == Array("*0\r\n".utf8))
        #expect(RESPEncoder.encode(["SET", "k", RedisArgument([]), "EX", 3600]) ==
                Array("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n$2\r\nEX\r\n$4\r\n3600\r\n".utf8))
        #expect(RESPEncoder.encode(["SET", RedisArgument([13, 10, 0, 255])]) ==
                Array("*2\r\n$3\r\nSET\r\n$4\r\n".utf8) + [13, 10, 0, 255] + [13, 10])
        #expect(RESPEncoder.encode([RedisArgument("é")]) == Array("*1\r\n$2\r\n".utf8) + [0xC3, 0xA9, 13, 10])
    }

    @Test("lengths of every size are written in decimal", arguments: [0, 1, 9, 10, 99, 100, 12345, 1 << 20])
    func lengths(_ size: Int) {
        let payload = [UInt8](repeating: 97, count: size)
        let encoded = RESPEncoder.encode([RedisArgument(payload)])
        #expect(encoded == Array("*1\r\n$\(size)\r\n".utf8) + payload + [13, 10])
    }

    @Test("negative integers as arguments")
    func integers() {
        #expect(RedisArgument(-5).bytes == Array("-5".utf8))
        #expect(RedisArgument(Int64.max).bytes == Array("9223372036854775807".utf8))
    }

    @Test("what the encoder writes, the parser reads back as an array of bulk strings")
    func roundTrip() throws {
        var generator = SplitMix64(seed: 99)
        for _ in 0..<500 {
            let arguments = (0..<Int.random(in: 1...8, using: &generator)).map { _ in
                RedisArgument((0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            var parser = RESPParser()
            parser.append(RESPEncoder.encode(arguments))
            #expect(try parser.next() == .array(arguments.map { .bulkString($0.bytes) }))
        }
    }
}

import SessionKit
@testable import SessionKitRedis
import SessionKitTestSupport
import Testing

/// A server (or anyone on the path) trickling a large reply: the parser resumes where it
/// stopped, so each trickled byte costs the same however much of the reply came before it,
/// the bytes held unparsed stay under a small bound while the array's complete elements pile
/// up, and the command fails at its deadline.
///
/// The CPU figures are printed, not asserted (the machine is shared); the linear work itself
/// is asserted by counting in `RESPParserResumeTests`.
@Suite("Redis client against a server trickling a large reply", .serialized)
struct RedisSlowServerTests {
    @Test("a 16 MiB and a 64 MiB array, the last 64 KiB one byte per millisecond: the buffer stays bounded, the command times out and the connection closes",
          arguments: [16, 64])
    func tricklingArray(_ mebibytes: Int) async throws {
        let element = Array("$1000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 1000) + [13, 10]
        let count = mebibytes * 1024 * 1024 / element.count
        var reply = Array("*\(count)\r\n".utf8)
        reply.reserveCapacity(reply.count + count * element.count)
        for _ in 0..<count { reply += element }
        let burst = reply.count - 64 * 1024
        let server = try TricklingServer(reply: reply, burst: burst)
        defer { server.stop() }

        var configuration = try RedisConfiguration(testing: server.url)
        configuration.connectionCount = 1
        // Long enough for the connect and the burst on a loaded machine (a full run on 2 cores
        // can stall a task for seconds), far shorter than the trickle (64 KiB at 1 byte/ms).
        configuration.commandTimeout = .seconds(30)
        // The parser may hold at most 64 KiB unparsed: the array's 1009-byte elements leave
        // its buffer as they complete, so only a parser that held the reply would exceed it.
        configuration.parserLimits.maxBufferedBytes = 64 * 1024
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }

        let cpuBefore = TricklingServer.processCPUTime()
        let error = await #expect(throws: SessionError.self) { try await client.send("GET", "k") }
        let cpuAfter = TricklingServer.processCPUTime()
        let progress = server.progress
        #expect(error?.code == .timeout, "the command must fail at its deadline, not on the buffer bound: \(String(describing: error))")
        #expect(progress.sent > burst, "the reply was still trickling in when the command timed out (sent \(progress.sent) of \(reply.count))")

        // The connection is closed as stalled (its oldest command is past its deadline), even
        // though bytes kept arriving: the server's next write fails.
        try await Poll.until("the client closes the trickling connection", every: .milliseconds(5)) { server.progress.clientHungUp }

        let trickled = max(progress.sent - burst, 0)
        let cpuBurst = (progress.cpuAfterBurst ?? cpuAfter) - cpuBefore
        let cpuTrickle = cpuAfter - (progress.cpuAfterBurst ?? cpuAfter)
        print(String(format: "slow server, %d MiB array of %d bulk strings: %d bytes at once, %.2f s CPU; then %d bytes one per ms, %.3f s CPU (%.1f µs per byte)",
                     mebibytes, count, burst, cpuBurst, trickled, cpuTrickle, trickled > 0 ? cpuTrickle / Double(trickled) * 1e6 : 0))
    }
}

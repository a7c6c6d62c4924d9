import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking
import SessionKitTestSupport
import Testing

/// The 2023 redis-py leak (CVE-2023-28858/28859): a cancelled request left its reply on the
/// connection and the next caller read it. These tests prove, for each store's client, that no
/// reply reaches the wrong caller under cancellation and injected faults, and that they would
/// catch a client with that bug.
@Suite("Reply leak under cancellation and faults", .needsRedis, .needsMemcached, .serialized)
struct NetworkStoreLeakTests {
    struct Outcome: CustomStringConvertible {
        var completed = 0
        var mismatched = 0
        var cancelled = 0
        var failed = 0
        /// Faults that happened (not only ordered): replies cut mid-way, connections reset.
        var midReplyResets = 0
        var connectionsReset = 0
        var description: String {
            "completed \(completed), mismatched \(mismatched), cancelled \(cancelled), failed \(failed), mid-reply resets \(midReplyResets), connections reset \(connectionsReset)"
        }
    }

    /// Thousands of concurrent gets of distinct keys; a random third cancelled at random
    /// moments; connections reset (also mid-reply) while they run. Every other get is a single
    /// attempt, the others are sent once more on a fresh connection when theirs is lost (as the
    /// session stores' loads are): both paths must keep replies with their callers.
    static func storm(client: any StoreClient, proxy: FaultProxy, prefix: String, count: Int, seed: UInt64) async throws -> Outcome {
        var generator = SplitMix64(seed: seed)
        let plan = (0..<count).map { _ -> Duration? in
            Int.random(in: 0..<3, using: &generator) == 0 ? .microseconds(Int.random(in: 0...3000, using: &generator)) : nil
        }
        // Faults are injected as the storm makes progress (not by the clock), so that a slow,
        // loaded machine still sees gets complete between them: a reset mid-reply and a reset
        // of every connection, alternately, after every 300 completed gets, four times.
        let progress = StormProgress(total: count)
        let (midReplyBefore, resetBefore) = (proxy.midReplyResets, proxy.connectionsReset)
        let faults = Task {
            for round in 0..<4 {
                guard await progress.wait(forCompleted: (round + 1) * 300) else { return }
                if round % 2 == 0 { proxy.resetMidReply() } else { proxy.resetAllConnections() }
            }
        }
        // Waves of concurrent gets, so that faults hit some of them and the rest complete.
        var tasks: [Task<[UInt8]?, any Error>] = []
        tasks.reserveCapacity(count)
        let waves = 20
        await withTaskGroup(of: Void.self) { cancellers in
            for wave in 0..<waves {
                for index in (wave * count / waves)..<((wave + 1) * count / waves) {
                    let task = Task {
                        defer { progress.recordFinished() }
                        let key = prefix + "\(index)"
                        let value = index % 2 == 0 ? try await client.getOnce(key) : try await client.get(key)
                        progress.recordCompleted()
                        return value
                    }
                    tasks.append(task)
                    if let delay = plan[index] {
                        cancellers.addTask {
                            try? await Pace.pause(delay)  // the storm's random moment to cancel at
                            task.cancel()
                        }
                    }
                }
                try? await Pace.pause(.milliseconds(1))  // the storm arrives in waves
            }
        }
        var outcome = Outcome()
        for (index, task) in tasks.enumerated() {
            switch await task.result {
            case .success(let value):
                outcome.completed += 1
                if value != Array("value-\(index)".utf8) { outcome.mismatched += 1 }
            case .failure(let error):
                if error is CancellationError { outcome.cancelled += 1 } else { outcome.failed += 1 }
            }
        }
        _ = await faults.result
        proxy.clearFaults()
        outcome.midReplyResets = proxy.midReplyResets - midReplyBefore
        outcome.connectionsReset = proxy.connectionsReset - resetBefore
        return outcome
    }

    static func seed(_ store: NetworkStore, server: any StoreServer, prefix: String, count: Int) async throws {
        let seeder = try store.client(port: server.port)
        defer { seeder.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask { try await seeder.set(prefix + "\(index)", Array("value-\(index)".utf8), ttl: 300) }
            }
            try await group.waitForAll()
        }
    }

    /// A client through the proxy, with its connections open before the storm starts.
    static func client(_ store: NetworkStore, through proxy: FaultProxy, broken: Bool) async throws -> any StoreClient {
        let client = try store.client(port: proxy.port, commandTimeout: .seconds(10), faults: broken ? .freedSlots : .none)
        try await withDeadline(.seconds(60), "connecting through the proxy") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { try await client.ping() } }
                try await group.waitForAll()
            }
        }
        return client
    }

    @Test("every completed get returns its own key's value", arguments: NetworkStore.allCases, [1, 2, 3] as [UInt64])
    func noLeak(store: NetworkStore, seed: UInt64) async throws {
        let server = try await store.sharedServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let prefix = "leak:\(UUID().uuidString.prefix(8)):"
        let count = 3000
        try await Self.seed(store, server: server, prefix: prefix, count: count)
        let client = try await Self.client(store, through: proxy, broken: false)
        defer { client.close() }
        let outcome = try await withDeadline(.seconds(60), "leak storm") {
            try await Self.storm(client: client, proxy: proxy, prefix: prefix, count: count, seed: seed)
        }
        #expect(outcome.mismatched == 0, "\(outcome)")
        #expect(outcome.completed >= 300, "faults wait for 300 completed gets: \(outcome)")
        #expect(outcome.cancelled > 0, "\(outcome)")
        #expect(outcome.midReplyResets > 0, "no reply was cut mid-way: \(outcome)")
        #expect(outcome.connectionsReset > 0, "no connection was reset: \(outcome)")
        #expect(outcome.completed + outcome.cancelled + outcome.failed == count)
        // After the storm the client still answers correctly: the first retried get, and then
        // single attempts.
        #expect(try await client.get(prefix + "7") == Array("value-7".utf8))
        #expect(try await client.getOnce(prefix + "8") == Array("value-8".utf8))
        print("\(store) leak storm seed \(seed): \(outcome)")
    }

    @Test("the same test catches a client that frees a cancelled request's slot", arguments: NetworkStore.allCases)
    func brokenClientIsCaught(store: NetworkStore) async throws {
        let server = try await store.sharedServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let prefix = "leak-broken:\(UUID().uuidString.prefix(8)):"
        let count = 3000
        try await Self.seed(store, server: server, prefix: prefix, count: count)
        var caught = false
        var outcomes: [Outcome] = []
        for round in 0..<5 where !caught {
            let client = try await Self.client(store, through: proxy, broken: true)
            defer { client.close() }
            let outcome = try await withDeadline(.seconds(60), "broken-client storm") {
                try await Self.storm(client: client, proxy: proxy, prefix: prefix, count: count, seed: 100 + UInt64(round))
            }
            outcomes.append(outcome)
            caught = outcome.mismatched > 0
            print("\(store) broken-client storm round \(round): \(outcome)")
        }
        #expect(caught, "the leak test did not notice a client that frees cancelled slots: \(outcomes)")
    }
}

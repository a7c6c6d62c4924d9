import Foundation
import SessionKit

/// A check failed; the message says which and how.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How the checks let time pass for expiry.
public struct ConformanceTime: Sendable {
    let pass: @Sendable (Double) async throws -> Void

    /// The store times expiry with this ``ManualClock`` (it was created with `clock.clock`):
    /// the checks move it forward instead of waiting.
    public static func manual(_ clock: ManualClock) -> ConformanceTime {
        ConformanceTime { clock.advance(by: $0) }
    }

    /// Real time: the checks sleep. Only for stores whose expiry runs on a server's own clock
    /// (Redis, memcached), which a test cannot move; what is checked there is that server's
    /// expiry itself.
    public static let serverClock = ConformanceTime { seconds in
        // Redis's or memcached's own TTL clock is the subject here: no test can move it, so
        // only real time can pass (a gate has nothing to wait on).
        try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
    }
}

/// One check of the ``SessionStore`` contract.
public struct StoreConformanceCheck: Sendable, CustomStringConvertible {
    public let name: String
    let body: @Sendable (any SessionStore, String, ConformanceTime) async throws -> Void

    public var description: String { name }

    /// Runs the check against `store`, under keys that no other check or test uses; `time`
    /// says how time passes for the expiry checks (``ConformanceTime/manual(_:)`` for a store
    /// that reads a ``ManualClock``).
    public func run(_ store: any SessionStore, time: ConformanceTime) async throws {
        let namespace = "conformance:\(name):\(UUID().uuidString.prefix(8)):"
        try await body(store, namespace, time)
    }
}

/// The contract every SessionKit store must honour (see ``SessionStore``), as checks that a
/// test target runs against a real store:
///
/// ```swift
/// @Test(arguments: StoreConformance.checks)
/// func conformance(_ check: StoreConformanceCheck) async throws {
///     try await check.run(store, time: .manual(clock))
/// }
/// ```
public enum StoreConformance {
    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(message()) }
    }

    static func value(_ text: String) -> [UInt8] { Array(text.utf8) }

    public static let checks: [StoreConformanceCheck] = [
        StoreConformanceCheck(name: "roundTrip") { store, ns, _ in
            let key = ns + "a"
            let first = value(#"{"user":"ada","n":1}"#)
            try await store.save(key: key, value: first, ttl: 60)
            try expect(try await store.load(key: key) == first, "load returns the saved bytes")
            let second = value(#"{"user":"grace"}"#)
            try await store.save(key: key, value: second, ttl: 60)
            try expect(try await store.load(key: key) == second, "a second save replaces the value")
            try await store.save(key: key, value: first, ttl: nil)
            try expect(try await store.load(key: key) == first, "a save without TTL stores the value")
            try await store.delete(key: key)
        },
        StoreConformanceCheck(name: "missingKeys") { store, ns, _ in
            let key = ns + "never-saved"
            try expect(try await store.load(key: key) == nil, "load of a missing key returns nil")
            try expect(try await store.touch(key: key, ttl: 60) == false, "touch of a missing key returns false")
            try expect(try await store.loadAndTouch(key: key, ttl: 60) == nil, "loadAndTouch of a missing key returns nil")
            try await store.delete(key: key)
            try expect(try await store.load(key: key) == nil, "delete of a missing key creates nothing")
        },
        StoreConformanceCheck(name: "delete") { store, ns, _ in
            let key = ns + "d"
            try await store.save(key: key, value: value("{}"), ttl: 60)
            try await store.delete(key: key)
            try expect(try await store.load(key: key) == nil, "a deleted key loads as nil")
            try await store.delete(key: key)
            try expect(try await store.touch(key: key, ttl: 60) == false, "touch of a deleted key returns false")
        },
        StoreConformanceCheck(name: "independentKeys") { store, ns, _ in
            try await store.save(key: ns + "k", value: value("1"), ttl: 60)
            try await store.save(key: ns + "kk", value: value("2"), ttl: 60)
            try await store.delete(key: ns + "k")
            try expect(try await store.load(key: ns + "kk") == value("2"), "deleting one key leaves a key it prefixes")
            try await store.delete(key: ns + "kk")
        },
        StoreConformanceCheck(name: "ttlExpiryAndTouch") { store, ns, time in
            // One passage of time serves every expiry assertion. Each short-lived entry is
            // checked right after it is saved; with a server's real clock, TTLs of 3 s leave
            // room for a loaded machine, and 5.5 s covers stores that count expiry in whole
            // seconds (memcached).
            try await store.save(key: ns + "permanent", value: value("p"), ttl: nil)
            try await store.save(key: ns + "touched", value: value("t"), ttl: 3)
            try expect(try await store.touch(key: ns + "touched", ttl: 60) == true, "touch of a live key returns true")
            try await store.save(key: ns + "rolled", value: value("r"), ttl: 3)
            try expect(try await store.loadAndTouch(key: ns + "rolled", ttl: 60) == value("r"), "loadAndTouch returns the value")
            try await store.save(key: ns + "resaved", value: value("s"), ttl: 3)
            try await store.save(key: ns + "resaved", value: value("s2"), ttl: nil)
            try await store.save(key: ns + "expires", value: value("e"), ttl: 3)
            try expect(try await store.load(key: ns + "expires") == value("e"), "a fresh entry with TTL 3 loads")
            try await time.pass(5.5)
            try expect(try await store.load(key: ns + "expires") == nil, "an entry is not returned after its TTL")
            try expect(try await store.touch(key: ns + "expires", ttl: 60) == false, "touch cannot revive an expired entry")
            try expect(try await store.load(key: ns + "touched") == value("t"), "touch extends the TTL")
            try expect(try await store.load(key: ns + "rolled") == value("r"), "loadAndTouch extends the TTL")
            try expect(try await store.load(key: ns + "resaved") == value("s2"), "a save without TTL replaces an earlier TTL")
            try expect(try await store.load(key: ns + "permanent") == value("p"), "an entry without TTL does not expire")
            for key in ["touched", "rolled", "resaved", "permanent"] { try await store.delete(key: ns + key) }
        },
        StoreConformanceCheck(name: "largeAndBinaryValues") { store, ns, _ in
            var large = [UInt8]()
            large.reserveCapacity(512 * 1024)
            var x: UInt32 = 2_463_534_242
            while large.count < 512 * 1024 {
                x ^= x << 13; x ^= x >> 17; x ^= x << 5
                large.append(UInt8(truncatingIfNeeded: x))
            }
            try await store.save(key: ns + "large", value: large, ttl: 60)
            try expect(try await store.load(key: ns + "large") == large, "a 512 KiB value round-trips byte for byte")
            let binary = (0...255).map { UInt8($0) } + value("\r\nEND\r\n")
            try await store.save(key: ns + "binary", value: binary, ttl: 60)
            try expect(try await store.load(key: ns + "binary") == binary, "every byte value, CR and LF included, round-trips")
            try await store.delete(key: ns + "large")
            try await store.delete(key: ns + "binary")
        },
        StoreConformanceCheck(name: "concurrentWriters") { store, ns, _ in
            let tasks = 64, rounds = 10
            try await withThrowingTaskGroup(of: Void.self) { group in
                for t in 0..<tasks {
                    group.addTask {
                        for r in 0..<rounds {
                            try await store.save(key: ns + "own\(t)", value: value("\(t):\(r)"), ttl: 60)
                            try await store.save(key: ns + "shared", value: value("\(t):\(r)"), ttl: 60)
                            let own = try await store.load(key: ns + "own\(t)")
                            try expect(own == value("\(t):\(r)"), "task \(t) reads its own last write, got \(own.map { String(decoding: $0, as: UTF8.self) } ?? "nil")")
                        }
                    }
                }
                try await group.waitForAll()
            }
            for t in 0..<tasks {
                try expect(try await store.load(key: ns + "own\(t)") == value("\(t):\(rounds - 1)"), "task \(t)'s final value survives")
                try await store.delete(key: ns + "own\(t)")
            }
            let shared = try await store.load(key: ns + "shared").map { String(decoding: $0, as: UTF8.self) }
            let valid = shared.map { text in
                let parts = text.split(separator: ":").compactMap { Int($0) }
                return parts.count == 2 && parts[0] < tasks && parts[1] < rounds
            } ?? false
            try expect(valid, "the shared key holds one whole write, got \(shared ?? "nil")")
            try await store.delete(key: ns + "shared")
        },
    ]
}

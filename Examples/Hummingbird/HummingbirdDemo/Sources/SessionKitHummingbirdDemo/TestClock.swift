import Foundation
import SessionKit
import Synchronization

/// A clock for tests of the demo (`SESSIONKIT_TEST_CLOCK=1`): it starts at the real time and
/// then moves only when `POST /__test/advance?seconds=N` moves it, so that a test can let a
/// session expire without waiting. Never enabled unless that variable asks for it.
final class TestClock: Sendable {
    private let offset = Mutex<Double>(0)
    private let start = Date().timeIntervalSince1970

    /// The current time: the start time plus every advance.
    var now: Double { start + offset.withLock { $0 } }

    /// Moves the clock forward by `seconds`.
    func advance(by seconds: Double) { offset.withLock { $0 += seconds } }

    var clock: SessionClock { SessionClock { [self] in now } }
}

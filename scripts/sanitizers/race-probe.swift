// Self-check for scripts/sanitizers.sh: shows that, with the sanitizer-aware Mutex
// (TSanMutex.swift, built with -DSESSIONKIT_TSAN), Thread Sanitizer stays quiet about data the
// mutex protects and still reports a real race.
//
//   race-probe locked   every access to the counter holds the lock: no report expected
//   race-probe racy     one thread also writes the counter without the lock: a report expected
import Synchronization
import Dispatch

final class Counter: @unchecked Sendable {
    var value = 0
}

@main
enum RaceProbe {
    static func main() {
        let racy = CommandLine.arguments.dropFirst().first == "racy"
        let lock = Mutex<Int>(0)
        let counter = Counter()
        // Threads that run at the same time for a while, so a missing lock overlaps for sure.
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for _ in 0..<200_000 {
                if racy && worker == 0 {
                    counter.value += 1
                } else {
                    lock.withLock { count in
                        count += 1
                        counter.value += 1
                    }
                }
            }
        }
        print("counter", counter.value, "locked increments", lock.withLock { $0 })
    }
}

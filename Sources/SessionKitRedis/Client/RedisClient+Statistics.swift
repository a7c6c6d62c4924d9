import Synchronization

extension RedisClient {
    /// What the client has done to follow a Cluster or Sentinel deployment, counted since it was
    /// created (for monitoring and tests).
    public struct Statistics: Sendable, Hashable {
        /// `MOVED` redirections followed (Cluster: a slot has a new owner).
        public var movedRedirections: Int
        /// `ASK` redirections followed (Cluster: a slot is being migrated).
        public var askRedirections: Int
        /// Commands retried after `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `MASTERDOWN`, `BUSY` or
        /// `READONLY`, or after a Cluster node could not be reached.
        public var retries: Int
        /// Cluster slot maps fetched (`CLUSTER SHARDS` or `CLUSTER SLOTS`).
        public var topologyRefreshes: Int
        /// Sentinel: primary addresses asked of the Sentinels.
        public var primaryResolutions: Int
        /// Sentinel: times the resolved primary differed from the previous one.
        public var primaryChanges: Int

        public init(movedRedirections: Int = 0, askRedirections: Int = 0, retries: Int = 0, topologyRefreshes: Int = 0, primaryResolutions: Int = 0, primaryChanges: Int = 0) {
            self.movedRedirections = movedRedirections
            self.askRedirections = askRedirections
            self.retries = retries
            self.topologyRefreshes = topologyRefreshes
            self.primaryResolutions = primaryResolutions
            self.primaryChanges = primaryChanges
        }
    }
}

/// The atomic counters behind ``RedisClient/Statistics``.
final class ClientCounters: Sendable {
    let moved = Atomic<Int>(0)
    let ask = Atomic<Int>(0)
    let retries = Atomic<Int>(0)
    let refreshes = Atomic<Int>(0)
    let resolutions = Atomic<Int>(0)
    let changes = Atomic<Int>(0)

    var snapshot: RedisClient.Statistics {
        RedisClient.Statistics(
            movedRedirections: moved.load(ordering: .relaxed), askRedirections: ask.load(ordering: .relaxed),
            retries: retries.load(ordering: .relaxed), topologyRefreshes: refreshes.load(ordering: .relaxed),
            primaryResolutions: resolutions.load(ordering: .relaxed), primaryChanges: changes.load(ordering: .relaxed))
    }
}

import SessionKit

/// Which primary serves each of the 16384 slots, as a cluster node reported it.
struct SlotMap: Sendable {
    typealias Address = RedisConfiguration.Address

    /// The primaries, indexed by ``owners``.
    private(set) var primaries: [Address] = []
    /// Every node the cluster listed, primaries first (candidates for the next refresh).
    private(set) var nodes: [Address] = []
    /// Per slot, the index of its primary in ``primaries``, or -1 when no node serves it.
    private var owners = [Int16](repeating: -1, count: HashSlot.count)
    private var primaryIndex: [Address: Int] = [:]
    private var known: Set<Address> = []

    /// The primary serving `slot`, if any.
    func primary(forSlot slot: Int) -> Address? {
        let owner = owners[slot]
        return owner >= 0 ? primaries[Int(owner)] : nil
    }

    /// How many slots have an owner.
    var coveredSlots: Int { owners.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

    /// The most distinct nodes a map records: a cluster cannot use more primaries than slots,
    /// and a hostile reply must not grow the map without bound.
    static let maximumNodes = HashSlot.count

    /// Records that `slot` is now served by `address` (a `MOVED` reply).
    mutating func assign(slot: Int, to address: Address) {
        guard (0..<HashSlot.count).contains(slot), let owner = index(of: address) else { return }
        owners[slot] = Int16(owner)
    }

    private mutating func index(of address: Address) -> Int? {
        if let index = primaryIndex[address] { return index }
        guard primaries.count < Self.maximumNodes else { return nil }
        primaries.append(address)
        primaryIndex[address] = primaries.count - 1
        if known.insert(address).inserted { nodes.insert(address, at: 0) }
        return primaries.count - 1
    }

    private mutating func assign(_ range: ClosedRange<Int>, to address: Address) {
        guard range.upperBound >= 0, range.lowerBound < HashSlot.count, let owner = index(of: address) else { return }
        for slot in range.clamped(to: 0...(HashSlot.count - 1)) { owners[slot] = Int16(owner) }
    }

    private mutating func note(_ address: Address) {
        if nodes.count < 2 * Self.maximumNodes && known.insert(address).inserted { nodes.append(address) }
    }

    // MARK: Parsing

    /// Reads a `CLUSTER SHARDS` reply (Redis 7.0+), RESP2 or RESP3.
    ///
    /// - Parameters:
    ///   - askedHost: the host of the node that answered, for nodes that report no address of
    ///     their own.
    ///   - tls: whether the client speaks TLS: each node's `tls-port` is then used where it
    ///     reports one (`CLUSTER SLOTS` and `MOVED` already give a TLS client the TLS ports).
    static func fromShards(_ reply: RESPValue, askedHost: String, tls: Bool = false) throws -> SlotMap {
        guard let shards = reply.elements else { throw malformed("CLUSTER SHARDS", reply) }
        var map = SlotMap()
        var replicas: [Address] = []
        for shard in shards {
            guard let fields = shard.fields, let slots = fields["slots"]?.elements, let nodes = fields["nodes"]?.elements else {
                throw malformed("CLUSTER SHARDS", shard)
            }
            var primary: Address?
            var primaryOnline = false
            for node in nodes {
                guard let node = node.fields else { continue }
                let portField = tls && node["tls-port"] != nil ? "tls-port" : "port"
                guard let port = node[portField]?.integer ?? node[portField]?.string.flatMap({ Int64($0) }) else { continue }
                var host = node["endpoint"]?.string ?? ""
                if host.isEmpty || host == "?" { host = node["ip"]?.string ?? "" }
                if host.isEmpty || host == "?" { host = askedHost }
                let address = Address.tcp(host: host, port: Int(port))
                if node["role"]?.string == "master" {
                    // A failed primary may still be listed beside the replica that replaced it.
                    let online = node["health"]?.string.map { $0 == "online" } ?? true
                    if primary == nil || (online && !primaryOnline) {
                        if let previous = primary { replicas.append(previous) }
                        primary = address
                        primaryOnline = online
                    } else {
                        replicas.append(address)
                    }
                } else {
                    replicas.append(address)
                }
            }
            guard let primary else { continue }
            let bounds = slots.compactMap { $0.integer ?? $0.string.flatMap { Int64($0) } }
            if bounds.isEmpty { map.note(primary); continue }
            guard bounds.count % 2 == 0 else { throw malformed("CLUSTER SHARDS", shard) }
            for pair in stride(from: 0, to: bounds.count, by: 2) where bounds[pair] <= bounds[pair + 1] {
                map.assign(Int(bounds[pair])...Int(bounds[pair + 1]), to: primary)
            }
        }
        for replica in replicas { map.note(replica) }
        return map
    }

    /// Reads a `CLUSTER SLOTS` reply (Redis 3.0 to 6.2; deprecated since 7.0).
    static func fromSlots(_ reply: RESPValue, askedHost: String) throws -> SlotMap {
        guard let ranges = reply.elements else { throw malformed("CLUSTER SLOTS", reply) }
        var map = SlotMap()
        for range in ranges {
            guard let items = range.elements, items.count >= 3,
                  let start = items[0].integer, let end = items[1].integer, start <= end else {
                throw malformed("CLUSTER SLOTS", range)
            }
            var addresses: [Address] = []
            for node in items[2...] {
                guard let parts = node.elements, parts.count >= 2, let port = parts[1].integer else { continue }
                var host = parts[0].string ?? ""
                if host.isEmpty || host == "?" { host = askedHost }
                addresses.append(.tcp(host: host, port: Int(port)))
            }
            guard let primary = addresses.first else { throw malformed("CLUSTER SLOTS", range) }
            map.assign(Int(start)...Int(end), to: primary)
            for replica in addresses.dropFirst() { map.note(replica) }
        }
        return map
    }

    private static func malformed(_ command: String, _ value: RESPValue) -> SessionError {
        SessionError(.protocolError, "a Redis Cluster node answered \(command) with \(value.redactedDescription), which is not a slot map; is it a cluster node?")
    }
}

extension RESPValue {
    /// The elements of an array or set.
    var elements: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values): return values
        default: return nil
        }
    }

    /// A RESP3 map, or a RESP2 array of alternating names and values, by name.
    var fields: [String: RESPValue]? {
        switch self {
        case .map(let pairs):
            var result: [String: RESPValue] = [:]
            for pair in pairs { if let name = pair.key.string { result[name] = pair.value } }
            return result
        case .array(let values) where values.count % 2 == 0:
            var result: [String: RESPValue] = [:]
            for index in stride(from: 0, to: values.count, by: 2) {
                guard let name = values[index].string else { return nil }
                result[name] = values[index + 1]
            }
            return result
        default:
            return nil
        }
    }
}

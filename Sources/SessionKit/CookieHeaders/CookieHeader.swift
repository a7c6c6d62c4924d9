#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading `Cookie` request headers (RFC 6265 section 5.4 as browsers send them).
public enum CookieHeader {
    /// Limits that bound the work done on hostile `Cookie` headers.
    public struct Limits: Sendable, Hashable {
        /// Bytes of `Cookie` header text examined across all headers; the rest is ignored,
        /// and so is a pair cut by this limit.
        /// Default 16384 (browsers send at most a few KB per cookie).
        public var maximumHeaderBytes: Int
        /// Cookie pairs examined across all headers; later pairs are ignored. Default 256.
        public var maximumCookies: Int
        /// Cookie values longer than this are ignored. Default 4096 (the browsers' own limit).
        public var maximumValueBytes: Int

        /// Creates limits; the defaults suit every browser.
        public init(maximumHeaderBytes: Int = 16384, maximumCookies: Int = 256, maximumValueBytes: Int = 4096) {
            self.maximumHeaderBytes = maximumHeaderBytes
            self.maximumCookies = maximumCookies
            self.maximumValueBytes = maximumValueBytes
        }

        /// The default limits.
        public static let `default` = Limits()
    }

    /// Returns the values of every cookie named `name`, in the order they appear.
    ///
    /// Several headers, several cookies per header and several cookies of the same name
    /// (browsers send the most specific path first) are handled; surrounding double quotes
    /// are removed; pairs without `=` and oversized values are skipped. Nothing here throws:
    /// garbage is ignored.
    public static func values(named name: String, in headers: [String], limits: Limits = .default) -> [String] {
        var result: [String] = []
        scan(named: name, in: headers, limits: limits) { result.append($0) }
        return result
    }

    /// ``values(named:in:limits:)`` without an array for the usual single value.
    static func cookieValues(named name: String, in headers: [String], limits: Limits) -> CookieValues {
        var result = CookieValues()
        scan(named: name, in: headers, limits: limits) { result.append($0) }
        return result
    }

    /// Calls `found` with the value of every cookie named `name`, in order.
    @inline(__always)
    static func scan(named name: String, in headers: [String], limits: Limits, _ found: (String) -> Void) {
        var budget = limits.maximumHeaderBytes
        var pairs = 0
        var name = name
        name.withUTF8 { nameBytes in
            for var header in headers {
                if budget <= 0 || pairs >= limits.maximumCookies { return }
                header.withUTF8 { bytes in
                    let end = min(bytes.count, budget)
                    budget -= bytes.count
                    var i = 0
                    while i < end && pairs < limits.maximumCookies {
                        // One pair: up to the next ';'.
                        let pairEnd = find(UInt8(ascii: ";"), in: bytes, from: i, to: end)
                        // A pair cut by the byte budget is ignored, never returned truncated.
                        if pairEnd == end && end < bytes.count && bytes[end] != UInt8(ascii: ";") { return }
                        pairs += 1
                        var s = i
                        while s < pairEnd && (bytes[s] == 0x20 || bytes[s] == 0x09) { s += 1 }
                        let eq = find(UInt8(ascii: "="), in: bytes, from: s, to: pairEnd)
                        if eq < pairEnd {
                            var nameEnd = eq
                            while nameEnd > s && (bytes[nameEnd - 1] == 0x20 || bytes[nameEnd - 1] == 0x09) { nameEnd -= 1 }
                            if nameEnd - s == nameBytes.count
                                && memcmpEqual(bytes.baseAddress! + s, nameBytes.baseAddress, nameBytes.count)
                            {
                                var vs = eq + 1
                                var ve = pairEnd
                                while vs < ve && (bytes[vs] == 0x20 || bytes[vs] == 0x09) { vs += 1 }
                                while ve > vs && (bytes[ve - 1] == 0x20 || bytes[ve - 1] == 0x09) { ve -= 1 }
                                if ve - vs >= 2 && bytes[vs] == UInt8(ascii: "\"") && bytes[ve - 1] == UInt8(ascii: "\"") {
                                    vs += 1
                                    ve -= 1
                                }
                                if ve - vs <= limits.maximumValueBytes {
                                    found(String(decoding: UnsafeBufferPointer(rebasing: bytes[vs..<ve]), as: UTF8.self))
                                }
                            }
                        }
                        i = pairEnd + 1
                    }
                }
            }
        }
    }

    /// The index of the first `byte` in `bytes[start..<end]`, or `end`.
    @inline(__always)
    static func find(_ byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        guard start < end, let found = memchr(bytes.baseAddress! + start, Int32(byte), end - start) else { return end }
        return UnsafeRawPointer(found) - UnsafeRawPointer(bytes.baseAddress!)
    }

    @inline(__always)
    static func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>?, _ count: Int) -> Bool {
        guard let b else { return count == 0 }
        for k in 0..<count where a[k] != b[k] { return false }
        return true
    }
}

/// The values of one cookie name in a request: usually one, kept without an array.
enum CookieValues: RandomAccessCollection, Sendable {
    case none
    case one(String)
    case many([String])

    init() { self = .none }

    /// The values of `array`, which is kept as it is.
    init(_ array: [String]) { self = array.isEmpty ? .none : .many(array) }

    mutating func append(_ value: String) {
        switch self {
        case .none: self = .one(value)
        case .one(let first): self = .many([first, value])
        case .many(var values):
            self = .none
            values.append(value)
            self = .many(values)
        }
    }

    var startIndex: Int { 0 }

    var endIndex: Int {
        switch self {
        case .none: 0
        case .one: 1
        case .many(let values): values.count
        }
    }

    subscript(position: Int) -> String {
        switch self {
        case .none: preconditionFailure("index out of range")
        case .one(let value):
            precondition(position == 0, "index out of range")
            return value
        case .many(let values): return values[position]
        }
    }

    /// The values as an array, for interfaces outside this module.
    var array: [String] {
        switch self {
        case .none: []
        case .one(let value): [value]
        case .many(let values): values
        }
    }
}

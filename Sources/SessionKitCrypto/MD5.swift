extension Insecure {
    /// MD5 (RFC 1321), one-shot or streaming. Cryptographically broken: use it only where a
    /// protocol requires it, such as libmemcached-compatible ketama hashing.
    ///
    /// ```swift
    /// Insecure.MD5.hash(data: "abc".utf8).description
    /// // "900150983cd24fb0d6963f7d28e17f72"
    /// ```
    public struct MD5: HashFunction {
        @usableFromInline var a: UInt32 = 0x6745_2301
        @usableFromInline var b: UInt32 = 0xEFCD_AB89
        @usableFromInline var c: UInt32 = 0x98BA_DCFE
        @usableFromInline var d: UInt32 = 0x1032_5476
        @usableFromInline var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        /// Bytes waiting in `block`, always less than 64 between calls.
        @usableFromInline var buffered = 0
        /// Total bytes absorbed.
        @usableFromInline var length: UInt64 = 0

        /// 64.
        public static var blockByteCount: Int { 64 }

        /// Creates a hasher that has absorbed nothing.
        public init() {}

        /// Absorbs the bytes in `bufferPointer`.
        public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
            guard var source = bufferPointer.baseAddress, bufferPointer.count > 0 else { return }
            var remaining = bufferPointer.count
            length &+= UInt64(truncatingIfNeeded: remaining)
            if buffered > 0 {
                let take = Swift.min(64 - buffered, remaining)
                let offset = buffered
                withUnsafeMutableBytes(of: &block) { ($0.baseAddress! + offset).copyMemory(from: source, byteCount: take) }
                buffered += take
                source += take
                remaining -= take
                if buffered < 64 { return }
                var copy = block
                withUnsafeBytes(of: &copy) { compress($0.baseAddress!) }
                buffered = 0
            }
            while remaining >= 64 {
                compress(source)
                source += 64
                remaining -= 64
            }
            if remaining > 0 {
                withUnsafeMutableBytes(of: &block) { $0.baseAddress!.copyMemory(from: source, byteCount: remaining) }
                buffered = remaining
            }
        }

        /// Returns the digest of everything absorbed so far; the hasher is unchanged.
        public func finalize() -> MD5Digest {
            var copy = self
            let bitLength = (length << 3).littleEndian
            var tail = block
            let used = buffered
            withUnsafeMutableBytes(of: &tail) { raw in
                let base = raw.baseAddress!
                base.storeBytes(of: 0x80, toByteOffset: used, as: UInt8.self)
                var filled = used + 1
                if filled > 56 {
                    (base + filled).initializeMemory(as: UInt8.self, repeating: 0, count: 64 - filled)
                    copy.compress(UnsafeRawPointer(base))
                    filled = 0
                }
                (base + filled).initializeMemory(as: UInt8.self, repeating: 0, count: 56 - filled)
                base.storeBytes(of: bitLength, toByteOffset: 56, as: UInt64.self)
                copy.compress(UnsafeRawPointer(base))
            }
            return MD5Digest(words: (copy.a.littleEndian, copy.b.littleEndian, copy.c.littleEndian, copy.d.littleEndian))
        }

        private static let shifts: [UInt32] = [
            7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
            5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
            4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
            6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
        ]

        /// floor(abs(sin(i + 1)) * 2^32), RFC 1321 section 3.4.
        private static let constants: [UInt32] = [
            0xd76a_a478, 0xe8c7_b756, 0x2420_70db, 0xc1bd_ceee, 0xf57c_0faf, 0x4787_c62a, 0xa830_4613, 0xfd46_9501,
            0x6980_98d8, 0x8b44_f7af, 0xffff_5bb1, 0x895c_d7be, 0x6b90_1122, 0xfd98_7193, 0xa679_438e, 0x49b4_0821,
            0xf61e_2562, 0xc040_b340, 0x265e_5a51, 0xe9b6_c7aa, 0xd62f_105d, 0x0244_1453, 0xd8a1_e681, 0xe7d3_fbc8,
            0x21e1_cde6, 0xc337_07d6, 0xf4d5_0d87, 0x455a_14ed, 0xa9e3_e905, 0xfcef_a3f8, 0x676f_02d9, 0x8d2a_4c8a,
            0xfffa_3942, 0x8771_f681, 0x6d9d_6122, 0xfde5_380c, 0xa4be_ea44, 0x4bde_cfa9, 0xf6bb_4b60, 0xbebf_bc70,
            0x289b_7ec6, 0xeaa1_27fa, 0xd4ef_3085, 0x0488_1d05, 0xd9d4_d039, 0xe6db_99e5, 0x1fa2_7cf8, 0xc4ac_5665,
            0xf429_2244, 0x432a_ff97, 0xab94_23a7, 0xfc93_a039, 0x655b_59c3, 0x8f0c_cc92, 0xffef_f47d, 0x8584_5dd1,
            0x6fa8_7e4f, 0xfe2c_e6e0, 0xa301_4314, 0x4e08_11a1, 0xf753_7e82, 0xbd3a_f235, 0x2ad7_d2bb, 0xeb86_d391,
        ]

        /// Processes one 64-byte block at `pointer` (any alignment).
        private mutating func compress(_ pointer: UnsafeRawPointer) {
            var m: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                    UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &m) { $0.baseAddress!.copyMemory(from: pointer, byteCount: 64) }
            var aa = a, bb = b, cc = c, dd = d
            withUnsafeBytes(of: &m) { raw in
                let words = raw.bindMemory(to: UInt32.self)
                Self.constants.withUnsafeBufferPointer { k in
                    Self.shifts.withUnsafeBufferPointer { s in
                        for i in 0..<64 {
                            var f: UInt32
                            let g: Int
                            switch i >> 4 {
                            case 0:
                                f = (bb & cc) | (~bb & dd)
                                g = i
                            case 1:
                                f = (dd & bb) | (~dd & cc)
                                g = (5 &* i &+ 1) & 15
                            case 2:
                                f = bb ^ cc ^ dd
                                g = (3 &* i &+ 5) & 15
                            default:
                                f = cc ^ (bb | ~dd)
                                g = (7 &* i) & 15
                            }
                            f = f &+ aa &+ k[i] &+ UInt32(littleEndian: words[g])
                            aa = dd
                            dd = cc
                            cc = bb
                            bb = bb &+ ((f << s[i]) | (f >> (32 - s[i])))
                        }
                    }
                }
            }
            a = a &+ aa
            b = b &+ bb
            c = c &+ cc
            d = d &+ dd
        }
    }

    /// The 16-byte output of ``Insecure/MD5``.
    public struct MD5Digest: Digest {
        @usableFromInline
        let words: (UInt32, UInt32, UInt32, UInt32)

        init(words: (UInt32, UInt32, UInt32, UInt32)) {
            self.words = words
        }

        /// 16.
        public static var byteCount: Int { 16 }

        /// Calls `body` with the 16 digest bytes.
        @inlinable
        public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
            try Swift.withUnsafeBytes(of: words, body)
        }
    }
}

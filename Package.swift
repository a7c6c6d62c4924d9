// swift-tools-version:6.0
import PackageDescription

// SessionKit has no package dependencies: toolchain only. The opt-in SessionKitTLS product links
// the operating system's OpenSSL 3 (Debian: libssl-dev); nothing else needs it.
let package = Package(
    name: "SessionKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SessionKit", targets: ["SessionKit"]),
        .library(name: "SessionKitCrypto", targets: ["SessionKitCrypto"]),
        .library(name: "SessionKitRedis", targets: ["SessionKitRedis"]),
        .library(name: "SessionKitMemcached", targets: ["SessionKitMemcached"]),
        .library(name: "SessionKitTesting", targets: ["SessionKitTesting"]),
        // Opt-in: the only product that needs more than the toolchain (the system's OpenSSL 3).
        .library(name: "SessionKitTLS", targets: ["SessionKitTLS"]),
    ],
    targets: [
        .target(name: "SessionKitCrypto"),
        .target(name: "SessionKit", dependencies: ["SessionKitCrypto"]),
        .target(name: "SessionKitNetworking"),
        .target(name: "SessionKitRedis", dependencies: ["SessionKit", "SessionKitNetworking"]),
        .target(name: "SessionKitMemcached", dependencies: ["SessionKit", "SessionKitNetworking", "SessionKitCrypto"]),
        .target(name: "SessionKitTesting", dependencies: ["SessionKit"]),
        .systemLibrary(
            name: "CSessionKitOpenSSL", path: "Sources/CSessionKitOpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        .target(name: "SessionKitTLS", dependencies: ["CSessionKitOpenSSL", "SessionKitNetworking"]),
        .target(name: "SessionKitMallocStats", path: "Tests/SessionKitMallocStats"),
        .target(
            name: "SessionKitTestSupport", dependencies: ["SessionKit", "SessionKitMallocStats"], path: "Tests/SessionKitTestSupport"),
        .testTarget(name: "SessionKitCryptoTests", dependencies: ["SessionKitCrypto"]),
        .testTarget(name: "SessionKitTestingTests", dependencies: ["SessionKit", "SessionKitTesting"]),
        .executableTarget(
            name: "SessionKitFilesystemWriter", dependencies: ["SessionKit"], path: "Tests/SessionKitFilesystemWriter"),
        .executableTarget(
            name: "SessionKitForkProbe", dependencies: ["SessionKit", "SessionKitCrypto"], path: "Tests/SessionKitForkProbe"),
        .testTarget(
            name: "SessionKitTests",
            dependencies: ["SessionKit", "SessionKitTestSupport", "SessionKitFilesystemWriter", "SessionKitForkProbe"]),
        .testTarget(name: "SessionKitRedisTests", dependencies: ["SessionKitRedis", "SessionKitNetworking", "SessionKitTestSupport"]),
        .executableTarget(
            name: "SessionKitSoak", dependencies: ["SessionKitRedis", "SessionKitMemcached", "SessionKitTestSupport"],
            path: "Tests/SessionKitSoak"),
        // The tests that run against both network stores: one suite per concern, parameterized
        // over Redis and memcached.
        .testTarget(
            name: "SessionKitNetworkStoreTests",
            dependencies: ["SessionKitRedis", "SessionKitMemcached", "SessionKitNetworking", "SessionKitTestSupport"]),
        .testTarget(
            name: "SessionKitTLSTests",
            dependencies: ["SessionKitTLS", "SessionKitRedis", "SessionKitMemcached", "SessionKitNetworking", "SessionKitTestSupport"]),
        .testTarget(
            name: "SessionKitMemcachedTests",
            dependencies: ["SessionKitMemcached", "SessionKitNetworking", "SessionKitCrypto", "SessionKitTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

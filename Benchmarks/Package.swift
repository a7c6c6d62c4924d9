// swift-tools-version:6.0
import PackageDescription

// Benchmarks run SessionKit side by side with its peers and print the ratio.
// Run one suite with: swift run -c release --package-path Benchmarks <SuiteName>
let package = Package(
    name: "SessionKitBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "SessionKit", path: ".."),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "InMemoryBenchmark",
            dependencies: [.product(name: "SessionKit", package: "SessionKit")]
        ),
        .executableTarget(
            name: "FilesystemBenchmark",
            dependencies: [.product(name: "SessionKit", package: "SessionKit")]
        ),
        .executableTarget(
            name: "RedisBenchmark",
            dependencies: [
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "SessionKitRedis", package: "SessionKit"),
                .product(name: "SessionKitTLS", package: "SessionKit"),
            ]
        ),
        .executableTarget(
            name: "MemcachedBenchmark",
            dependencies: [
                .product(name: "SessionKitMemcached", package: "SessionKit"),
                .product(name: "SessionKitTLS", package: "SessionKit"),
            ]
        ),
        .executableTarget(
            name: "ParserBenchmark",
            dependencies: [
                .product(name: "SessionKitRedis", package: "SessionKit"),
                .product(name: "SessionKitMemcached", package: "SessionKit"),
            ]
        ),
        .executableTarget(
            name: "CookieBenchmark",
            dependencies: [
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "SessionKitCrypto", package: "SessionKit"),
            ]
        ),
        .executableTarget(
            name: "EncryptedCookieBenchmark",
            dependencies: [.product(name: "SessionKit", package: "SessionKit")]
        ),
        .executableTarget(
            name: "CryptoBenchmark",
            dependencies: [
                .product(name: "SessionKitCrypto", package: "SessionKit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

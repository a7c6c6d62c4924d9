// swift-tools-version:6.0
import PackageDescription

// SessionKit from this repository; SESSIONKIT_PATH points the example at another checkout.
let sessionKitPath = Context.environment["SESSIONKIT_PATH"] ?? "../../.."

// SessionKit under Hummingbird 2: a small adapter (HummingbirdSessionKit), a demo app, and the
// Hummingbird servers of the HTTP benchmark (Benchmarks/Scripts/http-bench.sh).
//
// The package sits one folder below Examples/Hummingbird because SwiftPM names a root package
// after its folder, and a package named "hummingbird" would clash with the dependency.
let package = Package(
    name: "HummingbirdDemo",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HummingbirdSessionKit", targets: ["HummingbirdSessionKit"]),
        .executable(name: "SessionKitHummingbirdDemo", targets: ["SessionKitHummingbirdDemo"]),
        .executable(name: "HummingbirdSessionBench", targets: ["HummingbirdSessionBench"]),
    ],
    dependencies: [
        .package(name: "SessionKit", path: sessionKitPath),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(
            name: "HummingbirdSessionKit",
            dependencies: [
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "SessionKitHummingbirdDemo",
            dependencies: [
                "HummingbirdSessionKit",
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "SessionKitRedis", package: "SessionKit"),
                .product(name: "SessionKitMemcached", package: "SessionKit"),
                .product(name: "SessionKitTLS", package: "SessionKit"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // Benchmark servers: no sessions, hummingbird-auth's sessions, SessionKit's.
        .executableTarget(
            name: "HummingbirdSessionBench",
            dependencies: [
                "HummingbirdSessionKit",
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "SessionKitRedis", package: "SessionKit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version:6.0
import PackageDescription

// SessionKit from this repository; SESSIONKIT_PATH points the example at another checkout.
let sessionKitPath = Context.environment["SESSIONKIT_PATH"] ?? "../../.."

// SessionKit under Vapor 4: a small adapter (VaporSessionKit), a demo app with its tests, and
// the Vapor servers of the HTTP benchmark (Benchmarks/Scripts/http-bench.sh).
//
// The package sits one folder below Examples/Vapor because SwiftPM names a root package after
// its folder, and a package named "vapor" would clash with the dependency.
let package = Package(
    name: "VaporDemo",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "VaporSessionKit", targets: ["VaporSessionKit"]),
        .executable(name: "SessionKitVaporDemo", targets: ["SessionKitVaporDemo"]),
        .executable(name: "VaporSessionBench", targets: ["VaporSessionBench"]),
    ],
    dependencies: [
        .package(name: "SessionKit", path: sessionKitPath),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
    ],
    targets: [
        .target(
            name: "VaporSessionKit",
            dependencies: [
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "Vapor", package: "vapor"),
            ]
        ),
        .target(
            name: "VaporDemoApp",
            dependencies: [
                "VaporSessionKit",
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "Vapor", package: "vapor"),
            ]
        ),
        .executableTarget(
            name: "SessionKitVaporDemo",
            dependencies: ["VaporDemoApp", .product(name: "Vapor", package: "vapor")]
        ),
        // Benchmark servers: no sessions, Vapor's SessionsMiddleware, SessionKit's.
        .executableTarget(
            name: "VaporSessionBench",
            dependencies: [
                "VaporSessionKit",
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "Vapor", package: "vapor"),
            ]
        ),
        .testTarget(
            name: "VaporDemoAppTests",
            dependencies: [
                "VaporDemoApp",
                "VaporSessionKit",
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "VaporTesting", package: "vapor"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

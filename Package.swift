// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
]
/// The pure cores the simulations run millions of steps of: optimized in debug builds too, so the
/// seeded runs of `make test` take minutes, not tens of minutes.
let optimizedInDebug: [SwiftSetting] = strict + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "prism",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "prism", targets: ["prism"]),
        .executable(name: "prism-agent", targets: ["prism-agent"]),
        .library(name: "PrismStorage", targets: ["PrismStorage"]),
        .library(name: "PrismConfig", targets: ["PrismConfig"]),
        .library(name: "PrismSearch", targets: ["PrismSearch"]),
        .library(name: "PrismHTTP", targets: ["PrismHTTP"]),
        .library(name: "PrismTransport", targets: ["PrismTransport"]),
        .library(name: "PrismGossip", targets: ["PrismGossip"]),
        .library(name: "PrismSimulation", targets: ["PrismSimulation"]),
        .library(name: "PrismPlacement", targets: ["PrismPlacement"]),
        .library(name: "PrismRaft", targets: ["PrismRaft"]),
        .library(name: "PrismCheck", targets: ["PrismCheck"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .systemLibrary(name: "CPrefetch"),
        .systemLibrary(name: "CResolv"),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "CVectorKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "CChecksum", cSettings: [.unsafeFlags(["-O3"])]),
        .target(
            name: "PrismStorage",
            dependencies: [
                "CLMDB",
                "CChecksum",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PrismConfig",
            dependencies: [
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PrismMetrics",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PrismSearch",
            dependencies: [
                "PrismStorage", "CPrefetch", "CVectorKernels",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PrismTransport",
            dependencies: [
                "CCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PrismGossip",
            dependencies: [
                "PrismTransport", "CResolv",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(name: "PrismSimulation", dependencies: ["PrismGossip", "PrismStorage", "PrismRaft", "PrismCheck", "PrismTransport"], swiftSettings: optimizedInDebug),
        .target(name: "PrismPlacement", dependencies: ["PrismConfig"], swiftSettings: strict),
        .target(
            name: "PrismRaft",
            dependencies: [
                "PrismStorage", "PrismTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: optimizedInDebug
        ),
        .target(name: "PrismCheck", swiftSettings: optimizedInDebug),
        .target(
            name: "PrismHTTP",
            dependencies: [
                "PrismSearch", "PrismConfig", "PrismMetrics", "PrismStorage", "PrismGossip",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PrismRuntime",
            dependencies: [
                "PrismConfig", "PrismGossip", "PrismMetrics", "PrismTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "prism-agent",
            dependencies: [
                "PrismRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict,
            // A static executable in release (Swift runtime, Foundation, libc, libcrypto and
            // libstdc++ linked in, trimmed to what it uses): an idle agent's memory is mostly the
            // pages of the code it maps, and shared libraries map much more than it runs. Name
            // lookups still load the system's NSS modules, which is why the binary is built on
            // the machine (or the distribution) it runs on.
            linkerSettings: [.unsafeFlags(["-static-executable", "-Xlinker", "--start-group", "-lFoundation", "-lFoundationEssentials",
                                           "-lFoundationInternationalization", "-lCoreFoundation", "-l_FoundationICU",
                                           "-l_FoundationCShims", "-l_FoundationCollections", "-lstdc++", "-Xlinker", "--end-group"],
                                          .when(configuration: .release))]
        ),
        .executableTarget(
            name: "prism",
            dependencies: [
                "PrismRuntime", "PrismHTTP", "PrismConfig", "PrismSearch", "PrismStorage", "PrismMetrics", "PrismGossip", "PrismSimulation", "PrismTransport",
                "PrismPlacement", "PrismRaft",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PrismTestSupport",
            dependencies: [],
            swiftSettings: strict
        ),
        .testTarget(name: "PrismStorageTests", dependencies: ["PrismStorage", "PrismTestSupport"], swiftSettings: strict),
        .testTarget(name: "PrismConfigTests", dependencies: ["PrismConfig", "PrismTestSupport"], swiftSettings: strict),
        .testTarget(name: "PrismSearchTests", dependencies: ["PrismSearch", "PrismStorage", "PrismTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "PrismHTTPTests",
            dependencies: [
                "PrismHTTP", "PrismSearch", "PrismStorage", "PrismConfig", "PrismMetrics", "PrismTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "PrismGossipTests", dependencies: ["PrismGossip", "PrismSimulation", "PrismStorage", "PrismTransport"], swiftSettings: strict),
        .testTarget(
            name: "PrismTransportTests",
            dependencies: [
                "PrismTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "PrismNodeTests", dependencies: ["PrismTestSupport", "PrismRaft", "PrismStorage"], swiftSettings: strict),
        .testTarget(name: "PrismCheckTests", dependencies: ["PrismCheck", "PrismStorage"], swiftSettings: strict),
        .testTarget(
            name: "PrismRaftTests",
            dependencies: [
                "PrismRaft", "PrismStorage", "PrismTestSupport", "PrismSimulation", "PrismCheck", "PrismTransport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "PrismPlacementTests", dependencies: ["PrismPlacement", "PrismConfig", "PrismStorage"], swiftSettings: strict),
    ]
)

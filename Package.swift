// swift-tools-version:6.0
import PackageDescription

// scripts/test builds with CAIRN_STRICT=1: warnings in Cairn's own code are errors there.
let strict: [SwiftSetting] = Context.environment["CAIRN_STRICT"] == "1" ? [.unsafeFlags(["-warnings-as-errors"])] : []

let package = Package(
    name: "Cairn",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cairn", targets: ["cairn"])
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        // The C boundary: only CairnSSH imports it.
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        // OpenSSL initialised without its atexit clean-up (see the C file for why).
        .target(
            name: "COpenSSLExit",
            linkerSettings: [.linkedLibrary("crypto")]
        ),
        .target(
            name: "CairnCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "CairnSSH",
            dependencies: [
                "CLibSSH2", "COpenSSLExit", "CairnCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            plugins: ["EmbedResources"]
        ),
        .target(
            name: "CairnInventory",
            dependencies: ["CairnCore", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "CairnEngine",
            dependencies: [
                "CairnCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            plugins: ["EmbedResources"]
        ),
        .target(
            name: "CairnPhases",
            dependencies: [
                "CairnCore", "CairnEngine", "CairnInventory", "CairnPKI", "CairnArtifacts",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            plugins: ["EmbedResources"]
        ),
        .target(
            name: "CairnCLI",
            dependencies: [
                "CairnCore", "CairnSSH", "CairnInventory", "CairnEngine", "CairnPhases", "CairnArtifacts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "cairn", dependencies: ["CairnCLI"]),
        // Remote scripts (`*.sh` beside the Swift files) and playbooks/ embedded at build time.
        .executableTarget(name: "cairn-embed"),
        .plugin(name: "EmbedResources", capability: .buildTool(), dependencies: ["cairn-embed"]),
        // Operator-side etcd PKI (CA, member and client certificates), no openssl calls.
        .target(
            name: "CairnPKI",
            dependencies: [
                "CairnCore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Operator-side release artifacts: fetch, verify, cache, lock file.
        .target(
            name: "CairnArtifacts",
            dependencies: ["CairnCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Fakes shared by the test targets: executors that fail on unexpected commands, a virtual clock.
        .target(name: "CairnTesting", dependencies: ["CairnCore", "CairnSSH", "CairnEngine"]),
        .testTarget(
            name: "CairnCLITests",
            dependencies: ["CairnCLI", "CairnTesting", "CairnPhases", "CairnEngine", "CairnInventory"]),
        .testTarget(
            name: "CairnPhasesTests",
            dependencies: [
                "CairnPhases", "CairnEngine", "CairnInventory", "CairnTesting", "CairnCore", "CairnArtifacts",
                "CairnPKI", .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ]),
        .testTarget(name: "CairnEngineTests", dependencies: ["CairnEngine", "CairnTesting", "CairnCore", "CairnSSH"]),
        .testTarget(name: "CairnCoreTests", dependencies: ["CairnCore"]),
        .testTarget(
            name: "CairnPKITests",
            dependencies: [
                "CairnPKI", "CairnCore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "CairnArtifactsTests", dependencies: ["CairnArtifacts", "CairnCore"]),
        .testTarget(name: "CairnSSHTests", dependencies: ["CairnSSH", "CairnCore", "CairnTesting"]),
        .testTarget(
            name: "CairnInventoryTests",
            // CairnPhases for the add-ons' inventory sections (Addons.settings).
            dependencies: ["CairnInventory", "CairnCore", "CairnPhases"],
            resources: [.copy("Corpus")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system && target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + strict
}

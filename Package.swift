// swift-tools-version: 6.1
//
// modelsec: signing, encryption, access tokens, differential privacy and
// policy checks for ML model releases.
//
// Layout: two system-library targets wrap the C backends (libsodium,
// OpenSSL 3); `ModelSecCrypto` is the only module that touches them. Each
// capability is its own target with its own test target; `ModelSec`
// re-exports them all; `modelsec` is the thin command-line front end.
import PackageDescription

let package = Package(
    name: "modelsec",
    platforms: [.macOS(.v13)],
    products: [
        // One library per capability, so an app builds only what it uses (an
        // app that verifies signatures needs none of GRDB, BigInt or Yams).
        // Each product's base modules (ModelSecCrypto, ModelSecIO,
        // ModelSecKeys) come with it as its target dependencies.
        .library(name: "ModelSigning", targets: ["ModelSigning"]),
        .library(name: "ArtifactEncryption", targets: ["ArtifactEncryption"]),
        .library(name: "AccessTokens", targets: ["AccessTokens"]),
        .library(name: "DifferentialPrivacy", targets: ["DifferentialPrivacy"]),
        .library(name: "ModelScanner", targets: ["ModelScanner"]),
        .library(name: "ModelRelease", targets: ["ModelRelease"]),
        .library(name: "PolicyCheck", targets: ["PolicyCheck"]),
        .library(name: "PKCS11Keys", targets: ["PKCS11Keys"]),
        .library(name: "TransparencyLog", targets: ["TransparencyLog"]),
        // The shared store: URLs and errors (no dependencies), and its
        // PostgreSQL engine (SwiftNIO and postgres-nio), kept apart so the
        // embedded SQLite products never pull NIO.
        .library(name: "ModelSecStore", targets: ["ModelSecStore"]),
        .library(name: "ModelSecStorePostgres", targets: ["ModelSecStorePostgres"]),
        // The OAuth 2.0 token service (`modelsec serve`): the only product that
        // brings in SwiftNIO and Hummingbird.
        .library(name: "TokenService", targets: ["TokenService"]),
        // Everything, re-exported from one module.
        .library(name: "ModelSec", targets: ["ModelSec"]),
        .executable(name: "modelsec", targets: ["modelsec"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/attaswift/BigInt.git", from: "6.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // GET /metrics of the token service (Prometheus text format).
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The token service's HTTP server. Hummingbird's default traits are
        // off: they pull in swift-configuration, which the service does not use.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Hummingbird's own dependency; named for NIOHTTPTypes (the request
        // parts the token service's receive deadline watches).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        // C backends.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),

        // The standard PKCS#11 header (modules are dlopen'ed at run time).
        .systemLibrary(
            name: "CPKCS11",
            pkgConfig: "p11-kit-1",
            providers: [.apt(["libp11-kit-dev"])]
        ),

        // The commit the binary was built from, for `modelsec --version`.
        // Writes the commit `modelsec --version` reports, before every build.
        .plugin(name: "BuildCommit", capability: .buildTool()),

        // Foundation: typed crypto core, file I/O conventions, key management.
        .target(name: "ModelSecCrypto", dependencies: ["CSodium", "COpenSSL"]),
        .target(name: "ModelSecIO"),
        .target(name: "ModelSecKeys", dependencies: ["ModelSecCrypto", "ModelSecIO"]),

        // Capabilities.
        .target(name: "ModelSigning", dependencies: ["ModelSecCrypto", "ModelSecKeys", "ModelSecIO"]),
        .target(name: "ArtifactEncryption", dependencies: ["ModelSecCrypto", "ModelSecKeys", "ModelSecIO"]),
        .target(name: "AccessTokens", dependencies: ["ModelSecCrypto", "ModelSecKeys", "ModelSecIO"]),
        .target(
            name: "DifferentialPrivacy",
            dependencies: [
                "ModelSecCrypto", "ModelSecIO", "ModelSecStore",
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),

        // The shared store: `sqlite:PATH` / `postgres://` URLs, their
        // redaction, store errors. The PostgreSQL engine of the privacy
        // ledger lives in its own target so DifferentialPrivacy stays NIO-free.
        .target(name: "ModelSecStore", dependencies: ["ModelSecIO"]),
        .target(
            name: "ModelSecStorePostgres",
            dependencies: [
                "ModelSecStore", "ModelSecIO", "DifferentialPrivacy",
                // The PostgreSQL engine of the token service's state store
                // (PostgresTokenStore) implements TokenService's protocol.
                "TokenService",
                // The transparency log's records (ReleaseLogStores), on both engines.
                "TransparencyLog", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Signing keys that stay in a PKCS#11 token (HSM, SoftHSM2, KMS bridge).
        .target(name: "PKCS11Keys", dependencies: ["CPKCS11", "ModelSecCrypto", "ModelSecKeys", "ModelSecIO"]),

        // Transparency log of releases (C2SP tlog-tiles, signed notes, cosignatures, tlog-proof).
        .target(name: "TransparencyLog", dependencies: ["ModelSecCrypto", "ModelSecKeys", "ModelSecIO"]),

        .target(name: "ModelScanner", dependencies: ["ModelSecIO"]),
        .target(
            name: "ModelRelease",
            dependencies: [
                "ModelSecCrypto", "ModelSecIO", "ModelSecKeys",
                "ModelSigning", "ArtifactEncryption", "AccessTokens", "ModelScanner", "TransparencyLog",
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        .target(
            name: "PolicyCheck",
            dependencies: [
                "ModelSecCrypto", "ModelSecIO", "ModelSecKeys", "ModelSigning", "ModelRelease", "ModelScanner",
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // The OAuth 2.0 token service: config, client store, grants, HTTP server.
        .target(
            name: "TokenService",
            dependencies: [
                "ModelSecCrypto", "ModelSecIO", "ModelSecKeys", "AccessTokens", "ModelRelease", "PKCS11Keys",
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // Umbrella library and CLI.
        .target(
            name: "ModelSec",
            dependencies: [
                "ModelSecCrypto", "ModelSecIO", "ModelSecKeys",
                "ModelSigning", "ArtifactEncryption", "AccessTokens", "DifferentialPrivacy",
                "ModelScanner", "ModelRelease", "PolicyCheck", "PKCS11Keys", "TransparencyLog",
            ]
        ),
        .executableTarget(
            name: "modelsec",
            dependencies: [
                "ModelSec", "ModelSecStore", "ModelSecStorePostgres", "TokenService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            plugins: ["BuildCommit"]
        ),

        // Tests.
        .testTarget(name: "ModelSecCryptoTests", dependencies: ["ModelSecCrypto", "TestSupport"], exclude: ["Resources"]),
        .testTarget(name: "ModelSecKeysTests", dependencies: ["ModelSecKeys", "ModelSecCrypto", "ModelSecIO", "TestSupport"]),
        .testTarget(name: "ModelSigningTests", dependencies: ["ModelSigning", "ModelSecKeys", "ModelSecIO", "TestSupport"]),
        .testTarget(name: "ArtifactEncryptionTests", dependencies: ["ArtifactEncryption", "ModelSecKeys", "TestSupport"], exclude: ["reference_reader.py"]),
        .testTarget(name: "AccessTokensTests", dependencies: ["AccessTokens", "ModelSecKeys", "TestSupport"]),
        .testTarget(name: "DifferentialPrivacyTests", dependencies: ["DifferentialPrivacy", "ModelSecIO", "TestSupport"]),
        .testTarget(name: "ModelScannerTests", dependencies: ["ModelScanner", "TestSupport"]),
        .testTarget(name: "ModelReleaseTests", dependencies: ["ModelRelease", "ModelSecKeys", "ModelSecCrypto", "ModelSecIO", "ModelSigning", "ArtifactEncryption", "AccessTokens", "TransparencyLog", "TestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "PolicyCheckTests", dependencies: ["PolicyCheck", "ModelRelease", "ArtifactEncryption", "ModelSecKeys", "ModelSecCrypto", "ModelSecIO", "TestSupport"]),
        .testTarget(name: "ModelSecCLITests", dependencies: ["TestSupport"]),
        .testTarget(name: "PKCS11KeysTests", dependencies: ["PKCS11Keys", "ModelSecKeys", "ModelSecCrypto", "TestSupport"]),
        .testTarget(name: "TransparencyLogTests", dependencies: ["TransparencyLog", "ModelSecCrypto", "TestSupport"]),
        .testTarget(name: "ModelSecStoreTests", dependencies: ["ModelSecStore", "ModelSecStorePostgres", "DifferentialPrivacy", "ModelSecIO", "TestSupport",
                                                     "TransparencyLog", "TokenService",
                                                     .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "TokenServiceTests", dependencies: ["TokenService", "AccessTokens", "ModelSecKeys", "ModelSecCrypto", "ModelSecIO", "TestSupport",
                                                      .product(name: "Logging", package: "swift-log"), "ModelSecStore", "ModelSecStorePostgres"],
                    exclude: ["oauth_clients.py"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
    ],
    // Every target, tests included, builds in the Swift 6 language mode
    // (complete concurrency checking).
    swiftLanguageModes: [.v6]
)

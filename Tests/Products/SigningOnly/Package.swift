// swift-tools-version: 6.1
//
// An app that signs and verifies models with the `ModelSigning` product and
// nothing else from modelsec. The test that builds it replaces
// MODELSEC_PACKAGE_PATH with the checkout under test and MODELSEC_PACKAGE_NAME
// with that folder's name (SwiftPM names a path dependency after its folder).
import PackageDescription

let package = Package(
    name: "SigningOnly",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: "MODELSEC_PACKAGE_PATH"),
    ],
    targets: [
        .executableTarget(
            name: "SigningOnly",
            dependencies: [.product(name: "ModelSigning", package: "MODELSEC_PACKAGE_NAME")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)

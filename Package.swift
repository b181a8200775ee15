// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "mysehat",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mysehat", targets: ["mysehat"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        .target(name: "CLuaShim", dependencies: ["CLua"]),
        // Photo decoding and JPEG encoding on the system image libraries (libjpeg-dev, libpng-dev, libwebp-dev).
        .target(
            name: "CImageCodec",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp")]
        ),
        .target(
            name: "ServiceKit",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
            ]
        ),
        .target(
            name: "Store",
            dependencies: [
                "ServiceKit",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The raw C API, for the statement inspector's own connection and authorizer.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Groq",
            dependencies: [
                "ServiceKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LuaRuntime",
            dependencies: [
                "CLua", "CLuaShim", "ServiceKit", "Store", "Groq",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "ServiceKit", "LuaRuntime",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ConsentService",
            dependencies: [
                "ServiceKit", "Store",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Services/Consent"
        ),
        .target(
            name: "AuthService",
            dependencies: [
                "ServiceKit", "Store", "ConsentService",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Services/Auth"
        ),
        .target(
            name: "DiagnosticsService",
            dependencies: ["ServiceKit", "Store", "Groq", "CImageCodec"],
            path: "Sources/Services/Diagnostics"
        ),
        .executableTarget(
            name: "mysehat",
            dependencies: [
                "Gateway", "ServiceKit", "Store", "Groq", "ConsentService", "AuthService", "DiagnosticsService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Helpers the test targets share: a fake Groq API, a gateway launcher, an HTTP client.
        .target(
            name: "TestSupport",
            dependencies: [
                "Gateway", "ServiceKit", "Store", "LuaRuntime",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Test-only encoders for the image formats the product reads but never writes.
        .target(
            name: "CTestImageEncoders",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp")]
        ),
        .testTarget(name: "ServiceKitTests", dependencies: ["ServiceKit"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "ServiceKit"]),
        .testTarget(name: "GroqTests", dependencies: ["Groq", "TestSupport"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: ["Gateway", "ServiceKit", "Store", "LuaRuntime", "Groq", "TestSupport", "AuthService", "ConsentService"]),
        .testTarget(name: "AuthTests", dependencies: ["AuthService", "Gateway", "TestSupport"]),
        .testTarget(
            name: "DiagnosticsTests", dependencies: ["DiagnosticsService", "Gateway", "Groq", "TestSupport", "CTestImageEncoders"]),
        .testTarget(
            name: "ConsentTests",
            dependencies: ["ConsentService", "AuthService", "DiagnosticsService", "Gateway", "Store", "TestSupport", "LuaRuntime", "ServiceKit"]),
    ]
)

// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "svia",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "svia", targets: ["svia"]),
        .library(name: "Anonymizer", targets: ["Anonymizer"]),
        .library(name: "MediaIO", targets: ["MediaIO"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        // System-library shims.
        .systemLibrary(
            name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),

        // Tensor type, ops, BLAS calls, thread pool, safetensors reader.
        .target(
            name: "TensorCore", dependencies: ["COpenBLAS"],
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release))]),
        // FFmpeg: demux/decode -> RGB frames with timestamps; encode/mux; stills; container privacy.
        .target(name: "MediaIO", dependencies: ["CFFmpeg"]),
        // The pipeline: regions -> masks -> replacement -> composition; baseline methods.
        .target(name: "Anonymizer", dependencies: ["MediaIO", "TensorCore"]),
        // Architectures, tokenizer, schedulers, model folders.
        .target(name: "Networks", dependencies: ["TensorCore"]),
        // Thin command-line shell.
        .executableTarget(
            name: "svia",
            dependencies: ["Anonymizer", "MediaIO", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Release-build benchmark driver used by Scripts/bench.sh.
        .executableTarget(name: "sviabench", dependencies: ["Anonymizer", "MediaIO", "Networks", "TensorCore"]),

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO"]),
        .testTarget(name: "AnonymizerTests", dependencies: ["Anonymizer", "MediaIO"]),
        .testTarget(name: "CLITests", dependencies: ["MediaIO"]),
        .testTarget(name: "NetworksTests", dependencies: ["Networks"], resources: [.copy("Fixtures")]),
    ]
)

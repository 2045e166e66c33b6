// swift-tools-version:6.0
import PackageDescription

// Release builds keep Swift's overflow and bounds checks everywhere: TensorCore and Networks also read the
// files that arrive from outside (safetensors, ONNX, tokenizers, configs), and -Ounchecked would remove every
// check on that path. The hot loops already work on unsafe pointers, so they lose little. On x86-64 the
// numeric targets get AVX2+FMA code so SIMD8 maps to ymm.
#if arch(x86_64)
let optimizedNumerics: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release))]
#else
let optimizedNumerics: [SwiftSetting] = []
#endif

let package = Package(
    name: "svia",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "svia", targets: ["svia"]),
        .library(name: "Anonymizer", targets: ["Anonymizer"]),
        .library(name: "MediaIO", targets: ["MediaIO"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Networks", targets: ["Networks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
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
            swiftSettings: optimizedNumerics),
        // Architectures (SegFormer, Stable Diffusion 2), tokenizer, schedulers, model folders, and ONNX
        // graphs for the small shipped detectors (faces, text regions); all on TensorCore.
        .target(
            name: "Networks",
            dependencies: ["TensorCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: optimizedNumerics),
        // FFmpeg: demux/decode -> RGB frames with timestamps; encode/mux; stills; container privacy.
        .target(name: "MediaIO", dependencies: ["CFFmpeg"]),
        // The pipeline: regions -> masks -> replacement -> composition; baseline methods.
        .target(name: "Anonymizer", dependencies: ["MediaIO", "Networks", "TensorCore"]),
        // Thin command-line shell.
        .executableTarget(
            name: "svia",
            dependencies: ["Anonymizer", "MediaIO", "Networks", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Release-build benchmark driver used by Scripts/bench.sh.
        .executableTarget(name: "sviabench", dependencies: ["Anonymizer", "MediaIO", "Networks", "TensorCore"]),

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"], resources: [.copy("Fixtures")]),
        // A loopback Hugging Face hub for the model store's tests (NetworksTests, CLITests).
        .target(name: "HubTestSupport", dependencies: ["Networks"], path: "Tests/HubTestSupport"),
        .testTarget(name: "NetworksTests", dependencies: ["Networks", "MediaIO", "TensorCore", "HubTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO"]),
        .testTarget(name: "AnonymizerTests", dependencies: ["Anonymizer", "MediaIO"]),
        .testTarget(name: "CLITests", dependencies: ["MediaIO", "Networks", "TensorCore", "HubTestSupport"]),
    ]
)

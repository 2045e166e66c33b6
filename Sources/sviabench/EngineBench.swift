import Foundation
import TensorCore

/// `sviabench engine [CASE...]`: TensorCore kernels on SD UNet and SegFormer shapes, plus the raw OpenBLAS
/// SGEMM rate of this run, each with its GFLOP/s. Scripts/bench/engine.sh adds the PyTorch timings.
enum EngineBench {
    struct Case {
        var name: String
        var flops: Double
        var workspaceBytes: Int?
        var prepare: () -> () -> Void  // builds inputs once, returns the timed body
    }

    static func run(_ args: [String]) {
        // SVIA_WINOGRAD_TILE=2|4 forces a Winograd tile, 0 forces im2col (for comparing the lowerings).
        let winogradTile = ProcessInfo.processInfo.environment["SVIA_WINOGRAD_TILE"].flatMap { Int($0) }
        BLAS.threads = BLAS.standaloneThreads
        var state: UInt64 = 0x5EED
        func random(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape) { p in
                for i in 0..<p.count {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    p[i] = Float(Int32(truncatingIfNeeded: state >> 32)) / Float(1 << 31)
                }
            }
        }
        var cases: [Case] = []
        cases.append(Case(name: "sgemm_1024", flops: 2 * pow(1024, 3), workspaceBytes: nil) {
            let a = random([1024, 1024]), b = random([1024, 1024])
            var c = Tensor.zeros([1024, 1024])
            return {
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            BLAS.sgemm(m: 1024, n: 1024, k: 1024, a: pa.baseAddress!, lda: 1024, b: pb.baseAddress!,
                                       ldb: 1024, c: pc.baseAddress!, ldc: 1024)
                        }
                    }
                }
            }
        })
        for (c, s) in [(320, 64), (640, 32), (1280, 16)] {
            for n in [1, 2] {
                let flops = 2.0 * Double(n * c * c * 9 * s * s)
                cases.append(Case(name: "conv3x3_\(c)ch_\(s)x\(s)_b\(n)", flops: flops,
                                  workspaceBytes: ConvWorkspace.conv2dBytes) {
                    let x = random([n, c, s, s])
                    let w = Conv2DWeights(weight: random([c, c, 3, 3]).scaled(0.02), bias: random([c]), padding: (1, 1),
                                          winograd: winogradTile != 0, winogradTile: winogradTile)
                    return { _ = Tensor.conv2d(x, w) }
                })
            }
        }
        for l in [4096, 8192] {
            cases.append(Case(name: "attention_5h_\(l)tok_d64", flops: 2.0 * 5 * Double(l) * Double(l) * 128,
                              workspaceBytes: AttentionBlocks.workspaceBytes) {
                let q = random([1, 5, l, 64]), k = random([1, 5, l, 64]), v = random([1, 5, l, 64])
                return { _ = Tensor.scaledDotProductAttention(q, k, v) }
            })
        }
        cases.append(Case(name: "depthwise3x3_128ch_128x256", flops: 2.0 * 128 * 9 * 128 * 256,
                          workspaceBytes: 0) {
            let x = random([1, 128, 128, 256]), w = random([128, 1, 3, 3]), b = random([128])
            return { _ = Tensor.conv2d(x, weight: w, bias: b, padding: 1, groups: 128) }
        })
        cases.append(Case(name: "attention_1h_32768q_512k_d32", flops: 2.0 * 32768 * 512 * 64,
                          workspaceBytes: AttentionBlocks.workspaceBytes) {
            let q = random([1, 1, 32768, 32]), k = random([1, 1, 512, 32]), v = random([1, 1, 512, 32])
            return { _ = Tensor.scaledDotProductAttention(q, k, v) }
        })

        let wanted = Set(args)
        var sgemmRate: Double?
        for c in cases where wanted.isEmpty || wanted.contains(c.name) || c.name == "sgemm_1024" {
            let body = c.prepare()
            let cpu0 = cpuSeconds()
            let seconds = Measure.median(runs: 3, warmup: 1, body)
            let cpu = (cpuSeconds() - cpu0) / 4
            let rate = c.flops / seconds / 1e9
            if c.name == "sgemm_1024" { sgemmRate = rate }
            // CPU seconds per run: a steadier figure than wall time when neighbours load the machine.
            var extra: [(String, String)] = [("gflops", String(format: "%.1f", rate)), ("cpu_s", String(format: "%.4f", cpu))]
            extra.append(("sgemm_gflops", sgemmRate.map { String(format: "%.1f", $0) } ?? "null"))
            if let ws = c.workspaceBytes { extra.append(("workspace_mb", String(format: "%.1f", Double(ws) / 1_048_576))) }
            BenchLine(area: "engine", caseName: c.name, sviaSeconds: seconds, extra: extra).emit()
        }
    }
}

/// User plus system CPU seconds of this process so far.
private func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
}

extension Tensor {
    fileprivate func scaled(_ s: Float) -> Tensor {
        var t = self
        t.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= s } }
        return t
    }
}

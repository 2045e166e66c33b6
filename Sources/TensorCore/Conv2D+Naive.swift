extension Tensor {
    /// Reference for `conv2d`: the direct seven-loop convolution with Double accumulation.
    /// Layout: input [N, Cin, H, W], weight [Cout, Cin/groups, kH, kW], bias [Cout] → [N, Cout, OH, OW].
    public static func naiveConv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                                   padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
                                   groups: Int = 1) -> Tensor {
        let n = input.shape[0], cin = input.shape[1], h = input.shape[2], w = input.shape[3]
        let cout = weight.shape[0], cinG = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3]
        precondition(cinG * groups == cin && cout % groups == 0, "naiveConv2d: bad groups")
        let coutG = cout / groups
        let oh = (h + 2 * padding.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (w + 2 * padding.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        let x = input.scalars, wt = weight.scalars, b = bias?.scalars
        var out = [Float](repeating: 0, count: n * cout * oh * ow)
        for i in 0..<n {
            for oc in 0..<cout {
                let gr = oc / coutG
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var s = Double(b?[oc] ?? 0)
                        for c in 0..<cinG {
                            for ki in 0..<kh {
                                for kj in 0..<kw {
                                    let y = oy * stride.0 - padding.0 + ki * dilation.0
                                    let xx = ox * stride.1 - padding.1 + kj * dilation.1
                                    guard y >= 0 && y < h && xx >= 0 && xx < w else { continue }
                                    let xv = x[((i * cin + gr * cinG + c) * h + y) * w + xx]
                                    s += Double(xv) * Double(wt[((oc * cinG + c) * kh + ki) * kw + kj])
                                }
                            }
                        }
                        out[((i * cout + oc) * oh + oy) * ow + ox] = Float(s)
                    }
                }
            }
        }
        return Tensor(shape: [n, cout, oh, ow], scalars: out)
    }

    /// Reference for `convTranspose2d`: every input element scatters its weighted kernel into the output.
    /// Layout: input [N, Cin, H, W], weight [Cin, Cout/groups, kH, kW], bias [Cout] → [N, Cout, OH, OW].
    public static func naiveConvTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil,
                                            stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                                            outputPadding: (Int, Int) = (0, 0), groups: Int = 1,
                                            dilation: (Int, Int) = (1, 1)) -> Tensor {
        let n = input.shape[0], cin = input.shape[1], h = input.shape[2], w = input.shape[3]
        let coutG = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3]
        let cout = coutG * groups, cinG = cin / groups
        let oh = (h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1
        let ow = (w - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1
        let x = input.scalars, wt = weight.scalars, b = bias?.scalars
        var out = [Double](repeating: 0, count: n * cout * oh * ow)
        for i in 0..<n {
            for c in 0..<cin {
                let gr = c / cinG
                for iy in 0..<h {
                    for ix in 0..<w {
                        let xv = Double(x[((i * cin + c) * h + iy) * w + ix])
                        for co in 0..<coutG {
                            for ki in 0..<kh {
                                for kj in 0..<kw {
                                    let y = iy * stride.0 - padding.0 + ki * dilation.0
                                    let xx = ix * stride.1 - padding.1 + kj * dilation.1
                                    guard y >= 0 && y < oh && xx >= 0 && xx < ow else { continue }
                                    let oc = gr * coutG + co
                                    out[((i * cout + oc) * oh + y) * ow + xx] +=
                                        xv * Double(wt[((c * coutG + co) * kh + ki) * kw + kj])
                                }
                            }
                        }
                    }
                }
            }
        }
        if let b {
            for j in 0..<out.count { out[j] += Double(b[(j / (oh * ow)) % cout]) }
        }
        return Tensor(shape: [n, cout, oh, ow], scalars: out.map(Float.init))
    }
}

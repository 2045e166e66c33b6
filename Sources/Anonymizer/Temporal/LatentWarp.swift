import TensorCore

/// Carries per-frame state (diffusion latents, masks) from the previous frame to the current one along a
/// `MotionField`: out(p) = previous(p + d), so the warped previous result lines up with current content.
public enum LatentWarp {
    /// Backward-warps latents of shape [N, C, h, w] (every image and channel with the same motion).
    /// One latent cell spans `pixelsPerCell` of the field's pixels (8 for Stable Diffusion latents when
    /// motion was measured at the VAE input size); the field is area-averaged onto the h x w grid and
    /// divided by `pixelsPerCell`. Sampling is bilinear with coordinates clamped to the border; cells with
    /// integer motion are copied exactly, so a zero field returns the input bit for bit.
    public static func warp(_ latents: Tensor, field: MotionField, pixelsPerCell: Int) -> Tensor {
        precondition(latents.rank == 4, "LatentWarp.warp: latents of shape \(latents.shape), expected [N, C, h, w]")
        precondition(pixelsPerCell > 0, "LatentWarp.warp: pixelsPerCell \(pixelsPerCell)")
        let n = latents.shape[0], c = latents.shape[1], h = latents.shape[2], w = latents.shape[3]
        let motion = field.cellMotion(gridColumns: w, gridRows: h, pixelsPerCell: pixelsPerCell)
        let scale = 1 / Float(pixelsPerCell)
        if !motion.dx.contains(where: { $0 != 0 }) && !motion.dy.contains(where: { $0 != 0 }) {
            return latents.contiguous()
        }
        // Per output cell: the four source indices within a plane and their weights.
        let cells = h * w
        var index = [Int](repeating: 0, count: cells * 4)
        var weight = [Float](repeating: 0, count: cells * 4)
        for y in 0..<h {
            for x in 0..<w {
                let k = y * w + x
                let sx = min(Float(w - 1), max(0, Float(x) + motion.dx[k] * scale))
                let sy = min(Float(h - 1), max(0, Float(y) + motion.dy[k] * scale))
                let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                let fx = sx - Float(x0), fy = sy - Float(y0)
                let x1 = fx > 0 ? x0 + 1 : x0, y1 = fy > 0 ? y0 + 1 : y0
                index[4 * k] = y0 * w + x0; weight[4 * k] = (1 - fx) * (1 - fy)
                index[4 * k + 1] = y0 * w + x1; weight[4 * k + 1] = fx * (1 - fy)
                index[4 * k + 2] = y1 * w + x0; weight[4 * k + 2] = (1 - fx) * fy
                index[4 * k + 3] = y1 * w + x1; weight[4 * k + 3] = fx * fy
            }
        }
        let input = latents.scalars
        var out = [Float](repeating: 0, count: input.count)
        for plane in 0..<(n * c) {
            let base = plane * cells
            for k in 0..<cells {
                let i = 4 * k
                if weight[i] == 1 {
                    out[base + k] = input[base + index[i]]
                } else {
                    out[base + k] = weight[i] * input[base + index[i]] + weight[i + 1] * input[base + index[i + 1]]
                        + weight[i + 2] * input[base + index[i + 2]] + weight[i + 3] * input[base + index[i + 3]]
                }
            }
        }
        return Tensor(shape: latents.shape, scalars: out)
    }

    /// Backward-warps a mask with nearest sampling, coordinates clamped to the border (a region touching
    /// the edge stays at the edge rather than vanishing). The mask may be at another size than the
    /// field; positions and motion are scaled between the two.
    public static func warp(_ mask: Mask, field: MotionField) -> Mask {
        let w = mask.width, h = mask.height
        if field.isStatic() { return mask }
        let sx = Float(field.width) / Float(w), sy = Float(field.height) / Float(h)
        var out = Mask(width: w, height: h)
        for y in 0..<h {
            let fy = Int((Float(y) + 0.5) * sy)
            for x in 0..<w {
                let m = field.motion(atX: Int((Float(x) + 0.5) * sx), y: fy)
                let px = min(w - 1, max(0, Int((Float(x) + m.dx / sx).rounded())))
                let py = min(h - 1, max(0, Int((Float(y) + m.dy / sy).rounded())))
                out.bits[y * w + x] = mask.bits[py * w + px]
            }
        }
        return out
    }
}

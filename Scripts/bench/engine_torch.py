"""PyTorch timings for the engine benchmark's cases (same shapes as Sources/sviabench/EngineBench.swift).

Prints one JSON object per case: {"case": name, "torch_s": median seconds, "torch_cpu_s": CPU seconds per run}.
torch.set_num_threads(2), inference_mode, median of 3 after one warm-up. Usage: engine_torch.py [CASE...]
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

from timing import median_of_3


def cases():
    yield "sgemm_1024", lambda: (lambda a, b: lambda: a @ b)(torch.randn(1024, 1024), torch.randn(1024, 1024))
    for c, s in [(320, 64), (640, 32), (1280, 16)]:
        for n in [1, 2]:
            def make(c=c, s=s, n=n):
                x, w, b = torch.randn(n, c, s, s), torch.randn(c, c, 3, 3) * 0.02, torch.randn(c)
                return lambda: F.conv2d(x, w, b, padding=1)
            yield f"conv3x3_{c}ch_{s}x{s}_b{n}", make
    for l in [4096, 8192]:
        def make(l=l):
            q, k, v = (torch.randn(1, 5, l, 64) for _ in range(3))
            return lambda: F.scaled_dot_product_attention(q, k, v)
        yield f"attention_5h_{l}tok_d64", make

    def depthwise():
        x, w, b = torch.randn(1, 128, 128, 256), torch.randn(128, 1, 3, 3), torch.randn(128)
        return lambda: F.conv2d(x, w, b, padding=1, groups=128)
    yield "depthwise3x3_128ch_128x256", depthwise

    def efficient():
        q, k, v = torch.randn(1, 1, 32768, 32), torch.randn(1, 1, 512, 32), torch.randn(1, 1, 512, 32)
        return lambda: F.scaled_dot_product_attention(q, k, v)
    yield "attention_1h_32768q_512k_d32", efficient


def main():
    torch.set_num_threads(2)
    wanted = set(sys.argv[1:])
    with torch.inference_mode():
        for name, make in cases():
            if wanted and name not in wanted and name != "sgemm_1024":
                continue
            wall, cpu = median_of_3(make())
            print(json.dumps({"case": name, "torch_s": wall, "torch_cpu_s": cpu}), flush=True)


if __name__ == "__main__":
    main()

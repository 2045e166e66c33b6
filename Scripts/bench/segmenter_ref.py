#!/usr/bin/env python3
"""Reference timings for the segmenter benchmark: random-weight SegformerForSemanticSegmentation (mit configs,
19 labels) in PyTorch and in onnxruntime (torch.onnx.export, TorchScript exporter, opset 17, fixed shape).

Usage: segmenter_ref.py CACHE_DIR CASE...   (CASE = b0-512x1024, b0-1024x2048, b2-512x1024, ...)
Saves each model once under CACHE_DIR/<model>/ (config.json + model.safetensors, what svia loads) and each ONNX
export under CACHE_DIR/<case>.onnx; prints per case {"case", "model_dir", "torch_s", "onnxruntime_s"}: medians of
3 after one warm-up, 2 threads (torch.set_num_threads(2); ORT intra_op 2, inter_op 1, ORT_ENABLE_ALL).
"""
import json
import os
import sys
import time

import torch
import transformers
from transformers import SegformerConfig, SegformerForSemanticSegmentation

assert torch.__version__.split("+")[0] == "2.15.0" and transformers.__version__ == "5.23.0"

MODELS = {
    "b0": dict(hidden_sizes=[32, 64, 160, 256], depths=[2, 2, 2, 2], decoder_hidden_size=256),
    "b1": dict(hidden_sizes=[64, 128, 320, 512], depths=[2, 2, 2, 2], decoder_hidden_size=256),
    "b2": dict(hidden_sizes=[64, 128, 320, 512], depths=[3, 4, 6, 3], decoder_hidden_size=768),
}


def median(fn, runs=3):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def model_for(cache, name):
    folder = os.path.join(cache, name)
    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        torch.manual_seed(0)
        config = SegformerConfig(num_attention_heads=[1, 2, 5, 8], sr_ratios=[8, 4, 2, 1], num_labels=19, **MODELS[name])
        SegformerForSemanticSegmentation(config).eval().save_pretrained(folder)
    return folder, SegformerForSemanticSegmentation.from_pretrained(folder).eval()


class Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values).logits


def main():
    cache, cases = sys.argv[1], sys.argv[2:]
    os.makedirs(cache, exist_ok=True)
    torch.set_num_threads(2)
    import onnxruntime as ort

    for case in cases:
        name, size = case.split("-")
        height, width = map(int, size.split("x"))
        folder, model = model_for(cache, name)
        x = torch.randn(1, 3, height, width, generator=torch.Generator().manual_seed(1))
        with torch.inference_mode():
            torch_s = median(lambda: model(pixel_values=x))
        onnx_path = os.path.join(cache, f"{case}.onnx")
        if not os.path.exists(onnx_path):
            torch.onnx.export(Logits(model), (x,), onnx_path, opset_version=17, do_constant_folding=True,
                              input_names=["pixel_values"], output_names=["logits"], dynamo=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
        feed = {"pixel_values": x.numpy()}
        ort_s = median(lambda: session.run(None, feed))
        del session
        print(json.dumps({"case": case, "model_dir": folder, "torch_s": round(torch_s, 4),
                          "onnxruntime_s": round(ort_s, 4)}), flush=True)


if __name__ == "__main__":
    main()

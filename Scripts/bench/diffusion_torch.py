"""PyTorch timings for the diffusion benchmark's cases (same models and shapes as Sources/sviabench/DiffusionBench.swift).

Models are diffusers 0.42.1 UNet2DConditionModel / AutoencoderKL and transformers CLIPTextModel built from the
stabilityai/stable-diffusion-2-inpainting configurations in Tests/NetworksTests/Fixtures/diffusion/configs (random
weights, float32). torch.set_num_threads(2), inference_mode, median of 3 after one warm-up.
Prints one JSON object per case: {"case", "torch_s", "torch_cpu_s", "torch_peak_rss_mb"}. Usage: diffusion_torch.py CASE
"""
import json
import os
import resource
import sys
import time

import torch

from timing import median_of_3

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "NetworksTests", "Fixtures", "diffusion",
                       "configs", "stable-diffusion-2-inpainting")


def config(name):
    with open(os.path.join(CONFIGS, name + ".json")) as f:
        return {k: v for k, v in json.load(f).items() if not k.startswith("_")}


def make(case):
    if case == "text_encoder_77tok_b2":
        from transformers import CLIPTextConfig, CLIPTextModel
        model = CLIPTextModel(CLIPTextConfig(**config("text_encoder"))).eval()
        ids = torch.tensor([[(i * 37 + b * 11) % 49408 for i in range(77)] for b in range(2)])
        return lambda: model(ids)
    if case.startswith("unet_"):
        from diffusers import UNet2DConditionModel
        unet = UNet2DConditionModel.from_config(config("unet")).eval()
        w = 64 if case == "unet_64x64_b2" else 128
        x, context = torch.randn(2, 9, 64, w), torch.randn(2, 77, 1024)
        return lambda: unet(x, 501, encoder_hidden_states=context)
    from diffusers import AutoencoderKL
    vae = AutoencoderKL.from_config(config("vae")).eval()
    if case == "vae_decode_1920x1080_tiled":
        vae.enable_tiling()
        latents = torch.randn(1, 4, 135, 240)
        return lambda: vae.decode(latents)
    _, op, size = case.split("_")
    w, h = (int(v) for v in size.split("x"))
    if op == "encode":
        image = torch.randn(1, 3, h, w)
        return lambda: vae._encode(image)
    latents = torch.randn(1, 4, h // 8, w // 8)
    return lambda: vae.decode(latents)


def main():
    torch.set_num_threads(2)
    for case in sys.argv[1:]:
        with torch.inference_mode():
            wall, cpu = median_of_3(make(case))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"case": case, "torch_s": wall, "torch_cpu_s": cpu, "torch_peak_rss_mb": peak}),
              flush=True)


if __name__ == "__main__":
    main()

"""onnxruntime timings for the diffusion benchmark's cases (same models and shapes as diffusion_torch.py).

Each case's module (diffusers UNet2DConditionModel / AutoencoderKL, transformers CLIPTextModel, built with random
weights from the stable-diffusion-2-inpainting configurations) is exported once with the TorchScript exporter
(torch.onnx.export, dynamo=False, opset 17, fixed shapes, constant folding, external data when the model is over
2 GB) into $SVIA_ONNX_CACHE (default ~/.cache/svia/onnx/), reused by later runs. The export runs in a child process,
so this process only loads onnxruntime and its peak RSS is the session's. Session: CPU provider,
intra_op_num_threads=2, inter_op_num_threads=1, ORT_ENABLE_ALL; median of 3 after one warm-up.
Prints one JSON object: {"case", "ort_s", "ort_peak_rss_mb"}; exits non-zero with a message on stderr when the
export fails. Usage: diffusion_ort.py CASE
"""
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "..", "..", "Tests", "NetworksTests", "Fixtures", "diffusion", "configs",
                       "stable-diffusion-2-inpainting")
CACHE = os.environ.get("SVIA_ONNX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "svia", "onnx"))
CASES = ["text_encoder_77tok_b2", "unet_64x64_b2", "unet_128x64_b2", "vae_encode_512x512", "vae_decode_512x512",
         "vae_encode_1024x512", "vae_decode_1024x512"]


def component(case):
    if case.startswith("text_encoder"):
        return "text_encoder"
    return "unet" if case.startswith("unet_") else "vae"


def config(name):
    with open(os.path.join(CONFIGS, name + ".json")) as f:
        return {k: v for k, v in json.load(f).items() if not k.startswith("_")}


def inputs(case):
    """Input name -> (shape, dtype) for the case; the same shapes as diffusion_torch.py."""
    if case == "text_encoder_77tok_b2":
        return {"input_ids": ((2, 77), "int64")}
    if case.startswith("unet_"):
        w = 64 if case == "unet_64x64_b2" else 128
        return {"sample": ((2, 9, 64, w), "float32"), "timestep": ((), "int64"),
                "encoder_hidden_states": ((2, 77, 1024), "float32")}
    _, op, size = case.split("_")
    w, h = (int(v) for v in size.split("x"))
    if op == "encode":
        return {"image": ((1, 3, h, w), "float32")}
    return {"latents": ((1, 4, h // 8, w // 8), "float32")}


def model_path(case):
    key = hashlib.sha256()
    with open(os.path.join(CONFIGS, component(case) + ".json"), "rb") as f:
        key.update(f.read())
    key.update(json.dumps(inputs(case), sort_keys=True).encode())
    return os.path.join(CACHE, f"{case}-{key.hexdigest()[:12]}", "model.onnx")


def export(case, path):
    """Child process: build the module, export it to `path` (a fresh directory's model.onnx)."""
    import torch

    if case == "text_encoder_77tok_b2":
        from transformers import CLIPTextConfig, CLIPTextModel
        model = CLIPTextModel(CLIPTextConfig(**config("text_encoder"))).eval()

        class Wrap(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids):
                return self.model(input_ids).last_hidden_state
    elif case.startswith("unet_"):
        from diffusers import UNet2DConditionModel
        model = UNet2DConditionModel.from_config(config("unet")).eval()

        class Wrap(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, sample, timestep, encoder_hidden_states):
                return self.model(sample, timestep, encoder_hidden_states=encoder_hidden_states).sample
    else:
        from diffusers import AutoencoderKL
        model = AutoencoderKL.from_config(config("vae")).eval()
        encode = case.split("_")[1] == "encode"

        class Wrap(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, x):
                return self.model._encode(x) if encode else self.model.decode(x).sample

    args = []
    for shape, dtype in inputs(case).values():
        if dtype == "int64":
            args.append(torch.full(shape, 501, dtype=torch.int64) if shape == () else
                        torch.randint(0, 49408, shape, dtype=torch.int64))
        else:
            args.append(torch.randn(shape))
    big = sum(p.numel() * p.element_size() for p in model.parameters()) > 2 * 1024 ** 3
    with torch.no_grad():
        torch.onnx.export(Wrap().eval(), tuple(args), path, input_names=list(inputs(case)), output_names=["out"],
                          opset_version=17, do_constant_folding=True, dynamo=False,
                          external_data=big)


def ensure_model(case):
    path = model_path(case)
    if os.path.exists(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-", dir=CACHE)
    try:
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--export", case,
                            os.path.join(tmp, "model.onnx")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-4000:])
            raise SystemExit(f"diffusion_ort.py: ONNX export of {case} failed")
        os.rename(tmp, os.path.dirname(path))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--export":
        export(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        raise SystemExit(f"usage: diffusion_ort.py CASE (one of {', '.join(CASES)})")
    case = sys.argv[1]
    path = ensure_model(case)

    import numpy as np
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {}
    for i in session.get_inputs():
        shape, dtype = inputs(case)[i.name]
        if dtype == "int64":
            feed[i.name] = (np.array(501, dtype=np.int64) if shape == () else
                            rng.integers(0, 49408, size=shape, dtype=np.int64))
        else:
            feed[i.name] = rng.standard_normal(shape, dtype=np.float32)
    session.run(None, feed)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"case": case, "ort_s": sorted(times)[1], "ort_peak_rss_mb": peak}), flush=True)


if __name__ == "__main__":
    main()

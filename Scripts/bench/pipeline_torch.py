#!/usr/bin/env python3
"""PyTorch reference for the pipeline benchmark: the work of `svia anonymize --method svia --preset P` on one
still, done with transformers + diffusers from the same bench hub (Scripts/bench/make_bench_hub.py).

usage: pipeline_torch.py --case C --image STILL --preset P --work-size WxH --categories a,b,...
                         [--steps N --harmonizer-steps H]

Work, as the preset describes it (PRESETS below, after SVIASettings.swift): resize the still to the work size;
SegFormer-b0 forward and argmax; inpainting, one pipeline call per category (paper: all five, empty or not;
default: the categories svia painted, a list taken from svia's report of the same run, including the face and
text regions of its detectors, for which a pass of the same cost runs over the segmenter's regions) or one call
over their union (fast: sd-turbo, whose 4-channel UNet diffusers' inpaint pipeline runs by latent blending), with
the preset's model, sampler, steps and guidance; then one img2img harmonizer pass over the composite. The tiny
autoencoder (fast) replaces the models' own, which are then not loaded. `--steps` / `--harmonizer-steps` override
the two schedules as svia's options of the same names do.
torch.set_num_threads(2), inference_mode, float32 (the fp16 files are upcast on load), one run like svia's.

Prints {"case", "torch_s", "torch_cpu_s", "torch_peak_rss_mb", "torch_load_s", "torch_unet_evals"}: torch_s is
load + run (imports excluded), torch_unet_evals counts UNet batch elements (a guided step is two).
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import diffusers
import torch
import transformers

assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert diffusers.__version__ == "0.42.1" and transformers.__version__ == "5.23.0"

SD2_INPAINT = "stabilityai/stable-diffusion-2-inpainting"
SD2 = "stabilityai/stable-diffusion-2"
TURBO = "stabilityai/sd-turbo"
TAESD = "madebyollin/taesd"
SEGFORMER = "nvidia/segformer-b0-finetuned-cityscapes-1024-1024"

# Stage settings per preset, as Sources/Anonymizer/SVIA/SVIASettings.swift sets them. "steps" is the schedule
# length; img2img runs int(steps * strength) of them. passes: one inpainting call per category, or one for all.
PRESETS = {
    "paper": {
        "inpaint": dict(repo=SD2_INPAINT, steps=50, guidance=9.0, scheduler="ddim", eta=1.0, vae="kl",
                        passes="per-category", skip_empty=False, mapping="paper"),
        "harmonize": dict(repo=SD2, steps=50, strength=0.2, guidance=9.0, scheduler="ddim", eta=1.0, vae="kl"),
    },
    "default": {
        "inpaint": dict(repo=SD2_INPAINT, steps=25, guidance=9.0, scheduler="ddim", eta=0.0, vae="kl",
                        passes="per-category", skip_empty=True, mapping="privacy"),
        "harmonize": dict(repo=SD2, steps=25, strength=0.2, guidance=9.0, scheduler="ddim", eta=0.0, vae="kl"),
    },
    "fast": {
        "inpaint": dict(repo=TURBO, steps=1, guidance=0.0, scheduler="euler", vae="tiny",
                        passes="single", skip_empty=True, mapping="privacy"),
        "harmonize": dict(repo=TURBO, steps=2, strength=0.5, guidance=0.0, scheduler="euler", vae="tiny"),
    },
}

# Cityscapes train ids per category, in svia's processing order (Sources/Anonymizer/PrivacyCategory.swift): the
# "privacy" mapping, and the reference's narrow "paper" one (the first id of each).
CATEGORY_TRAIN_IDS = {"road": [0, 1], "vehicle": [13, 14, 15, 16, 17, 18], "person": [11, 12],
                      "traffic-sign": [7, 6], "building": [2, 3, 4]}
WORDS = {"road": "road", "vehicle": "car", "person": "person", "traffic-sign": "traffic sign", "building": "building"}
PROMPT = "masterpiece, realistic, cityscapes, street, {}, {}"
NEGATIVE = "watermark, username, error, anime, nsfw, low quality, lowres, {}"
COMBINED = ("masterpiece, realistic, cityscapes, street, road, car, person, building",
            "watermark, username, error, anime, nsfw, low quality, lowres")
# Regions of svia's detectors (faces, text) get passes of their own with these prompts.
DETECTED = {"face": (PROMPT.format("person", "real"), NEGATIVE.format("no_humans")),
            "text": ("masterpiece, realistic, cityscapes, street, plain surface, no_humans",
                     NEGATIVE.format("text, letters, numbers, human"))}
HARMONIZE_PROMPT = "masterpiece, best quality, realistic, photo, street, cityscapes, traffic"
HARMONIZE_NEGATIVE = "watermark, username, error, anime, nsfw, low quality, lowres, bad face"


def load_pipeline(cls, repo, vae=None):
    """A pipeline from the hub cache, each weights file in whatever dtype the cache holds it (the catalog's files:
    float32 or fp16), upcast to float32."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from huggingface_hub import snapshot_download
    from transformers import CLIPTextModel

    folder = snapshot_download(repo, local_files_only=True)

    def variant(component):
        plain = ("diffusion_pytorch_model.safetensors", "model.safetensors")
        return None if any(os.path.exists(os.path.join(folder, component, n)) for n in plain) else "fp16"

    kinds = [("unet", UNet2DConditionModel), ("text_encoder", CLIPTextModel)]
    if vae is None:
        kinds.append(("vae", AutoencoderKL))
    parts = {name: kind.from_pretrained(folder, subfolder=name, variant=variant(name), dtype=torch.float32)
             for name, kind in kinds}
    if vae is not None:
        parts["vae"] = vae
    return cls.from_pretrained(folder, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
                               **parts)


def scheduler_for(pipe, name):
    from diffusers import DDIMScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler
    cls = {"ddim": DDIMScheduler, "euler": EulerDiscreteScheduler, "euler_a": EulerAncestralDiscreteScheduler}[name]
    return cls.from_config(pipe.scheduler.config)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--case", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--preset", required=True)
    p.add_argument("--work-size", default="1024x512")
    p.add_argument("--categories", required=True)
    p.add_argument("--steps", type=int)
    p.add_argument("--harmonizer-steps", type=int)
    a = p.parse_args()
    if a.preset not in PRESETS:
        raise SystemExit(f"pipeline_torch.py: no reference for preset {a.preset}")
    preset = {k: dict(v) for k, v in PRESETS[a.preset].items()}
    if a.steps:
        preset["inpaint"]["steps"] = a.steps
    if a.harmonizer_steps:
        preset["harmonize"]["steps"] = a.harmonizer_steps
    width, height = (int(v) for v in a.work_size.split("x"))
    s = preset["inpaint"]
    given = [c for c in a.categories.split(",") if c]
    # svia's order; the paper preset paints every category, empty or not.
    categories = [c for c in CATEGORY_TRAIN_IDS if c in given or not s["skip_empty"]]
    detected = [c for c in DETECTED if c in given]
    train_ids = {c: ids[:1] if s["mapping"] == "paper" else ids for c, ids in CATEGORY_TRAIN_IDS.items()}
    torch.set_num_threads(2)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from diffusers import AutoencoderTiny, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline
    from PIL import Image
    from transformers import SegformerForSemanticSegmentation

    cpu0, t0 = time.process_time(), time.perf_counter()
    segformer = SegformerForSemanticSegmentation.from_pretrained(SEGFORMER, local_files_only=True).eval()
    # The tiny autoencoder replaces the models' own, which then are not loaded (as svia does).
    tiny = (AutoencoderTiny.from_pretrained(TAESD, dtype=torch.float32, local_files_only=True)
            if preset["inpaint"]["vae"] == "tiny" else None)
    inpaint = load_pipeline(StableDiffusionInpaintPipeline, preset["inpaint"]["repo"], tiny)
    harm_repo = preset["harmonize"]["repo"]
    if harm_repo == preset["inpaint"]["repo"]:
        # One model for both stages (sd-turbo): the img2img pipeline shares the inpainter's modules.
        shared = ("vae", "text_encoder", "tokenizer", "unet", "scheduler", "safety_checker", "feature_extractor",
                  "image_encoder")
        harmonize = StableDiffusionImg2ImgPipeline(
            **{k: v for k, v in inpaint.components.items() if k in shared}, requires_safety_checker=False)
    else:
        harmonize = load_pipeline(StableDiffusionImg2ImgPipeline, harm_repo, tiny)
    for pipe, stage in ((inpaint, preset["inpaint"]), (harmonize, preset["harmonize"])):
        pipe.scheduler = scheduler_for(pipe, stage["scheduler"])
        pipe.set_progress_bar_config(disable=True)
    evals = [0]
    for unet in {id(inpaint.unet): inpaint.unet, id(harmonize.unet): harmonize.unet}.values():
        unet.register_forward_pre_hook(lambda m, args, kw: evals.__setitem__(0, evals[0] + args[0].shape[0]),
                                       with_kwargs=True)
    load_s = time.perf_counter() - t0

    with torch.inference_mode():
        image = Image.open(a.image).convert("RGB").resize((width, height), Image.LANCZOS)
        pixels = torch.from_numpy(__import__("numpy").asarray(image).copy()).permute(2, 0, 1).float() / 255
        mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
        logits = segformer(pixel_values=((pixels - mean) / std)[None]).logits
        classes = torch.nn.functional.interpolate(logits, size=(height, width), mode="bilinear").argmax(1)[0]
        masks = {c: torch.isin(classes, torch.tensor(train_ids[c])) for c in categories}
        if s["passes"] == "single":
            union = torch.zeros_like(classes, dtype=torch.bool)
            for m in masks.values():
                union |= m
            jobs = [(COMBINED, union)] if categories or detected else []
        else:
            jobs = []
            for c, m in masks.items():
                person = c == "person"
                jobs.append(((PROMPT.format(WORDS[c], "real" if person else "no_humans"),
                              NEGATIVE.format("no_humans" if person else "human")), m))
            # No detectors here: a pass costs the same whatever its mask, so the segmenter's union stands in.
            union = torch.zeros_like(classes, dtype=torch.bool)
            for m in masks.values():
                union |= m
            jobs += [(DETECTED[c], union) for c in detected]
        result = image
        for (positive, negative), mask in jobs:
            mask_image = Image.fromarray((mask.numpy() * 255).astype("uint8"))
            out = inpaint(prompt=positive, negative_prompt=negative, image=result, mask_image=mask_image,
                          height=height, width=width, num_inference_steps=s["steps"], guidance_scale=s["guidance"],
                          eta=s.get("eta", 0.0), generator=torch.Generator().manual_seed(19260817)).images[0]
            keep = Image.fromarray(((~mask).numpy() * 255).astype("uint8"))
            result = Image.composite(result, out, keep)
        s = preset["harmonize"]
        if s.get("strength", 0) > 0:
            # At least one denoising step: diffusers refuses a schedule that int(steps * strength) empties.
            steps = max(s["steps"], math.ceil(1 / s["strength"] - 1e-9))
            result = harmonize(prompt=HARMONIZE_PROMPT, negative_prompt=HARMONIZE_NEGATIVE, image=result,
                               strength=s["strength"], num_inference_steps=steps, guidance_scale=s["guidance"],
                               eta=s.get("eta", 0.0), generator=torch.Generator().manual_seed(42)).images[0]
    total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"case": a.case, "torch_s": round(total, 3), "torch_cpu_s": round(time.process_time() - cpu0, 1),
                      "torch_peak_rss_mb": round(peak, 1), "torch_load_s": round(load_s, 3),
                      "torch_unet_evals": evals[0]}), flush=True)


if __name__ == "__main__":
    main()

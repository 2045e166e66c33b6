#!/usr/bin/env python3
"""Writes a Hugging Face hub cache of FULL-SIZE random-weight models for the pipeline benchmark.

    ~/.cache/svia/pyref/bin/python Scripts/bench/make_bench_hub.py [HUB]    (default ~/.cache/svia/bench-hub)

Repositories (the hub ids svia and diffusers look up), built from the real configurations in
Tests/NetworksTests/Fixtures/diffusion/configs/ with diffusers/transformers' own random initialisation:

  stabilityai/stable-diffusion-2-inpainting   unet (9 input channels), vae, text_encoder, tokenizer, scheduler
  stabilityai/stable-diffusion-2              unet (4 input channels), vae, text_encoder, tokenizer, scheduler
  stabilityai/sd-turbo                        same as stable-diffusion-2 (the two share one architecture)
  madebyollin/taesd                           AutoencoderTiny at the repository root
  nvidia/segformer-b0-finetuned-cityscapes-1024-1024   SegFormer-b0, 19 Cityscapes labels

Layout is huggingface_hub's: models--ORG--NAME/{blobs/<etag>, snapshots/<commit>/<path> -> ../../blobs/<etag>,
refs/main}, where a weights file's etag is its SHA-256 (Git LFS) and any other file's is its Git blob SHA-1, as
the Hub serves them. The UNet, VAE and text encoder weights are written once as the `fp16` variant
(`*.fp16.safetensors`, half the disk of float32) and hard-linked between repositories with the same
architecture: stable-diffusion-2 and sd-turbo share one UNet blob, all three SD repositories share the VAE and
text-encoder blobs. About 4.3 GB in all. TAESD and SegFormer are small and stored as float32.

The SegFormer's classifier biases are set so that argmax picks among road, building, traffic sign, vegetation,
sky, person and car (the random features then decide between them per pixel): an untouched random head tends to
pick one class everywhere, which would leave the pipeline nothing, or everything, to inpaint.

The tokenizer folders hold CLIP's real vocabulary (49408 tokens) and merges, built from
Tests/NetworksTests/Fixtures/diffusion/bpe_simple_vocab_16e6.txt.gz exactly as Scripts/fixtures/
make_tokenizer_fixtures.py does, with SD 2's tokenizer_config.json / special_tokens_map.json (pad "!").

Idempotent: a stamp file beside the cache (HUB.stamp.json, holding the versions below; outside HUB so that the
cache holds nothing huggingface_hub does not expect) makes a second run a no-op; without it the five repositories
are rebuilt (their folders only, nothing else under HUB is touched).
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

import diffusers
import huggingface_hub
import safetensors
import torch
import transformers
from safetensors.torch import save_file

assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert diffusers.__version__ == "0.42.1", diffusers.__version__
assert transformers.__version__ == "5.23.0", transformers.__version__
assert safetensors.__version__ == "0.8.0", safetensors.__version__

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONFIGS = os.path.join(ROOT, "Tests", "NetworksTests", "Fixtures", "diffusion", "configs")
sys.path.insert(0, os.path.join(ROOT, "Scripts", "fixtures"))
from make_tokenizer_fixtures import write_sd2_tokenizer_folder  # noqa: E402

FORMAT = 2  # bump when the contents change
VERSIONS = {"format": FORMAT, "torch": torch.__version__, "diffusers": diffusers.__version__,
            "transformers": transformers.__version__, "safetensors": safetensors.__version__,
            "huggingface_hub": huggingface_hub.__version__}

SD_REPOS = {
    "stabilityai/stable-diffusion-2-inpainting": "stable-diffusion-2-inpainting",
    "stabilityai/stable-diffusion-2": "stable-diffusion-2",
    "stabilityai/sd-turbo": "sd-turbo",
}
TAESD = "madebyollin/taesd"
SEGFORMER = "nvidia/segformer-b0-finetuned-cityscapes-1024-1024"

CITYSCAPES = ["road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
              "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle",
              "bicycle"]
SEGFORMER_PICKED = {"road", "building", "traffic sign", "vegetation", "sky", "person", "car"}


def fixture_config(model, name):
    with open(os.path.join(CONFIGS, model, name + ".json")) as f:
        return json.load(f)


def bare(config):
    return {k: v for k, v in config.items() if not k.startswith("_")}


def json_bytes(obj):
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


class Hub:
    """Writes files into repositories of a hub cache; identical weights become one blob, hard-linked."""

    def __init__(self, hub):
        self.hub = hub
        self.files = {}      # repo -> {path: etag}
        self.lfs = {}        # sha256 -> a blob path already written (for hard links)

    def repo_dir(self, repo):
        return os.path.join(self.hub, "models--" + repo.replace("/", "--"))

    def _blob(self, repo, etag):
        d = os.path.join(self.repo_dir(repo), "blobs")
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, etag)

    def add_bytes(self, repo, path, data):
        etag = git_blob_sha1(data)
        blob = self._blob(repo, etag)
        if not os.path.exists(blob):
            tmp = blob + ".incomplete"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, blob)
        self.files.setdefault(repo, {})[path] = etag

    def add_weights(self, repo, path, tensors):
        """`tensors` is a state dict or a sha256 returned before (reuse of the same file)."""
        if isinstance(tensors, str):
            etag = tensors
        else:
            fd, tmp = tempfile.mkstemp(suffix=".safetensors", dir=self.hub)
            os.close(fd)
            os.chmod(tmp, 0o644)
            save_file(tensors, tmp, metadata={"format": "pt"})
            etag = sha256_file(tmp)
            if etag in self.lfs:
                os.remove(tmp)
            else:
                final = self._blob(repo, etag)
                os.replace(tmp, final)
                self.lfs[etag] = final
        blob = self._blob(repo, etag)
        if not os.path.exists(blob):
            tmp = blob + ".incomplete"
            os.link(self.lfs[etag], tmp)
            os.replace(tmp, blob)
        self.files.setdefault(repo, {})[path] = etag
        return etag

    def finish(self, repo):
        """Snapshot symlinks and refs/main; the commit id is a digest of the file list."""
        files = self.files[repo]
        manifest = "".join(f"{p} {e}\n" for p, e in sorted(files.items())).encode()
        commit = hashlib.sha1(b"svia-bench-hub\0" + manifest).hexdigest()
        snap = os.path.join(self.repo_dir(repo), "snapshots", commit)
        for path, etag in files.items():
            link = os.path.join(snap, path)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            depth = path.count("/") + 2  # snapshots/<commit>/<dirs...>
            target = os.path.join(*([".."] * depth), "blobs", etag)
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(target, link)
        refs = os.path.join(self.repo_dir(repo), "refs")
        os.makedirs(refs, exist_ok=True)
        with open(os.path.join(refs, "main"), "w") as f:
            f.write(commit)
        return snap


def check_keys(component, state):
    """The weights carry exactly the checkpoint names and shapes of the real SD 2 components."""
    with open(os.path.join(ROOT, "Tests", "NetworksTests", "Fixtures", "diffusion", "sd2_keys.json")) as f:
        expected = json.load(f)["keys"][component]
    found = {k: list(v.shape) for k, v in state.items()}
    if component == "unet":  # the fixture lists the inpainting UNet; the 4-channel one differs in conv_in only
        found["conv_in.weight"][1] = expected["conv_in.weight"][1]
    assert found == expected, (component, sorted(set(found) ^ set(expected))[:5])


def half(state):
    return {k: v.detach().to(torch.float16).contiguous() for k, v in state.items()}


def full(state):
    return {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}


def unet_weights(model):
    from diffusers import UNet2DConditionModel
    torch.manual_seed(1 if model == "stable-diffusion-2-inpainting" else 2)
    unet = UNet2DConditionModel.from_config(bare(fixture_config(model, "unet")))
    state = half(unet.state_dict())
    del unet
    check_keys("unet", state)
    return state


def build(hub_dir):
    hub = Hub(hub_dir)
    from diffusers import AutoencoderKL, AutoencoderTiny
    from transformers import CLIPTextConfig, CLIPTextModel, SegformerConfig, SegformerForSemanticSegmentation

    with tempfile.TemporaryDirectory() as d:
        write_sd2_tokenizer_folder(d)
        tokenizer = {name: open(os.path.join(d, name), "rb").read()
                     for name in ("vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json")}
    vocab = json.loads(tokenizer["vocab.json"])
    assert len(vocab) == 49408 and vocab["!"] == 0 and vocab["<|endoftext|>"] == 49407

    print("make_bench_hub: text encoder", file=sys.stderr, flush=True)
    torch.manual_seed(3)
    te_config = bare(fixture_config("stable-diffusion-2-inpainting", "text_encoder"))
    text_encoder = CLIPTextModel(CLIPTextConfig(**te_config))
    te_state = half({k: v for k, v in text_encoder.state_dict().items()})
    del text_encoder
    check_keys("text_encoder", te_state)
    print("make_bench_hub: vae", file=sys.stderr, flush=True)
    torch.manual_seed(4)
    vae = AutoencoderKL.from_config(bare(fixture_config("stable-diffusion-2-inpainting", "vae")))
    vae_state = half(vae.state_dict())
    del vae
    check_keys("vae", vae_state)

    te_etag = vae_etag = None
    unet_etags = {}
    for repo, model in SD_REPOS.items():
        for name, data in tokenizer.items():
            hub.add_bytes(repo, "tokenizer/" + name, data)
        index = fixture_config(model, "model_index")
        hub.add_bytes(repo, "model_index.json", json_bytes(index))
        hub.add_bytes(repo, "scheduler/scheduler_config.json", json_bytes(fixture_config(model, "scheduler")))
        te = dict(fixture_config(model, "text_encoder"), architectures=["CLIPTextModel"])
        hub.add_bytes(repo, "text_encoder/config.json", json_bytes(te))
        te_etag = hub.add_weights(repo, "text_encoder/model.fp16.safetensors", te_etag or te_state)
        hub.add_bytes(repo, "vae/config.json", json_bytes(fixture_config(model, "vae")))
        vae_etag = hub.add_weights(repo, "vae/diffusion_pytorch_model.fp16.safetensors", vae_etag or vae_state)
        unet_config = fixture_config(model, "unet")
        hub.add_bytes(repo, "unet/config.json", json_bytes(unet_config))
        kind = unet_config["in_channels"]
        if kind not in unet_etags:
            print(f"make_bench_hub: unet for {repo} ({kind} input channels)", file=sys.stderr, flush=True)
            unet_etags[kind] = hub.add_weights(repo, "unet/diffusion_pytorch_model.fp16.safetensors",
                                               unet_weights(model))
        else:
            hub.add_weights(repo, "unet/diffusion_pytorch_model.fp16.safetensors", unet_etags[kind])
        hub.finish(repo)
    del te_state, vae_state

    print("make_bench_hub: taesd, segformer", file=sys.stderr, flush=True)
    torch.manual_seed(5)
    taesd_config = fixture_config("taesd", "vae")
    taesd = AutoencoderTiny.from_config(bare(taesd_config))
    hub.add_bytes(TAESD, "config.json", json_bytes(taesd_config))
    hub.add_weights(TAESD, "diffusion_pytorch_model.safetensors", full(taesd.state_dict()))
    hub.finish(TAESD)

    torch.manual_seed(6)
    seg_config = SegformerConfig(
        hidden_sizes=[32, 64, 160, 256], depths=[2, 2, 2, 2], decoder_hidden_size=256,
        num_attention_heads=[1, 2, 5, 8], sr_ratios=[8, 4, 2, 1], num_labels=19,
        id2label={i: n for i, n in enumerate(CITYSCAPES)}, label2id={n: i for i, n in enumerate(CITYSCAPES)},
        architectures=["SegformerForSemanticSegmentation"])
    segformer = SegformerForSemanticSegmentation(seg_config).eval()
    with torch.no_grad():
        bias = segformer.decode_head.classifier.bias
        bias.copy_(torch.tensor([0.0 if n in SEGFORMER_PICKED else -100.0 for n in CITYSCAPES]))
    # save_pretrained writes the checkpoint key names (segformer.encoder.*), which differ from the module names
    # transformers 5 uses in memory (segformer.stages.*).
    with tempfile.TemporaryDirectory() as d:
        segformer.save_pretrained(d)
        seg_json = json.load(open(os.path.join(d, "config.json")))
        from safetensors.torch import load_file
        seg_state = load_file(os.path.join(d, "model.safetensors"))
    assert "segformer.encoder.patch_embeddings.0.proj.weight" in seg_state, sorted(seg_state)[:5]
    hub.add_bytes(SEGFORMER, "config.json", json_bytes(seg_json))
    hub.add_bytes(SEGFORMER, "preprocessor_config.json", json_bytes({
        "do_normalize": True, "do_reduce_labels": False, "do_rescale": True, "do_resize": True,
        "image_mean": [0.485, 0.456, 0.406], "image_processor_type": "SegformerImageProcessor",
        "image_std": [0.229, 0.224, 0.225], "resample": 2, "rescale_factor": 1 / 255,
        "size": {"height": 1024, "width": 1024}}))
    hub.add_weights(SEGFORMER, "model.safetensors", full(seg_state))
    hub.finish(SEGFORMER)


def main():
    hub_dir = os.path.abspath(os.path.expanduser(sys.argv[1] if len(sys.argv) > 1 else "~/.cache/svia/bench-hub"))
    stamp = hub_dir + ".stamp.json"
    if os.path.exists(stamp):
        try:
            if json.load(open(stamp)) == VERSIONS:
                print(f"make_bench_hub: {hub_dir} is up to date", file=sys.stderr)
                return
        except ValueError:
            pass
        os.remove(stamp)
    os.makedirs(hub_dir, exist_ok=True)
    for repo in list(SD_REPOS) + [TAESD, SEGFORMER]:
        shutil.rmtree(os.path.join(hub_dir, "models--" + repo.replace("/", "--")), ignore_errors=True)
    for name in os.listdir(hub_dir):
        if name.startswith("tmp") and name.endswith(".safetensors"):
            os.remove(os.path.join(hub_dir, name))
    build(hub_dir)
    tmp = stamp + ".incomplete"
    with open(tmp, "w") as f:
        json.dump(VERSIONS, f)
    os.replace(tmp, stamp)
    print(f"make_bench_hub: wrote {hub_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()

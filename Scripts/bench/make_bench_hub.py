#!/usr/bin/env python3
"""Writes a Hugging Face hub cache of FULL-SIZE random-weight models for the pipeline benchmark.

    ~/.cache/svia/pyref/bin/python Scripts/bench/make_bench_hub.py [HUB]    (default ~/.cache/svia/bench-hub)

Repositories (the hub ids svia and diffusers look up), built from the real configurations in
Tests/NetworksTests/Fixtures/diffusion/configs/ with random weights (`textured`: variance-preserving for the
autoencoders and UNets, so painted regions hold texture; the libraries' own initialisation for the rest):

  stabilityai/stable-diffusion-2-inpainting   unet (9 input channels), vae, text_encoder, tokenizer, scheduler
  stabilityai/stable-diffusion-2              unet (4 input channels), vae, text_encoder, tokenizer, scheduler
  stabilityai/sd-turbo                        same as stable-diffusion-2 (the two share one architecture)
  madebyollin/taesd                           AutoencoderTiny at the repository root
  nvidia/segformer-b0-finetuned-cityscapes-1024-1024   SegFormer-b0, 19 Cityscapes labels

Layout is huggingface_hub's: models--ORG--NAME/{blobs/<etag>, snapshots/<commit>/<path> -> ../../blobs/<etag>,
refs/main}, where a weights file's etag is its SHA-256 (Git LFS) and any other file's is its Git blob SHA-1, as
the Hub serves them (so `svia models verify` can re-hash them). Each repository holds exactly the files that
Models/catalog.json lists for it (what `svia models fetch` would download), in the snapshot of the catalog's pinned
commit, and refs/main names that commit; an unpinned entry (SegFormer, "main") gets a commit derived from its files.
The catalog decides float32 or fp16 per file (stable-diffusion-2-inpainting: float32; stable-diffusion-2: fp16
UNet, float32 text encoder and VAE; sd-turbo: fp16). Every float32 file holds float16-representable values, so a
component's float32 and fp16 files hold the same weights. Equal files are written once and hard-linked between
repositories: stable-diffusion-2 and sd-turbo share the 4-channel UNet, the three SD repositories one text encoder
and one VAE (per dtype). About 7.3 GB on disk.

The SegFormer's classifier biases are set so that argmax picks among road, building, traffic sign, vegetation,
sky, person and car (the random features then decide between them per pixel): an untouched random head tends to
pick one class everywhere, which would leave the pipeline nothing, or everything, to inpaint.

The tokenizer folders hold CLIP's real vocabulary (49408 tokens) and merges, built from
Tests/NetworksTests/Fixtures/diffusion/bpe_simple_vocab_16e6.txt.gz exactly as Scripts/fixtures/
make_tokenizer_fixtures.py does, with SD 2's tokenizer_config.json / special_tokens_map.json (pad "!").

Idempotent: a stamp file beside the cache (HUB.stamp.json, holding the versions below and the catalog's SHA-256;
outside HUB so that the cache holds nothing huggingface_hub does not expect) makes a second run a no-op; without it
the five repositories are rebuilt (their folders only, nothing else under HUB is touched).
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
CATALOG = os.path.join(ROOT, "Models", "catalog.json")
sys.path.insert(0, os.path.join(ROOT, "Scripts", "fixtures"))
from make_tokenizer_fixtures import write_sd2_tokenizer_folder  # noqa: E402

FORMAT = 4  # bump when the contents change
VERSIONS = {"format": FORMAT, "torch": torch.__version__, "diffusers": diffusers.__version__,
            "transformers": transformers.__version__, "safetensors": safetensors.__version__,
            "huggingface_hub": huggingface_hub.__version__,
            "catalog_sha256": hashlib.sha256(open(CATALOG, "rb").read()).hexdigest()}

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

    def finish(self, repo, commit=None):
        """Snapshot symlinks and refs/main. The commit is the catalog's pinned one, else a digest of the files."""
        files = self.files[repo]
        if commit is None:
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


def textured(module):
    """Re-initialises every convolution and linear layer with zero-mean weights of variance 1 / fan-in and zero
    biases, so each layer keeps its input's variance: the autoencoders then pass structure through and the UNets
    carry their noise, and the painted regions hold texture. (The libraries' own initialisations shrink the signal
    layer by layer, so their stand-ins paint near-flat regions, which look temporally consistent whatever a video
    method does.)"""
    for layer in module.modules():
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = layer.weight[0].numel()
            torch.nn.init.normal_(layer.weight, 0.0, fan_in ** -0.5)
            if layer.bias is not None:
                torch.nn.init.zeros_(layer.bias)
    return module


def rounded(state):
    """float32 tensors holding float16-representable values: the float32 and fp16 files hold the same weights."""
    return {k: v.detach().to(torch.float16).to(torch.float32).contiguous() for k, v in state.items()}


def cast(state, dtype):
    return {k: v.to(dtype).contiguous() for k, v in state.items()}


def unet_state(model):
    from diffusers import UNet2DConditionModel
    torch.manual_seed(1 if model == "stable-diffusion-2-inpainting" else 2)
    unet = textured(UNet2DConditionModel.from_config(bare(fixture_config(model, "unet"))))
    state = rounded(unet.state_dict())
    del unet
    check_keys("unet", state)
    return state


def catalog():
    """The catalog entries of the benchmark's repositories, by the hub id of their first source, each with that
    source's "repository" and "revision" and its files as plain paths (the catalog may pin them as objects)."""
    with open(CATALOG) as f:
        models = json.load(f)["models"]
    entries = {}
    for m in models:
        src = m["sources"][0] if "sources" in m else m
        entries[src["repository"]] = dict(m, repository=src["repository"], revision=src["revision"],
                                          files=[f if isinstance(f, str) else f["path"] for f in m["files"]])
    missing = [r for r in list(SD_REPOS) + [TAESD, SEGFORMER] if r not in entries]
    assert not missing, f"{CATALOG} lacks {missing}"
    return entries


def pinned(entry):
    rev = entry["revision"]
    return rev if len(rev) == 40 and all(c in "0123456789abcdef" for c in rev) else None


def build(hub_dir):
    hub = Hub(hub_dir)
    entries = catalog()
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
    states = {"text_encoder": rounded(text_encoder.state_dict())}
    del text_encoder
    check_keys("text_encoder", states["text_encoder"])
    print("make_bench_hub: vae", file=sys.stderr, flush=True)
    torch.manual_seed(4)
    vae = textured(AutoencoderKL.from_config(bare(fixture_config("stable-diffusion-2-inpainting", "vae"))))
    states["vae"] = rounded(vae.state_dict())
    del vae
    check_keys("vae", states["vae"])

    written = {}  # (state key, dtype) -> sha256, so that equal files are written once and hard-linked
    unet_for = None
    for repo, model in SD_REPOS.items():
        unet_config = fixture_config(model, "unet")
        unet_key = ("unet", unet_config["in_channels"])
        if unet_for != unet_key:
            print(f"make_bench_hub: unet for {repo} ({unet_key[1]} input channels)", file=sys.stderr, flush=True)
            states.pop("unet", None)
            states["unet"] = unet_state(model)
            unet_for = unet_key
        configs = {
            "model_index.json": fixture_config(model, "model_index"),
            "scheduler/scheduler_config.json": fixture_config(model, "scheduler"),
            "text_encoder/config.json": dict(fixture_config(model, "text_encoder"), architectures=["CLIPTextModel"]),
            "vae/config.json": fixture_config(model, "vae"),
            "unet/config.json": unet_config,
        }
        for path in entries[repo]["files"]:
            folder, name = path.split("/", 1) if "/" in path else ("", path)
            if path in configs:
                hub.add_bytes(repo, path, json_bytes(configs[path]))
            elif folder == "tokenizer" and name in tokenizer:
                hub.add_bytes(repo, path, tokenizer[name])
            elif folder in states and name.endswith(".safetensors"):
                dtype = torch.float16 if name.endswith(".fp16.safetensors") else torch.float32
                key = (unet_key if folder == "unet" else folder, dtype)
                if key in written:
                    hub.add_weights(repo, path, written[key])
                else:
                    written[key] = hub.add_weights(repo, path, cast(states[folder], dtype))
            else:
                raise SystemExit(f"make_bench_hub: the catalog lists {repo} {path}, which this script cannot make")
        hub.finish(repo, pinned(entries[repo]))
    del states

    print("make_bench_hub: taesd, segformer", file=sys.stderr, flush=True)
    torch.manual_seed(5)
    taesd_config = fixture_config("taesd", "vae")
    taesd = textured(AutoencoderTiny.from_config(bare(taesd_config)))
    hub.add_bytes(TAESD, "config.json", json_bytes(taesd_config))
    assert entries[TAESD]["files"] == ["config.json", "diffusion_pytorch_model.safetensors"], entries[TAESD]
    hub.add_weights(TAESD, "diffusion_pytorch_model.safetensors", cast(taesd.state_dict(), torch.float32))
    hub.finish(TAESD, pinned(entries[TAESD]))

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
    assert entries[SEGFORMER]["files"] == ["config.json", "model.safetensors"], entries[SEGFORMER]
    hub.add_weights(SEGFORMER, "model.safetensors", cast(seg_state, torch.float32))
    hub.finish(SEGFORMER, pinned(entries[SEGFORMER]))


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

#!/usr/bin/env python3
"""Bad-input corpus for svia: mutates the sample media, the shipped detector models, a tiny SegFormer
checkpoint and JSON configs, runs each case through the release binary under a time limit and counts
crashes (killed by a signal), hangs (time limit), partial outputs left behind and refusals that do not
name the file. Called by Scripts/fuzz.sh; deterministic for a given --seed."""
import argparse, json, os, random, shutil, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "SampleClips")
MODELS = os.path.join(ROOT, "Models")
SEGFORMER = os.path.join(ROOT, "Tests/NetworksTests/Fixtures/segformer/tiny1")


class Case:
    def __init__(self, kind, label, named, setup):
        self.kind, self.label, self.named, self.setup = kind, label, named, setup


def truncations(data):
    n = len(data)
    cuts = sorted({0, 1, 7, 8, 12, 64, n // 10, n // 3, n // 2, n - 1} - {n})
    return [(f"cut{c}", data[:c]) for c in cuts if c < n]


def flips(data, rng, count, lo, hi, tag):
    out = []
    hi = min(hi, len(data))
    if hi <= lo:
        return out
    for i in range(count):
        b = bytearray(data)
        for _ in range(1 + i % 3):
            p = rng.randrange(lo, hi)
            b[p] ^= 1 << rng.randrange(8)
        out.append((f"{tag}{i}", bytes(b)))
    return out


def mutations(data, rng, header=512, heads=8, bodies=4):
    return truncations(data) + flips(data, rng, heads, 0, header, "hflip") + flips(data, rng, bodies, header, len(data), "pflip")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def png_huge(data):
    # IHDR width and height (bytes 16..24) set to 2^31-1; the CRC is left stale.
    b = bytearray(data)
    b[16:24] = struct.pack(">II", 0x7FFFFFFF, 0x7FFFFFFF)
    return bytes(b)


def jpeg_huge(data):
    b = bytearray(data)
    for i in range(len(b) - 9):
        if b[i] == 0xFF and b[i + 1] in (0xC0, 0xC1, 0xC2):
            b[i + 5:i + 9] = b"\xff\xff\xff\xff"
            break
    return bytes(b)


def mp4_huge(data):
    # Each top-level box size set to 2^32-1 in turn (first three boxes).
    outs, off, k = [], 0, 0
    while off + 8 <= len(data) and k < 3:
        size = struct.unpack(">I", data[off:off + 4])[0]
        b = bytearray(data)
        b[off:off + 4] = b"\xff\xff\xff\xff"
        outs.append((f"box{k}huge", bytes(b)))
        if size < 8:
            break
        off += size
        k += 1
    return outs


def safetensors(header_obj, payload=b"\0" * 8, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header_obj).encode()
    return struct.pack("<Q", len(h)) + h + payload


def build_cases(work, rng):
    cases = []
    still_png = os.path.join(work, "base", "still.png")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64", "-frames:v", "1", still_png],
                   check=True)

    # --- stills: the sample JPEGs and a small PNG, through the detectors.
    still_args = ["--method", "blur", "--detect", "faces", "--detect-scale", "64x64"]
    sources = [os.path.join(SAMPLES, f) for f in ("dog.jpg", "licenseplate_motion.jpg", "scenetext01.jpg")] + [still_png]
    for src in sources:
        data = open(src, "rb").read()
        base, ext = os.path.splitext(os.path.basename(src))
        muts = mutations(data, rng, header=600, heads=10, bodies=4)
        muts.append(("huge", png_huge(data) if ext == ".png" else jpeg_huge(data)))
        muts.append(("zero", b""))
        for tag, m in muts:
            cases.append(still_case(work, f"{base}-{tag}{ext}", m, still_args))
        cases.append(still_case(work, f"{base}-asvideo.mp4", data, still_args))
    # Text that is not a picture, under picture extensions.
    for ext in (".png", ".jpg"):
        cases.append(still_case(work, f"notapicture{ext}", b"hello, this is not an image\n" * 10, still_args))

    # --- video: the labelled street clip with its label maps (no detectors), and the PCM dashcam clip.
    labels = os.path.join(SAMPLES, "labels", "street_labeled")
    data = open(os.path.join(SAMPLES, "street_labeled.mp4"), "rb").read()
    muts = mutations(data, rng, header=4096, heads=12, bodies=6) + mp4_huge(data) + [("zero", b"")]
    for tag, m in muts:
        cases.append(video_case(work, f"street-{tag}.mp4", m, ["--method", "blur", "--detect", "none", "--masks", labels]))
    cases.append(video_case(work, "street-asmkv.mkv", data, ["--method", "blur", "--detect", "none", "--masks", labels]))
    cases.append(video_case(work, "street-asstill.png", data, ["--method", "blur", "--detect", "none", "--masks", labels]))
    data = open(os.path.join(SAMPLES, "dashcam_synthetic_pcm.mov"), "rb").read()
    for tag, m in truncations(data)[:6] + flips(data, rng, 6, 0, 2048, "hflip"):
        cases.append(video_case(work, f"pcm-{tag}.mov", m, ["--method", "pixelate", "--detect", "faces", "--detect-scale", "64x64",
                                                             "--audio", "keep"]))

    # --- label maps (--masks) for a valid still.
    lp = os.path.join(SAMPLES, "licenseplate_motion.jpg")
    label = open(os.path.join(SAMPLES, "labels", "licenseplate_motion.png"), "rb").read()
    for tag, m in mutations(label, rng, header=100, heads=14, bodies=8) + [("huge", png_huge(label)), ("zero", b"")]:
        cases.append(mask_case(work, f"mask-{tag}", lp, m))
    cases.append(mask_case(work, "mask-jpeg", lp, open(lp, "rb").read()))

    # --- safetensors: the tiny SegFormer checkpoint through `svia segment --segmenter DIR`.
    weights = open(os.path.join(SEGFORMER, "model.safetensors"), "rb").read()
    (n,) = struct.unpack("<Q", weights[:8])
    for tag, m in truncations(weights) + flips(weights, rng, 14, 0, 8 + n, "hflip") + flips(weights, rng, 4, 8 + n, len(weights), "pflip"):
        cases.append(segmenter_case(work, f"st-{tag}", weights=m, named="model.safetensors"))
    hostile = [
        {"x": {"dtype": "F32", "shape": [0, 2**32, 2**32], "data_offsets": [0, 0]}},
        {"x": {"dtype": "F32", "shape": [2**62], "data_offsets": [0, 8]}},
        {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 2**40]}},
        {"x": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}},
        {"x": {"dtype": "F16", "shape": [2], "data_offsets": [0, 8]}},
        {"x": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}},
        {"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]}},
        {"x": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 8]}},
        {"x": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}},
        {"x": {"dtype": "F32", "shape": [1] * 40, "data_offsets": [0, 4]}},
        {"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "y": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}},
        {"__metadata__": {"a": 1}},
        [],
    ]
    for i, h in enumerate(hostile):
        cases.append(segmenter_case(work, f"st-hostile{i}", weights=safetensors(h), named="model.safetensors"))
    for i, raw in enumerate([b"{", b"\xff\xfe", b"null", b'{"x":' * 10000]):
        cases.append(segmenter_case(work, f"st-raw{i}", weights=safetensors(None, raw_header=raw), named="model.safetensors"))
    cases.append(segmenter_case(work, "st-hugelen", weights=struct.pack("<Q", 2**63 - 1) + b"{}", named="model.safetensors"))

    # --- SegFormer config.json values.
    config = json.load(open(os.path.join(SEGFORMER, "config.json")))
    keys = ["num_channels", "num_encoder_blocks", "depths", "sr_ratios", "hidden_sizes", "patch_sizes", "strides",
            "num_attention_heads", "mlp_ratios", "decoder_hidden_size", "id2label", "hidden_act", "layer_norm_eps"]
    values = [-1, 0, 2**62, 1e300, "x", None, [], [2**40] * 4, {"0": 1}]
    for key in keys:
        for v in rng.sample(values, 4):
            c = dict(config)
            c[key] = v
            cases.append(segmenter_case(work, f"cfg-{key}-{json.dumps(v)[:12]}", config=json.dumps(c).encode(), named="config.json"))
    text = json.dumps(config).encode()
    for tag, m in truncations(text)[:5] + flips(text, rng, 5, 0, len(text), "flip"):
        cases.append(segmenter_case(work, f"cfg-{tag}", config=m, named="config.json"))

    # --- ONNX detector models through SVIA_MODELS_DIR (SVIA_MODELS_UNPINNED=1 lets them reach the parser).
    for model, det in (("centerface.onnx", "faces"), ("ch_PP-OCRv4_det_infer.onnx", "text")):
        data = open(os.path.join(MODELS, model), "rb").read()
        muts = truncations(data) + flips(data, rng, 10, 0, 4096, "hflip") + flips(data, rng, 4, 4096, len(data), "pflip")
        muts.append(("garbage", bytes(rng.randrange(256) for _ in range(4096))))
        for tag, m in muts:
            cases.append(onnx_case(work, f"{model}-{tag}", model, m, det, still_png))

    # --- prompts JSON (--prompts), refused while the options are validated.
    prompts = json.dumps({"categories": {"person": {"positive": "a person", "negative": "blurry"}},
                          "harmonizer": {"positive": "a street"}}).encode()
    for tag, m in truncations(prompts)[:6] + flips(prompts, rng, 4, 0, len(prompts), "flip") + [
            ("list", b"[1,2,3]"), ("badcat", b'{"categories": {"dragon": {"positive": "x"}}}'),
            ("num", b'{"categories": {"person": {"positive": 5}}}'), ("deep", b"[" * 100000)]:
        cases.append(prompts_case(work, f"prompts-{tag}.json", m, still_png))
    return cases


def still_case(work, name, data, args):
    def setup():
        d = os.path.join(work, "c", name)
        path = os.path.join(d, name)
        write(path, data)
        out = os.path.join(d, "out", "result.png")
        return ["anonymize", path, "-o", out, "-q"] + args, {}, [out], [d]
    return Case("still", name, name, setup)


def video_case(work, name, data, args):
    def setup():
        d = os.path.join(work, "c", name)
        path = os.path.join(d, name)
        write(path, data)
        out = os.path.join(d, "out", "result.mp4")
        return ["anonymize", path, "-o", out, "-q"] + args, {}, [out], [d]
    return Case("video", name, name, setup)


def mask_case(work, tag, still, label):
    def setup():
        d = os.path.join(work, "c", tag)
        masks = os.path.join(d, "masks")
        write(os.path.join(masks, "licenseplate_motion.png"), label)
        out = os.path.join(d, "out", "result.png")
        return ["anonymize", still, "--masks", masks, "--detect", "none", "--method", "graymask", "-o", out, "-q"], {}, [out], [d]
    return Case("labelmap", tag, "licenseplate_motion.png", setup)


def segmenter_case(work, tag, weights=None, config=None, named=""):
    def setup():
        d = os.path.join(work, "c", tag)
        seg = os.path.join(d, "seg")
        os.makedirs(seg, exist_ok=True)
        write(os.path.join(seg, "model.safetensors"), weights if weights is not None else open(os.path.join(SEGFORMER, "model.safetensors"), "rb").read())
        write(os.path.join(seg, "config.json"), config if config is not None else open(os.path.join(SEGFORMER, "config.json"), "rb").read())
        out = os.path.join(d, "out")
        return ["segment", os.path.join(work, "base", "still.png"), "-o", out, "--segmenter", seg, "-q"], {}, [os.path.join(out, "still.png")], [d]
    return Case("safetensors" if config is None else "config", tag, named, setup)


def onnx_case(work, tag, model, data, det, still):
    def setup():
        d = os.path.join(work, "c", tag)
        models = os.path.join(d, "models")
        os.makedirs(models, exist_ok=True)
        for f in ("centerface.onnx", "ch_PP-OCRv4_det_infer.onnx"):
            if f != model:
                os.symlink(os.path.join(MODELS, f), os.path.join(models, f))
        write(os.path.join(models, model), data)
        out = os.path.join(d, "out", "result.png")
        env = {"SVIA_MODELS_DIR": models, "SVIA_MODELS_UNPINNED": "1"}
        return ["anonymize", still, "--method", "blur", "--detect", det, "-o", out, "-q"], env, [out], [d]
    return Case("onnx", tag, model, setup)


def prompts_case(work, name, data, still):
    def setup():
        d = os.path.join(work, "c", name)
        path = os.path.join(d, name)
        write(path, data)
        out = os.path.join(d, "out", "result.png")
        return ["anonymize", still, "--method", "svia", "--prompts", path, "-o", out, "-q"], {}, [out], [d]
    return Case("json", name, name, setup)


def leftovers(folders):
    found = []
    for folder in folders:
        for dirpath, _, files in os.walk(folder):
            for f in files:
                if "svia-partial" in f or f.endswith(".tmp") or ".partial-" in f:
                    found.append(os.path.join(dirpath, f))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--svia", default=os.path.join(ROOT, ".build/release/svia"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--kinds", default="", help="comma-separated kinds to run (default all)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="svia-fuzz-")
    os.makedirs(os.path.join(work, "base"))
    cases = build_cases(work, rng)
    if a.kinds:
        cases = [c for c in cases if c.kind in a.kinds.split(",")]
    counts = {"crash": 0, "hang": 0, "partial": 0, "unnamed": 0}
    per_kind = {}
    started = time.time()
    failures = []
    refused = 0
    for c in cases:
        args, env, outputs, folders = c.setup()
        try:
            p = subprocess.run([a.svia] + args, env={**os.environ, **env}, capture_output=True, timeout=a.timeout)
            rc, err, hung = p.returncode, p.stderr.decode(errors="replace"), False
        except subprocess.TimeoutExpired as e:
            rc, err, hung = None, (e.stderr or b"").decode(errors="replace"), True
        problems = []
        refused += 1 if rc not in (0, None) else 0
        if hung:
            problems.append("hang")
        elif rc < 0 or rc >= 128:
            problems.append("crash")
        if rc not in (0, None) and not hung:
            if c.named not in err:
                problems.append("unnamed")
            if any(os.path.exists(o) for o in outputs):
                problems.append("partial")
        if leftovers(folders):
            problems.append("partial")
        k = per_kind.setdefault(c.kind, [0, 0])
        if problems:
            k[1] += 1
            for pr in set(problems):
                counts[pr] += 1
            failures.append((c, rc, problems, err.strip().splitlines()[-1:] if err.strip() else []))
        else:
            k[0] += 1
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    for c, rc, problems, last in failures:
        print(f"FAIL {c.kind} {c.label}: {','.join(sorted(set(problems)))} (rc {rc}) {last[0][:200] if last else ''}")
    for kind, (ok, bad) in per_kind.items():
        print(f"{kind}: {ok} passed, {bad} failed")
    print(f"crashes {counts['crash']}, hangs {counts['hang']}, partial outputs {counts['partial']}, refusals not naming the file {counts['unnamed']}")
    print(f"{len(cases)} cases in {time.time() - started:.0f} s: {refused} refused with a message, {len(cases) - refused} processed")
    passed = sum(k[0] for k in per_kind.values())
    print(f"{passed} passed, {len(cases) - passed} failed")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if passed == len(cases) else 1)


if __name__ == "__main__":
    main()

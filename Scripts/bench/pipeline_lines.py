#!/usr/bin/env python3
"""Turns one `svia anonymize --method svia --report` run into the pipeline benchmark's JSON line (standard
library only), and knows the presets' step counts.

usage:
  pipeline_lines.py run-args PRESET STEPS   -> the step options of a reduced run ("" when the preset is cheaper)
  pipeline_lines.py line --case C --report R.json --time TIME_V.txt --preset P --work-size WxH
                         [--steps S]        -> one svia line (ref null; join_refs.py fills it)
  pipeline_lines.py evals-ratio LINES.jsonl -> the fast-vs-paper UNet evaluation line
  pipeline_lines.py self-test               -> checks all of the above on testdata/

A line: {"area":"pipeline","case","svia_s","ref":null,"ref_s":null,"ratio":null,"peak_rss_mb",
         "unet_evals_per_frame","frames","work_size","preset","steps","unet_evals","keyframes","reused_frames",
         "inpaint_passes","categories","stage_s":{...},"file_s","cpu_s","per_unet_eval_s","est_full_s",
         "est_full_unet_evals_per_frame"}
svia_s and peak_rss_mb are the wall time and maximum resident set size of the whole `svia anonymize` process
(model loading, decoding and encoding included), from `/usr/bin/time -v`; file_s is the report's seconds for the
file; stage_s the report's seconds per stage; categories those with replaced pixels (the report's
categoryCoverage).

Reduced runs. The presets' schedules (PRESETS, as Sources/Anonymizer/SVIA/SVIASettings.swift sets them) make a
full run expensive: paper is 5 x 50 x 2 + 10 x 2 = 520 UNet evaluations per picture. A run at S steps passes
`--steps S --harmonizer-steps ceil(S / strength)`, so the inpainter and the harmonizer each take S denoising steps.

UNet evaluations of a run with inpainting schedule n and harmonizer schedule h (k(n, s) = int(n * s), the steps an
img2img pass with strength s runs; g, g_h = 2 with guidance, else 1):
    evals(n, h) = P * n * g  +  F * k(h, strength) * g_h  +  N * k(max(n, ceil(1 / reuse_strength)), reuse_strength) * g
P: full inpainting passes summed over the file (categories per picture, or 1 for a single pass), F: frames (every
frame is harmonized), N: reuse passes (video only: keyframes + reused frames, when reuse is on). P is solved from
the report's evaluation count at the run's n and h, then
    est_full_evals = evals(preset steps, preset harmonizer steps)
    per_unet_eval_s = (stage_s.inpaint + stage_s.harmonize) / unet_evals
    est_full_s     = svia_s + (est_full_evals - unet_evals) * per_unet_eval_s
per_unet_eval_s includes the autoencoder passes of those stages, so est_full_s errs high. At the preset's own
steps est_full_s = svia_s.
"""
import json
import math
import os
import re
import sys

# Per preset: inpainting steps, guided?, harmonizer schedule, strength, harmonizer guided?, reuse strength.
PRESETS = {
    "paper": dict(steps=50, guided=True, harmonizer_steps=50, strength=0.2, harmonizer_guided=True,
                  reuse_strength=0.3),
    "default": dict(steps=25, guided=True, harmonizer_steps=25, strength=0.2, harmonizer_guided=True,
                    reuse_strength=0.3),
    "fast": dict(steps=1, guided=False, harmonizer_steps=2, strength=0.5, harmonizer_guided=False,
                 reuse_strength=0.5),
}
# The paper preset's evaluations per picture (5 categories); used when no paper run was measured.
PAPER_FULL_EVALS_PER_FRAME = 520
FAST_TARGET = 1 / 50


def kept(n, strength):
    return min(int(n * strength), n)


def reduced_steps(preset, steps):
    """(inpainting steps, harmonizer schedule) of a run at `steps`, or None when the preset is not above it."""
    p = PRESETS[preset]
    if p["steps"] <= steps:
        return None
    return steps, max(math.ceil(steps / p["strength"] - 1e-9), 1)


def evals(preset, n, h, passes, frames, reuses):
    p = PRESETS[preset]
    g, gh = (2 if p["guided"] else 1), (2 if p["harmonizer_guided"] else 1)
    rs = p["reuse_strength"]
    return (passes * n * g + frames * kept(h, p["strength"]) * gh
            + reuses * kept(max(n, math.ceil(1 / rs - 1e-9)), rs) * g)


def parse_time_v(text):
    """(wall seconds, peak RSS MB, user + system CPU seconds) from `/usr/bin/time -v` output."""
    def field(name):
        m = re.search(r"^\s*" + re.escape(name) + r":\s*(.+)$", text, re.M)
        if not m:
            raise ValueError(f"/usr/bin/time -v output has no '{name}'")
        return m.group(1).strip()

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    rss_mb = int(field("Maximum resident set size (kbytes)")) / 1024
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return wall, rss_mb, cpu


def svia_entry(report):
    """The single file's entry of a report and its `svia` object."""
    files = report.get("files") or []
    if len(files) != 1:
        raise ValueError(f"expected one file in the report, found {len(files)}")
    entry = files[0]
    if entry.get("status") != "done":
        raise ValueError(f"{entry.get('input')}: status {entry.get('status')}: {entry.get('message')}")
    svia = entry.get("svia")
    if not isinstance(svia, dict) or "unetEvaluations" not in svia:
        raise ValueError("the report's file has no 'svia' object with unetEvaluations (was --method svia used?)")
    return entry, svia


def make_line(case, report, time_text, preset, work_size, steps):
    entry, svia = svia_entry(report)
    wall, rss_mb, cpu = parse_time_v(time_text)
    frames = int(entry.get("frames") or 1)
    video = entry.get("kind") == "video"
    run_evals = int(svia["unetEvaluations"])
    stages = {k: round(float(v), 3) for k, v in (svia.get("stageSeconds") or {}).items()}
    p = PRESETS[preset]
    reduced = reduced_steps(preset, steps) if steps else None
    n, h = reduced or (p["steps"], p["harmonizer_steps"])
    if video:
        # On video the count follows what is new in each frame (keyframes run the full passes, frames with new
        # content local passes, the rest none), so it is read, not derived; every pass scales with the schedule.
        passes = sum(int(v) for v in (svia.get("inpaintPasses") or {}).values())
        full_evals = round(run_evals * p["steps"] / n) if n else run_evals
    else:
        fixed = evals(preset, n, h, 0, frames, 0)
        per_pass = n * (2 if p["guided"] else 1)
        passes = (run_evals - fixed) / per_pass
        if passes < 0 or passes != int(passes):
            raise ValueError(f"{case}: {run_evals} UNet evaluations do not fit the {preset} preset's schedule "
                             f"(steps {n}, harmonizer {h}); update PRESETS in pipeline_lines.py")
        passes = int(passes)
        full_evals = evals(preset, p["steps"], p["harmonizer_steps"], passes, frames, 0)
    diffusion_s = stages.get("inpaint", 0.0) + stages.get("harmonize", 0.0)
    per_eval = diffusion_s / run_evals if run_evals else 0.0
    coverage = entry.get("categoryCoverage") or {}
    return {
        "area": "pipeline", "case": case, "svia_s": round(wall, 3), "ref": None, "ref_s": None, "ratio": None,
        "peak_rss_mb": round(rss_mb, 1),
        "unet_evals_per_frame": round(run_evals / frames, 3), "frames": frames, "work_size": work_size,
        "preset": svia.get("preset") or preset,
        "steps": {"inpaint": n, "harmonizer_schedule": h, "full": reduced is None},
        "unet_evals": run_evals, "keyframes": svia.get("keyframes"), "reused_frames": svia.get("reusedFrames"),
        "inpaint_passes": passes,
        "categories": sorted(k for k, v in coverage.items() if v > 0),
        "stage_s": stages, "file_s": round(float(entry.get("seconds", 0.0)), 3), "cpu_s": round(cpu, 1),
        "per_unet_eval_s": round(per_eval, 3),
        "est_full_s": round(wall + (full_evals - run_evals) * per_eval, 1),
        "est_full_unet_evals_per_frame": round(full_evals / frames, 2),
    }


def evals_ratio_line(lines):
    """fast's UNet evaluations per video frame against the paper preset's full count per picture."""
    fast = next((r for r in lines if r.get("preset") == "fast" and r["case"].startswith("clip_")), None)
    if fast is None:
        fast = next((r for r in lines if r.get("preset") == "fast"), None)
    if fast is None:
        return None
    paper = next((r for r in lines if r.get("preset") == "paper" and r["case"].startswith("still_")), None)
    paper_full = paper["est_full_unet_evals_per_frame"] if paper else PAPER_FULL_EVALS_PER_FRAME
    ratio = fast["unet_evals_per_frame"] / paper_full if paper_full else None
    return {
        "area": "pipeline", "case": fast["case"] + "_unet_evals_vs_paper_full", "svia_s": None, "ref": None,
        "ref_s": None, "ratio": None if ratio is None else round(ratio, 5),
        "ratio_of": "fast UNet evaluations per frame / paper UNet evaluations per picture at full steps",
        "peak_rss_mb": None, "unet_evals_per_frame": fast["unet_evals_per_frame"], "frames": fast["frames"],
        "work_size": fast["work_size"], "preset": "fast",
        "paper_full_unet_evals_per_frame": paper_full,
        "paper_full_from": paper["case"] if paper else "preset: 5 x 50 x 2 + 10 x 2",
        "target": FAST_TARGET, "meets_target": ratio is not None and ratio <= FAST_TARGET,
    }


def args_dict(argv):
    out = {}
    it = iter(argv)
    for a in it:
        if not a.startswith("--"):
            raise SystemExit(f"pipeline_lines.py: unexpected argument {a}")
        out[a[2:]] = next(it)
    return out


def self_test():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")
    report = json.load(open(os.path.join(here, "pipeline_report_sample.json")))
    time_text = open(os.path.join(here, "time_v_sample.txt")).read()
    wall, rss, cpu = parse_time_v(time_text)
    assert abs(wall - 421.7) < 1e-6 and abs(rss - 9216.0) < 1e-6 and abs(cpu - 820.6) < 1e-6, (wall, rss, cpu)
    assert reduced_steps("paper", 1) == (1, 5) and reduced_steps("default", 2) == (2, 10)
    assert reduced_steps("fast", 1) is None and reduced_steps("default", 25) is None
    # The paper preset at full settings on a picture with 5 categories: 520 (SVIASettings.fullPassEvaluations).
    assert evals("paper", 50, 50, 5, 1, 0) == 520 and evals("default", 25, 25, 3, 1, 0) == 160
    # The sample: a 6-frame clip, default preset at 1 step: 2 keyframes x 5 passes x 1 x 2 + 6 harmonized frames
    # x 1 x 2 + 6 reuse passes x int(4 x 0.3) x 2 = 20 + 12 + 12 = 44.
    line = make_line("clip_default_steps1", report, time_text, "default", "1024x512", 1)
    assert line["frames"] == 6 and line["unet_evals"] == 44 and line["inpaint_passes"] == 10, line
    assert line["steps"] == {"inpaint": 1, "harmonizer_schedule": 5, "full": False}, line
    assert abs(line["unet_evals_per_frame"] - 44 / 6) < 1e-3 and line["keyframes"] == 2, line
    full = 10 * 25 * 2 + 6 * 5 * 2 + 6 * 7 * 2
    assert line["est_full_unet_evals_per_frame"] == round(full / 6, 2), line
    assert abs(line["est_full_s"] - round(421.7 + (full - 44) * (401.0 / 44), 1)) < 0.05, line
    assert line["categories"] == ["building", "person", "road", "vehicle"], line
    assert line["ref"] is None and line["ratio"] is None and line["peak_rss_mb"] == 9216.0, line
    assert line["stage_s"]["inpaint"] == 360.0 and line["preset"] == "default", line
    try:
        make_line("x", report, time_text, "default", "1024x512", 3)  # 44 does not fit 3 steps
        raise AssertionError("accepted an evaluation count that does not fit")
    except ValueError:
        pass
    still = json.loads(json.dumps(report))
    f = still["files"][0]
    f.update(kind="image", frames=1)
    f["svia"].update(preset="fast", unetEvaluations=2, keyframes=0, reusedFrames=0)
    fast = make_line("still_fast", still, time_text, "fast", "1024x512", 1)
    assert fast["inpaint_passes"] == 1 and fast["steps"]["full"] and fast["est_full_s"] == fast["svia_s"], fast
    r = evals_ratio_line([line, fast])
    assert r["paper_full_unet_evals_per_frame"] == 520 and r["ratio"] == round(2 / 520, 5), r
    assert r["meets_target"] is True and r["paper_full_from"].startswith("preset"), r
    paper = dict(line, case="still_paper_steps1", preset="paper", est_full_unet_evals_per_frame=80.0)
    r = evals_ratio_line([paper, dict(fast, case="clip_fast", unet_evals_per_frame=2.0)])
    assert r["ratio"] == 0.025 and r["meets_target"] is False and r["paper_full_from"] == "still_paper_steps1", r
    for bad in ({"files": []}, {"files": [{"status": "failed", "input": "x", "message": "boom"}]},
                {"files": [{"status": "done", "frames": 1, "seconds": 1}]}):
        try:
            make_line("x", bad, time_text, "fast", "1024x512", None)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")
    try:
        parse_time_v("nothing here")
        raise AssertionError("accepted empty time output")
    except ValueError:
        pass
    print("pipeline_lines.py self-test: ok")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    command = sys.argv[1]
    if command == "self-test":
        self_test()
    elif command == "run-args":
        r = reduced_steps(sys.argv[2], int(sys.argv[3]))
        print("" if r is None else f"--steps {r[0]} --harmonizer-steps {r[1]}")
    elif command == "line":
        a = args_dict(sys.argv[2:])
        report = json.load(open(a["report"]))
        line = make_line(a["case"], report, open(a["time"]).read(), a["preset"], a["work-size"],
                         int(a["steps"]) if a.get("steps") else None)
        print(json.dumps(line, separators=(",", ":")), flush=True)
    elif command == "evals-ratio":
        lines = [json.loads(t) for t in open(sys.argv[2]) if t.strip()]
        line = evals_ratio_line([r for r in lines if r.get("unet_evals") is not None])
        if line:
            print(json.dumps(line, separators=(",", ":")), flush=True)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()

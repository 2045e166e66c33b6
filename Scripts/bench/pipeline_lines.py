#!/usr/bin/env python3
"""Turns one `svia anonymize --report` run into the pipeline benchmark's JSON line (standard library only).

usage:
  pipeline_lines.py line --case C --report R.json --time TIME_V.txt --preset P --work-size WxH
                         --run-steps N|full --full-steps N      -> one svia line (ref null; join_refs.py fills it)
  pipeline_lines.py evals-ratio LINES.jsonl                      -> the fast-vs-paper UNet evaluation line
  pipeline_lines.py self-test                                    -> checks the parsing on testdata/

A line: {"area":"pipeline","case","svia_s","ref":null,"ref_s":null,"ratio":null,"peak_rss_mb",
         "unet_evals_per_frame","frames","work_size","preset", "steps", "unet_evals", "keyframes", "reused_frames",
         "stage_s":{...}, "file_s", "cpu_s", "est_full_s", "est_full_unet_evals_per_frame"}

svia_s is the wall time of the whole `svia anonymize` process (model loading, decoding and encoding included) and
peak_rss_mb its maximum resident set size, both from `/usr/bin/time -v`. file_s is the report's per-file seconds.

Estimate at the preset's full step count when the run used fewer steps (run_steps < full_steps). UNet evaluations
grow linearly with the step count (each sampling step is a fixed number of evaluations per inpainted category and
per harmonized keyframe), so
    est_full_evals = unet_evals * full_steps / run_steps
    per_eval_s     = (stage_s.inpaint + stage_s.harmonize) / unet_evals
    est_full_s     = svia_s + (est_full_evals - unet_evals) * per_eval_s
per_eval_s also carries the VAE and text-encoder time of the diffusion stages, so est_full_s errs high; img2img
stages whose step count is steps * strength rounded make the evaluation count only approximately linear.
At full steps est_full_s = svia_s.
"""
import json
import os
import re
import sys

# The paper preset's evaluations per frame at full settings; used when no paper run was measured.
PAPER_FULL_EVALS_PER_FRAME = 520
FAST_TARGET = 1 / 50


def parse_time_v(text):
    """(wall seconds, peak RSS MB, user + system CPU seconds) from `/usr/bin/time -v` output."""
    def field(name):
        m = re.search(r"^\s*" + re.escape(name) + r":\s*(.+)$", text, re.M)
        if not m:
            raise ValueError(f"/usr/bin/time -v output has no '{name}'")
        return m.group(1).strip()

    parts = [float(p) for p in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = 0.0
    for p in parts:
        wall = wall * 60 + p
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
    svia = entry.get("svia", report.get("svia"))
    if not isinstance(svia, dict):
        raise ValueError("the report has no 'svia' object (was --method svia used?)")
    return entry, svia


def make_line(case, report, time_text, preset, work_size, run_steps, full_steps):
    entry, svia = svia_entry(report)
    wall, rss_mb, cpu = parse_time_v(time_text)
    frames = int(entry.get("frames") or 1)
    evals = int(svia["unetEvaluations"])
    stages = {k: round(float(v), 3) for k, v in (svia.get("stageSeconds") or {}).items()}
    scale = 1.0 if run_steps is None else full_steps / run_steps
    est_evals = evals * scale
    diffusion_s = stages.get("inpaint", 0.0) + stages.get("harmonize", 0.0)
    per_eval = diffusion_s / evals if evals else 0.0
    est_full_s = wall + (est_evals - evals) * per_eval
    return {
        "area": "pipeline", "case": case, "svia_s": round(wall, 3), "ref": None, "ref_s": None, "ratio": None,
        "peak_rss_mb": round(rss_mb, 1),
        "unet_evals_per_frame": round(evals / frames, 3), "frames": frames, "work_size": work_size,
        "preset": svia.get("preset", preset),
        "steps": "full" if run_steps is None else run_steps,
        "unet_evals": evals, "keyframes": svia.get("keyframes"), "reused_frames": svia.get("reusedFrames"),
        "categories": sorted((svia.get("categories") or {}).keys()),
        "stage_s": stages, "file_s": round(float(entry.get("seconds", 0.0)), 3), "cpu_s": round(cpu, 1),
        "per_unet_eval_s": round(per_eval, 3),
        "est_full_s": round(est_full_s, 1),
        "est_full_unet_evals_per_frame": round(est_evals / frames, 2),
    }


def evals_ratio_line(lines):
    """fast's UNet evaluations per video frame against the paper preset's full count per frame."""
    fast = next((r for r in lines if r.get("preset") == "fast" and r["case"].startswith("clip_")), None)
    if fast is None:
        fast = next((r for r in lines if r.get("preset") == "fast"), None)
    if fast is None:
        return None
    paper = next((r for r in lines if r.get("preset") == "paper"), None)
    paper_full = paper["est_full_unet_evals_per_frame"] if paper else PAPER_FULL_EVALS_PER_FRAME
    ratio = fast["unet_evals_per_frame"] / paper_full if paper_full else None
    return {
        "area": "pipeline", "case": fast["case"] + "_unet_evals_vs_paper_full", "svia_s": None, "ref": None,
        "ref_s": None, "ratio": None if ratio is None else round(ratio, 5),
        "ratio_of": "fast UNet evaluations per frame / paper UNet evaluations per frame at full steps",
        "peak_rss_mb": None, "unet_evals_per_frame": fast["unet_evals_per_frame"], "frames": fast["frames"],
        "work_size": fast["work_size"], "preset": "fast",
        "paper_full_unet_evals_per_frame": paper_full,
        "paper_full_from": paper["case"] if paper else "constant",
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
    line = make_line("clip_default_steps2", report, time_text, "default", "1024x512", 2, 25)
    assert line["frames"] == 6 and line["unet_evals"] == 22 and line["keyframes"] == 2, line
    assert abs(line["unet_evals_per_frame"] - 22 / 6) < 1e-3, line
    assert line["stage_s"]["inpaint"] == 360.0 and line["preset"] == "default", line
    per_eval = 401.0 / 22
    assert abs(line["est_full_s"] - round(421.7 + (22 * 12.5 - 22) * per_eval, 1)) < 0.05, line
    assert abs(line["est_full_unet_evals_per_frame"] - round(22 * 12.5 / 6, 2)) < 1e-9, line
    assert line["ref"] is None and line["ratio"] is None and line["peak_rss_mb"] == 9216.0, line
    full = make_line("still_paper", report, time_text, "paper", "1024x512", None, 50)
    assert full["est_full_s"] == full["svia_s"] and full["steps"] == "full", full
    fast = dict(line, case="clip_fast", preset="fast", unet_evals_per_frame=1.5)
    r = evals_ratio_line([line, fast])
    assert r["paper_full_unet_evals_per_frame"] == 520 and abs(r["ratio"] - round(1.5 / 520, 5)) < 1e-12, r
    assert r["meets_target"] is True, r
    paper = dict(line, case="still_paper_steps2", preset="paper", est_full_unet_evals_per_frame=60.0)
    r = evals_ratio_line([paper, fast])
    assert r["ratio"] == 0.025 and r["meets_target"] is False and r["paper_full_from"] == "still_paper_steps2", r
    for bad in ({"files": []}, {"files": [{"status": "failed", "input": "x", "message": "boom"}]},
                {"files": [{"status": "done", "frames": 1, "seconds": 1}]}):
        try:
            make_line("x", bad, time_text, "fast", "1024x512", None, 1)
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
    elif command == "line":
        a = args_dict(sys.argv[2:])
        report = json.load(open(a["report"]))
        run_steps = None if a["run-steps"] == "full" else int(a["run-steps"])
        line = make_line(a["case"], report, open(a["time"]).read(), a["preset"], a["work-size"], run_steps,
                         int(a["full-steps"]))
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

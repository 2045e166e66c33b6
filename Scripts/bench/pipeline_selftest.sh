#!/usr/bin/env bash
# Checks Scripts/bench/pipeline.sh end to end in seconds, with stand-ins: an `svia` that writes the sample report
# (testdata/pipeline_report_sample.json, its preset and evaluation count set per run) and a Python environment
# whose make_bench_hub.py does nothing and whose pipeline_torch.py prints a fixed reference time.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pyref/bin"
cat >"$tmp/svia" <<'SH'
#!/usr/bin/env bash
# anonymize IN -o OUT --method svia --preset P --work-size WxH --report R --quiet [--steps N]
echo "$@" >>"$SELFTEST_LOG"
input=$2 preset= report=
while [ $# -gt 0 ]; do
  case "$1" in --preset) preset=$2; shift ;; --report) report=$2; shift ;; esac
  shift
done
python3 - "$input" "$preset" "$report" <<'PY'
import json, sys
input, preset, report = sys.argv[1:]
r = json.load(open("Scripts/bench/testdata/pipeline_report_sample.json"))
f = r["files"][0]
still = not input.endswith(".mp4")
f.update(kind="image" if still else "video", frames=1 if still else 4)
# Evaluation counts of the presets' schedules (see pipeline_lines.py) at --steps 2 --harmonizer-steps 10:
# paper still 5 x 2 x 2 + 2 x 2, default still 4 x 2 x 2 + 2 x 2, fast still 1 + 1, fast clip (1 keyframe,
# 3 reused frames) 9, its single full pass read from the report's inpaintPasses.
evals = {(True, "paper"): 24, (True, "default"): 20, (True, "fast"): 2, (False, "fast"): 9}[(still, preset)]
f["svia"].update(preset=preset, unetEvaluations=evals, keyframes=0 if still else 1, reusedFrames=0 if still else 3)
if not still:
    f["svia"]["inpaintPasses"] = {"combined": 1}
json.dump(r, open(report, "w"))
PY
SH
cat >"$tmp/pyref/bin/python" <<'SH'
#!/usr/bin/env bash
case "$1" in
  *make_bench_hub.py) exit 0 ;;
  *pipeline_torch.py) shift; echo "torch $*" >>"$SELFTEST_LOG"
    case=$(echo "$@" | sed 's/.*--case \([^ ]*\).*/\1/')
    echo "{\"case\":\"$case\",\"torch_s\":842.2,\"torch_cpu_s\":1600.0,\"torch_peak_rss_mb\":12000.0}" ;;
  *) exec python3 "$@" ;;
esac
SH
chmod +x "$tmp/svia" "$tmp/pyref/bin/python"
export SELFTEST_LOG="$tmp/log"
# KEEP=DIR keeps the run's reports and lines there.
SVIA_BENCH_DIR="${KEEP:-$tmp/work}" SVIA_BENCH_SVIA="$tmp/svia" SVIA_PYREF="$tmp/pyref" SVIA_BENCH_HUB="$tmp/hub" \
  SVIA_BENCH_STEPS=2 \
  SVIA_BENCH_CASES="still_paper still_default still_fast clip_fast" Scripts/bench/pipeline.sh >"$tmp/out.jsonl"
python3 - "$tmp/out.jsonl" "$tmp/log" <<'PY'
import json, sys
lines = [json.loads(t) for t in open(sys.argv[1])]
log = open(sys.argv[2]).read()
cases = [r["case"] for r in lines]
assert cases == ["still_paper_steps2", "still_default_steps2", "still_fast", "clip_fast",
                 "clip_fast_unet_evals_vs_paper_full"], cases
by = {r["case"]: r for r in lines}
assert by["still_paper_steps2"]["ref"] is None, by["still_paper_steps2"]
assert by["still_default_steps2"]["ref"] == "torch" and by["still_default_steps2"]["ref_s"] == 842.2
assert by["still_default_steps2"]["ratio"] == round(842.2 / by["still_default_steps2"]["svia_s"], 4)
assert by["still_fast"]["ref"] == "torch" and by["clip_fast"]["ref"] is None
assert by["still_fast"]["steps"]["full"] and by["still_paper_steps2"]["steps"]["inpaint"] == 2
assert by["still_paper_steps2"]["inpaint_passes"] == 5 and by["clip_fast"]["inpaint_passes"] == 1
for r in lines[:4]:
    assert r["area"] == "pipeline" and r["work_size"] == "1024x512" and r["peak_rss_mb"] > 0, r
ratio = by["clip_fast_unet_evals_vs_paper_full"]
assert ratio["paper_full_from"] == "still_paper_steps2", ratio
assert ratio["paper_full_unet_evals_per_frame"] == 520 and ratio["ratio"] == round(9 / 4 / 520, 5), ratio
assert "--preset paper --work-size 1024x512" in log and "--steps 2 --harmonizer-steps 10" in log, log
fast_runs = [l for l in log.splitlines() if "--preset fast" in l and "--method svia" in l]
assert len(fast_runs) == 2 and all("--steps" not in l for l in fast_runs), log
ref = "torch --case still_default_steps2"
assert ref in log and "--categories building,person,road,vehicle --steps 2 --harmonizer-steps 10" in log, log
assert "torch --case still_paper" not in log, log
print("pipeline_selftest: ok")
PY

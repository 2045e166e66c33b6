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
preset= report= steps=full
while [ $# -gt 0 ]; do
  case "$1" in --preset) preset=$2; shift ;; --report) report=$2; shift ;; --steps) steps=$2; shift ;; esac
  shift
done
python3 - "$preset" "$report" "$steps" <<'PY'
import json, sys
preset, report, steps = sys.argv[1:]
r = json.load(open("Scripts/bench/testdata/pipeline_report_sample.json"))
r["files"][0]["svia"]["preset"] = preset
r["files"][0]["svia"]["unetEvaluations"] = {"paper": 22, "default": 12, "fast": 2}[preset]
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
SVIA_BENCH_SVIA="$tmp/svia" SVIA_PYREF="$tmp/pyref" SVIA_BENCH_HUB="$tmp/hub" SVIA_BENCH_STEPS=2 \
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
assert by["still_fast"]["steps"] == "full" and by["still_paper_steps2"]["steps"] == 2
for r in lines[:4]:
    assert r["area"] == "pipeline" and r["work_size"] == "1024x512" and r["peak_rss_mb"] > 0, r
ratio = by["clip_fast_unet_evals_vs_paper_full"]
assert ratio["paper_full_from"] == "still_paper_steps2" and ratio["paper_full_unet_evals_per_frame"] == round(22 * 25 / 6, 2), ratio
assert "--preset paper --work-size 1024x512" in log and "--steps 2" in log, log
assert "torch --case still_default_steps2" in log and "--categories building,person,road,traffic-sign,vehicle --steps 2" in log, log
assert "torch --case still_paper" not in log, log
print("pipeline_selftest: ok")
PY

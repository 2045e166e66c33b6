#!/usr/bin/env bash
# SegFormer forward (logits) in svia vs PyTorch and onnxruntime, measured in the same run on the same cores.
# Random-weight models from the real mit configurations (19 labels) are generated with transformers into
# ${SVIA_BENCH_CACHE:-~/.cache/svia/bench}/segformer (reused), timed by Scripts/bench/segmenter_ref.py, then by
# `sviabench segmenter` (one process per case, so peak_rss_mb is that case's). One JSON line per case and reference:
#   {"area":"segmenter","case":"b0-512x1024","svia_s":…,"ref":"torch","ref_s":…,"ratio":…,"peak_rss_mb":…}
# Needs $SVIABENCH (set by Scripts/bench.sh). Arguments select cases (default: b0-512x1024 b0-1024x2048 b2-512x1024).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${SVIA_PYREF:-$HOME/.cache/svia/pyref}/bin/python"
cache="${SVIA_BENCH_CACHE:-$HOME/.cache/svia/bench}/segformer"
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(b0-512x1024 b0-1024x2048 b2-512x1024)
if [ ! -x "$PY" ]; then
  echo "segmenter.sh: no reference environment at $PY (run Scripts/pyref.sh); it also generates the models" >&2
  exit 1
fi
refs="$(mktemp)"
trap 'rm -f "$refs"' EXIT
# References first, to completion, so that nothing else runs while svia is timed.
"$PY" Scripts/bench/segmenter_ref.py "$cache" "${cases[@]}" >"$refs"
while read -r line; do
  read -r case dir torch_s ort_s < <("$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["case"], r["model_dir"], r["torch_s"], r["onnxruntime_s"])' "$line")
  size="${case#*-}"
  "$SVIABENCH" segmenter --model "$dir" --height "${size%x*}" --width "${size#*x}" --case "$case" \
    --ref "torch=$torch_s" --ref "onnxruntime=$ort_s"
done <"$refs"

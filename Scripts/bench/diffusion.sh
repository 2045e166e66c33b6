#!/usr/bin/env bash
# SD2 networks at full size (random weights, SD2-inpainting configs) vs diffusers/transformers on the same cores in
# the same run: each case runs in its own process (`sviabench diffusion CASE`, then diffusion_torch.py CASE) so
# peak_rss_mb / ref_peak_rss_mb are that case's peaks. Prints svia's lines with "ref":"torch", ref_s and
# ratio = ref_s / svia_s, then a second line per case with "ref":"onnxruntime" (diffusion_ort.py: the same module
# exported to ONNX, cached under ~/.cache/svia/onnx/) and ratio = ort_s / svia_s; SVIA_BENCH_ORT=0 skips it.
# Needs $SVIABENCH (set by Scripts/bench.sh) and the reference environment (Scripts/pyref.sh); without it the
# lines keep ref null. Arguments select cases (default: all).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${SVIA_PYREF:-$HOME/.cache/svia/pyref}/bin/python"
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  cases=(text_encoder_77tok_b2 unet_64x64_b2 unet_128x64_b2 vae_encode_512x512 vae_decode_512x512
         vae_encode_1024x512 vae_decode_1024x512)
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for c in "${cases[@]}"; do
  "$SVIABENCH" diffusion "$c" >"$out/svia.jsonl"
  if [ -x "$PY" ]; then
    "$PY" Scripts/bench/diffusion_torch.py "$c" 2>/dev/null >"$out/torch.jsonl" || : >"$out/torch.jsonl"
    if [ "${SVIA_BENCH_ORT:-1}" != 0 ]; then
      "$PY" Scripts/bench/diffusion_ort.py "$c" >"$out/ort.jsonl" 2>"$out/ort.err" || {
        echo "diffusion.sh: onnxruntime reference for $c failed: $(tail -n 1 "$out/ort.err")" >&2
        : >"$out/ort.jsonl"
      }
    else
      : >"$out/ort.jsonl"
    fi
    MERGE="$PY"
  else
    : >"$out/torch.jsonl"
    : >"$out/ort.jsonl"
    MERGE=python3
  fi
  "$MERGE" Scripts/bench/join_refs.py "$out/svia.jsonl" torch="$out/torch.jsonl" onnxruntime="$out/ort.jsonl"
done

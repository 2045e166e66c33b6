#!/usr/bin/env bash
# TensorCore kernels vs PyTorch on the same cores in the same run: runs `sviabench engine`, then
# engine_torch.py on the same shapes, and prints svia's lines with "ref":"torch", ref_s and ratio = ref_s/svia_s.
# Needs $SVIABENCH (set by Scripts/bench.sh) and the reference environment (Scripts/pyref.sh); without it
# the lines keep ref null. Arguments select cases by name.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${SVIA_PYREF:-$HOME/.cache/svia/pyref}/bin/python"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$SVIABENCH" engine "$@" >"$out/svia.jsonl"
if [ -x "$PY" ]; then
  "$PY" Scripts/bench/engine_torch.py "$@" >"$out/torch.jsonl"
else
  echo "engine.sh: no reference environment at $PY; ratios omitted" >&2
  : >"$out/torch.jsonl"
  PY=python3
fi
"$PY" Scripts/bench/join_refs.py "$out/svia.jsonl" torch="$out/torch.jsonl"

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
"$PY" - "$out/svia.jsonl" "$out/torch.jsonl" <<'PYEOF'
import json, sys
torch = {}
for line in open(sys.argv[2]):
    r = json.loads(line)
    torch[r["case"]] = r
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = torch.get(r["case"])
    if t:
        r["ref"], r["ref_s"] = "torch", round(t["torch_s"], 4)
        r["ratio"] = round(t["torch_s"] / r["svia_s"], 4)
        r["ref_cpu_s"] = round(t["torch_cpu_s"], 4)
    print(json.dumps(r, separators=(",", ":")), flush=True)
PYEOF

#!/usr/bin/env bash
# Creates (once) the pinned Python reference environment used by the fixture scripts and benchmarks,
# outside the repository, and prints the path of its python. Reuses it when the pins are unchanged.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
req="$here/requirements-ref.txt"
dir="${SVIA_PYREF:-$HOME/.cache/svia/pyref}"
stamp="$dir/.pins-$(sha256sum "$req" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "pyref: creating the reference environment in $dir (torch, diffusers, transformers, onnxruntime; several GB)" >&2
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip >&2
  "$dir/bin/python" -m pip install -q -r "$req" >&2
  touch "$stamp"
fi
echo "$dir/bin/python"

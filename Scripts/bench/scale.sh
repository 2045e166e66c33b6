#!/usr/bin/env bash
# Scale-out benchmark: a generated 1080p clip anonymized with --method blur (label maps, no detectors) as
# `svia plan` + N local shard processes + `svia merge`, for N = 1, 2, 4, against one `svia anonymize`
# process doing the same job. One JSON object per line on stdout:
#   {"area","case","svia_s","ref","ref_s","ratio","peak_rss_mb", ...}
# svia_s is wall time from the plan to the merged file; the extra fields give the CPU seconds of all shards
# plus plan and merge (cpu_s) against the single process's (ref_cpu_s), and the merge's share of the wall time.
# Local shards share this machine's cores, so the wall-time ratio shows overhead, not cluster speed-up.
#
# Knobs (environment): SVIA_BENCH_SECONDS (clip length, default 30), SVIA_BENCH_SHARDS (default "1 2 4"),
# SVIA_BENCH_DIR (work folder, default a temporary one).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

CLIP_SECONDS=${SVIA_BENCH_SECONDS:-30}
SHARD_COUNTS=${SVIA_BENCH_SHARDS:-1 2 4}
if [ -n "${SVIA_BENCH_DIR:-}" ]; then WORK=$SVIA_BENCH_DIR; mkdir -p "$WORK"; else WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; fi
for tool in ffmpeg ffprobe /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "scale bench: $tool is required" >&2; exit 1; }
done

echo "scale bench: building release svia" >&2
swift build -c release --product svia >&2
SVIA="$(swift build -c release --show-bin-path)/svia"

CLIP="$WORK/drive-1080p-${CLIP_SECONDS}s.mp4"
if [ ! -s "$CLIP" ]; then
  echo "scale bench: generating a ${CLIP_SECONDS}s 1080p clip" >&2
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" -f lavfi -i "sine=frequency=300:sample_rate=48000" \
    -t "$CLIP_SECONDS" -vf "noise=alls=3:allf=t" -c:v libx264 -preset veryfast -crf 20 -g 30 -pix_fmt yuv420p \
    -c:a aac "$CLIP"
fi
FRAMES=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$CLIP")

# One trainIds label map (a car in a sky) linked once per frame.
MAPS="$WORK/maps"
if [ ! -s "$MAPS/$(printf %06d $((FRAMES - 1))).png" ]; then
  mkdir -p "$MAPS"
  python3 - "$MAPS/000000.png" <<'PY'
import struct, sys, zlib
w, h = 1920, 1080
rows = b"".join(b"\0" + bytes(13 if 600 <= x < 1100 and 400 <= y < 700 else 10 for x in range(w)) for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
  for ((i = 1; i < FRAMES; i++)); do ln -f "$MAPS/000000.png" "$MAPS/$(printf %06d "$i").png"; done
fi
JOB=(--masks "$MAPS" --detect none --method blur --quiet)

now() { date +%s.%N; }
# CPU seconds and peak RSS (MB) of a command, appended to a file as "cpu rss".
timed() { local out=$1; shift; /usr/bin/time -f "%U %S %M" -o "$out.t" "$@"; awk '{printf "%.3f %.1f\n", $1 + $2, $3 / 1024}' "$out.t" >> "$out"; }

echo "scale bench: single process" >&2
rm -f "$WORK/single.mp4" "$WORK/single.cost"
t0=$(now)
timed "$WORK/single.cost" "$SVIA" anonymize "$CLIP" -o "$WORK/single.mp4" "${JOB[@]}"
t1=$(now)
REF_S=$(python3 -c "print(round($t1 - $t0, 3))")
read -r REF_CPU REF_RSS < "$WORK/single.cost"

for n in $SHARD_COUNTS; do
  echo "scale bench: $n shards" >&2
  rm -rf "$WORK/out-$n" "$WORK/plan-$n.json" "$WORK/cost-$n" "$WORK/merge-$n"
  t0=$(now)
  timed "$WORK/cost-$n" "$SVIA" plan "$CLIP" -o "$WORK/out-$n/drive.mp4" "${JOB[@]}" --shards "$n" --plan "$WORK/plan-$n.json"
  pids=()
  for ((i = 0; i < n; i++)); do
    JOB_COMPLETION_INDEX=$i timed "$WORK/cost-$n" "$SVIA" anonymize --plan "$WORK/plan-$n.json" --shard env &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  m0=$(now)
  timed "$WORK/merge-$n" "$SVIA" merge "$WORK/plan-$n.json" --quiet
  t1=$(now)
  cat "$WORK/merge-$n" >> "$WORK/cost-$n"
  python3 - "$n" "$t0" "$m0" "$t1" "$REF_S" "$REF_CPU" "$WORK/cost-$n" "$WORK/merge-$n" "$FRAMES" <<'PY'
import json, sys
n, t0, m0, t1, ref_s, ref_cpu, costs, merge, frames = sys.argv[1:10]
rows = [tuple(map(float, l.split())) for l in open(costs) if l.strip()]
merge_cpu = float(open(merge).read().split()[0])
svia_s = float(t1) - float(t0)
merge_s = float(t1) - float(m0)
print(json.dumps({"area": "scale", "case": f"1080p_blur_{n}_shards", "svia_s": round(svia_s, 3),
                  "ref": "single_process", "ref_s": float(ref_s), "ratio": round(float(ref_s) / svia_s, 3),
                  "peak_rss_mb": max(r[1] for r in rows), "shards": int(n), "frames": int(frames),
                  "cpu_s": round(sum(r[0] for r in rows), 2), "ref_cpu_s": float(ref_cpu),
                  "cpu_ratio": round(sum(r[0] for r in rows) / max(float(ref_cpu), 1e-9), 3),
                  "merge_s": round(merge_s, 3), "merge_cpu_s": merge_cpu,
                  "merge_share": round(merge_s / svia_s, 4)}), flush=True)
PY
  a=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts -of csv=p=0 "$WORK/single.mp4" | sort -n | md5sum)
  b=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts -of csv=p=0 "$WORK/out-$n/drive.mp4" | sort -n | md5sum)
  [ "$a" = "$b" ] || echo "scale bench: WARNING $n shards: merged timestamps differ from the single run" >&2
done

"""Joins svia's benchmark lines with reference timings measured in the same run.

usage: join_refs.py SVIA.jsonl [torch=TORCH.jsonl] [onnxruntime=ORT.jsonl]

Each reference file holds lines {"case", "<key>_s", optionally "<key>_cpu_s", "<key>_peak_rss_mb"} with
key torch or ort. The first reference fills svia's own line (ref, ref_s, ratio = ref_s / svia_s); every
further one is printed as an extra line for the same case.
"""
import json
import sys

KEYS = {"torch": "torch", "onnxruntime": "ort"}


def load(path):
    rows = {}
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            rows[r["case"]] = r
    return rows


def fill(line, name, ref):
    key = KEYS[name]
    line["ref"], line["ref_s"] = name, round(ref[key + "_s"], 4)
    line["ratio"] = round(ref[key + "_s"] / line["svia_s"], 4)
    if key + "_cpu_s" in ref:
        line["ref_cpu_s"] = round(ref[key + "_cpu_s"], 4)
    if key + "_peak_rss_mb" in ref:
        line["ref_peak_rss_mb"] = round(ref[key + "_peak_rss_mb"], 1)


def main():
    refs = [(name, load(path)) for name, path in (a.split("=", 1) for a in sys.argv[2:])]
    for text in open(sys.argv[1]):
        if not text.strip():
            continue
        r = json.loads(text)
        extra = []
        for i, (name, rows) in enumerate(refs):
            ref = rows.get(r["case"])
            if ref is None:
                continue
            if i == 0:
                fill(r, name, ref)
            else:
                line = {k: r[k] for k in ("area", "case", "svia_s") if k in r}
                fill(line, name, ref)
                line["peak_rss_mb"] = r.get("peak_rss_mb")
                extra.append(line)
        for line in [r] + extra:
            print(json.dumps(line, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()

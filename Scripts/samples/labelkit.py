"""Small helpers for the sample label maps: polygon fill, PNG writing, image decoding.

Only numpy and the Python standard library are needed; images are decoded with the
ffmpeg command-line tool (its JPEG decoder is deterministic).
"""
import struct
import subprocess
import zlib

import numpy as np

# Cityscapes trainIds
ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN = 0, 1, 2, 3, 4, 5, 6, 7
VEGETATION, TERRAIN, SKY, PERSON, RIDER, CAR, TRUCK, BUS, TRAIN = 8, 9, 10, 11, 12, 13, 14, 15, 16
MOTORCYCLE, BICYCLE, UNLABELED = 17, 18, 255

# Cityscapes palette, used only for review overlays
PALETTE = {
    0: (128, 64, 128), 1: (244, 35, 232), 2: (70, 70, 70), 3: (102, 102, 156), 4: (190, 153, 153),
    5: (153, 153, 153), 6: (250, 170, 30), 7: (220, 220, 0), 8: (107, 142, 35), 9: (152, 251, 152),
    10: (70, 130, 180), 11: (220, 20, 60), 12: (255, 0, 0), 13: (0, 0, 142), 14: (0, 0, 70),
    15: (0, 60, 100), 16: (0, 80, 100), 17: (0, 0, 230), 18: (119, 11, 32), 255: (0, 0, 0),
}


def rect(x0, y0, x1, y1):
    """Axis-aligned rectangle as a polygon (x1, y1 exclusive)."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def polygon_mask(h, w, pts):
    """Boolean mask of the pixels whose centres lie inside the polygon (even-odd rule)."""
    mask = np.zeros((h, w), dtype=bool)
    pts = [(float(x), float(y)) for x, y in pts]
    n = len(pts)
    ys = np.arange(h) + 0.5
    xs = np.arange(w) + 0.5
    for row, yc in enumerate(ys):
        crossings = []
        for i in range(n):
            x0, y0 = pts[i]
            x1, y1 = pts[(i + 1) % n]
            if (y0 <= yc < y1) or (y1 <= yc < y0):
                crossings.append(x0 + (yc - y0) * (x1 - x0) / (y1 - y0))
        crossings.sort()
        for a, b in zip(crossings[0::2], crossings[1::2]):
            mask[row] |= (xs >= a) & (xs < b)
    return mask


def render(h, w, layers, background=UNLABELED):
    """Paint (trainId, polygon) layers in order; later layers cover earlier ones."""
    out = np.full((h, w), background, dtype=np.uint8)
    for label, pts in layers:
        out[polygon_mask(h, w, pts)] = label
    return out


def _chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def write_png(path, img):
    """Write an 8-bit grayscale (H, W) or RGB (H, W, 3) PNG without ancillary chunks."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape[:2]
    colour_type = 0 if img.ndim == 2 else 2
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))
    data = b"\x89PNG\r\n\x1a\n"
    data += _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0))
    data += _chunk(b"IDAT", zlib.compress(raw, 9))
    data += _chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def read_rgb(path):
    """Decode an image file to an (H, W, 3) uint8 array with ffmpeg."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "csv=p=0", path], check=True, capture_output=True, text=True).stdout.strip()
    w, h = (int(v) for v in probe.split(",")[:2])
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3)


def overlay(rgb, labels, alpha=0.5):
    """Colour overlay of a label map on its image, for review."""
    col = np.zeros_like(rgb)
    for k, c in PALETTE.items():
        col[labels == k] = c
    out = rgb.astype(np.float32) * (1 - alpha) + col.astype(np.float32) * alpha
    return out.astype(np.uint8)

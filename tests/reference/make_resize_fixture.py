"""Regenerate tests/fixtures/opencv_resize.txt: OpenCV INTER_LINEAR upsampling of a small map.

OpenCV's own code (cv2.ipp.setUseIPP(False)): opencv-python's default Intel IPP path differs
from it in the last bits of many values; the engine matches OpenCV's code bit for bit.

Usage: pip install opencv-python-headless numpy && python tests/reference/make_resize_fixture.py
"""

import pathlib

import cv2
import numpy as np

cv2.ipp.setUseIPP(False)
src = np.array([[0.0, 1.0, 4.0], [2.0, -1.0, 3.0]], dtype=np.float32)
cases = [(5, 7), (2, 3), (9, 4), (1, 1), (224, 300)]
out = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "opencv_resize.txt"
lines = [f"# cv2.resize(src, (w, h), interpolation=INTER_LINEAR), OpenCV {cv2.__version__}, "
         "without IPP"]
lines.append("src 2 3 " + " ".join(f"{v:.9g}" for v in src.ravel()))
for h, w in cases:
    dst = cv2.resize(src, (w, h), interpolation=cv2.INTER_LINEAR)
    lines.append(f"dst {h} {w} " + " ".join(f"{v:.9g}" for v in dst.ravel()))
out.write_text("\n".join(lines) + "\n")
print(f"wrote {out}")

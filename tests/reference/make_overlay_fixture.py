"""pytorch-grad-cam's overlay of one map on one photo, for the engine's default overlay.

What it does
------------
- Photo: tests/fixtures/chelsea.png, RGB, resized to 131x97 (PIL BILINEAR; odd sizes so
  the resize coefficients are not round numbers), saved as tests/fixtures/overlay/photo.png.
- Map: the raw (ReLU'd, not normalised) layer3 Grad-CAM map of tiny_bottleneck for
  chelsea's top-1 class, 8x8, from tests/fixtures/cam/tiny_bottleneck.json, saved as
  float32 map.npy.
- Mask, as pytorch-grad-cam 1.5.7 builds it for one target layer with target size = the
  photo's (base_cam.py:148-181): scale_cam_image(map, (W, H)) (min-max with 1e-7, then
  cv2.resize INTER_LINEAR), then aggregate_multi_layers (np.maximum(., 0), mean over the
  one layer, scale_cam_image again). Saved as float32 mask.npy.
- Overlays: show_cam_on_image(np.float32(photo) / 255, mask, use_rgb=True,
  image_weight=w) for w = 0.5 (the default) and 0.3, saved as overlay.w0.5.png and
  overlay.w0.3.png (RGB8, lossless).

OpenCV and Intel IPP
--------------------
opencv-python's x86 wheels route cv2.resize through Intel IPP by default, and IPP's float
bilinear resize differs from OpenCV's own code in the last bit of many pixels (and may
depend on the CPU). The fixture is made with cv2.ipp.setUseIPP(False), i.e. OpenCV's own
INTER_LINEAR, which the engine reproduces bit for bit. The script also runs the default
(IPP) path and prints how many mask values and overlay bytes differ, so the README can say
what a default OpenCV install would give.

How to run
----------
    pip install grad-cam==1.5.7 opencv-python-headless numpy pillow
    python tests/reference/make_overlay_fixture.py
"""

import json
import pathlib

import cv2
import numpy as np
from PIL import Image
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.image import scale_cam_image, show_cam_on_image

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OUT = FIXTURES / "overlay"
SIZE = (131, 97)  # (W, H)
WEIGHTS = [0.5, 0.3]


def mask_like_pytorch_grad_cam(raw, size):
    """BaseCAM.compute_cam_per_layer's scaling + aggregate_multi_layers, one layer."""
    per_layer = scale_cam_image(np.maximum(raw, 0)[None], size)[:, None, :]
    return BaseCAM.aggregate_multi_layers(None, [per_layer])[0]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with Image.open(FIXTURES / "chelsea.png") as im:
        photo = np.asarray(im.convert("RGB").resize(SIZE, Image.BILINEAR))
    Image.fromarray(photo).save(OUT / "photo.png")
    doc = json.loads((FIXTURES / "cam" / "tiny_bottleneck.json").read_text())
    case = next(c for c in doc["photos"][0]["cases"]
                if c["method"] == "GradCAM" and c["layer"] == "layer3" and c["role"] == "top1")
    raw = np.float32(case["raw"]).reshape(case["height"], case["width"])
    np.save(OUT / "map.npy", np.ascontiguousarray(raw, dtype="<f4"))
    img = np.float32(photo) / 255

    results = {}
    for ipp in (False, True):
        cv2.ipp.setUseIPP(ipp)
        mask = mask_like_pytorch_grad_cam(raw, SIZE)
        overlays = {w: show_cam_on_image(img, mask, use_rgb=True, image_weight=w)
                    for w in WEIGHTS}
        results[ipp] = (mask, overlays)
    cv2.ipp.setUseIPP(False)
    mask, overlays = results[False]
    assert mask.shape == (SIZE[1], SIZE[0]) and mask.dtype == np.float32
    np.save(OUT / "mask.npy", np.ascontiguousarray(mask, dtype="<f4"))
    for w, overlay in overlays.items():
        assert overlay.shape == (SIZE[1], SIZE[0], 3) and overlay.dtype == np.uint8
        Image.fromarray(overlay).save(OUT / f"overlay.w{w}.png")

    ipp_mask, ipp_overlays = results[True]
    ulps = np.abs(ipp_mask.view(np.int32) - mask.view(np.int32))
    print(f"OpenCV {cv2.__version__}; with IPP: {int((ulps > 0).sum())} of {mask.size} mask "
          f"values differ (at most {int(ulps.max())} ulp)")
    for w in WEIGHTS:
        diff = ipp_overlays[w].astype(int) - overlays[w]
        print(f"  image_weight {w}: {int((diff != 0).sum())} overlay bytes differ "
              f"(at most {int(np.abs(diff).max())})")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

"""Regenerate tests/fixtures/icc/: photos tagged with wide-gamut ICC profiles (Display P3, as
phones write them, and Adobe RGB (1998), as cameras do) and expected.json with the sRGB
pixels LittleCMS (through Pillow's ImageCms, an implementation independent of ours) makes of
them.

The two profiles are written here from their published definitions (primaries, D65 white,
transfer curve; colorants adapted to the D50 connection space with the Bradford matrix, as
ICC.1 requires), so no profile file of unknown origin is needed. Each photo is a grid of
flat 16x16 colour patches, so that JPEG compression (quality 95, no chroma subsampling)
leaves the patch centres close to their values whatever the decoder.

Run: /work/pyref/bin/python tests/reference/make_icc_fixtures.py (numpy, Pillow with
LittleCMS). Tests never run Python.
"""

import io
import json
import pathlib
import struct

import numpy as np
from PIL import Image, ImageCms

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "icc"
PATCH = 16
D65 = (0.3127, 0.3290)
D50_XYZ = (0.9642, 1.0, 0.8249)
BRADFORD = np.array([[0.8951, 0.2664, -0.1614],
                     [-0.7502, 1.7135, 0.0367],
                     [0.0389, -0.0685, 1.0296]])

# Saturated and mid colours, where a wide gamut differs most from sRGB, plus neutrals.
COLOURS = [(230, 40, 40), (40, 200, 60), (40, 60, 220), (250, 200, 30), (200, 60, 200),
           (30, 200, 200), (180, 120, 80), (128, 128, 128), (255, 255, 255), (0, 0, 0),
           (255, 0, 0), (0, 255, 0)]


def xyz(xy):
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def colorants(primaries):
    """RGB->XYZ matrix for the primaries and D65, adapted to D50 (columns: r, g, b)."""
    m = np.stack([xyz(p) for p in primaries], axis=1)
    m = m * np.linalg.solve(m, xyz(D65))
    cone = BRADFORD @ xyz(D65), BRADFORD @ np.array(D50_XYZ)
    adapt = np.linalg.inv(BRADFORD) @ np.diag(cone[1] / cone[0]) @ BRADFORD
    return adapt @ m


def s15(v):
    return struct.pack(">i", int(round(v * 65536)))


def xyz_tag(v):
    return b"XYZ " + bytes(4) + b"".join(s15(c) for c in v)


def text_desc(text):
    ascii_text = text.encode() + b"\0"
    return (b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text
            + bytes(4) + bytes(4) + bytes(2) + bytes(1) + bytes(67))


def profile(name, primaries, curve):
    """An ICC v2 display profile, matrix/TRC: desc, cprt, wtpt, r/g/bXYZ, r/g/bTRC."""
    m = colorants(primaries)
    tags = [(b"desc", text_desc(name)),
            (b"cprt", b"text" + bytes(4) + b"No copyright, use freely\0"),
            (b"wtpt", xyz_tag(D50_XYZ)),
            (b"rXYZ", xyz_tag(m[:, 0])), (b"gXYZ", xyz_tag(m[:, 1])), (b"bXYZ", xyz_tag(m[:, 2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + bytes(4) + bytes([2, 0x10, 0, 0]) + b"mntr" + b"RGB "
              + b"XYZ " + struct.pack(">6H", 2000, 1, 1, 0, 0, 0) + b"acsp" + bytes(4)
              + bytes(4) + bytes(4) + bytes(4) + bytes(8) + bytes(4)
              + b"".join(s15(c) for c in D50_XYZ) + bytes(4) + bytes(16) + bytes(28))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


# sRGB's curve (IEC 61966-2-1) as ICC parametric function 3: Display P3 uses it.
SRGB_CURVE = (b"para" + bytes(4) + struct.pack(">H", 3) + bytes(2)
              + b"".join(s15(v) for v in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)))
# Adobe RGB (1998): a pure power law, gamma 563/256.
ADOBE_CURVE = b"curv" + bytes(4) + struct.pack(">I", 1) + struct.pack(">H", 563) + bytes(2)

PROFILES = {
    "display-p3": profile("Display P3 (gradcam-web test profile)",
                          [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)], SRGB_CURVE),
    "adobe-rgb": profile("Adobe RGB 1998 (gradcam-web test profile)",
                         [(0.640, 0.330), (0.210, 0.710), (0.150, 0.060)], ADOBE_CURVE),
}


def patches():
    """A 4x3 grid of flat patches, one per colour."""
    image = np.zeros((3 * PATCH, 4 * PATCH, 3), np.uint8)
    for i, colour in enumerate(COLOURS):
        y, x = divmod(i, 4)
        image[y * PATCH:(y + 1) * PATCH, x * PATCH:(x + 1) * PATCH] = colour
    return image


def to_srgb(pixels, icc):
    """LittleCMS's conversion of `pixels` (in the profile's space) to sRGB."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    srgb = ImageCms.createProfile("sRGB")
    out = ImageCms.profileToProfile(Image.fromarray(pixels), source, srgb,
                                    renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                    outputMode="RGB")
    return np.asarray(out)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, icc in PROFILES.items():
        for ext, params, tolerance in [("png", {}, 2),
                                       ("jpg", {"quality": 95, "subsampling": 0}, 4)]:
            file = f"{name}.{ext}"
            buffer = io.BytesIO()
            Image.fromarray(patches()).save(buffer, "PNG" if ext == "png" else "JPEG",
                                            icc_profile=icc, **params)
            (OUT / file).write_bytes(buffer.getvalue())
            # The stored values, as Pillow decodes them, then LittleCMS's sRGB of them.
            stored = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
            expected = to_srgb(stored, icc)
            points = []
            for i in range(len(COLOURS)):
                y, x = divmod(i, 4)
                cx, cy = x * PATCH + PATCH // 2, y * PATCH + PATCH // 2
                points.append({"x": cx, "y": cy, "stored": [int(c) for c in stored[cy, cx]],
                               "srgb": [int(c) for c in expected[cy, cx]]})
            shift = max(abs(p["srgb"][c] - p["stored"][c]) for p in points for c in range(3))
            assert shift >= 20, f"{file}: the profile must matter ({shift})"
            cases.append({"file": file, "profile": name, "tolerance": tolerance,
                          "width": 4 * PATCH, "height": 3 * PATCH, "points": points})
            print(f"{file}: largest shift from the stored values {shift}")
    (OUT / "expected.json").write_text(json.dumps(cases, indent=1) + "\n")


if __name__ == "__main__":
    main()

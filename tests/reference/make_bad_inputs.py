"""Regenerate tests/fixtures/bad/: awkward, damaged and unsupported image files for the
photo decoder, plus expected.json (what the decoder must do with each) and README.md.

Most files derive from tests/fixtures/chelsea.png (CC0), downscaled to 120x80; the rest
are synthetic. Expectations come from the pixels written here, never from a decoder.

Run: /work/pyref/venv/bin/python tests/reference/make_bad_inputs.py
Needs numpy and Pillow (with WebP and LittleCMS). Output is deterministic for a given
Pillow/libjpeg/libwebp/zlib build; tests never run Python.
"""

import io
import json
import pathlib
import struct
import zlib

import numpy as np
from PIL import Image, ImageCms, ImageOps

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "fixtures" / "chelsea.png"
OUT = ROOT / "tests" / "fixtures" / "bad"
SMALL = (120, 80)  # size of the derived photos
GREY = (128, 128, 128)
RED = (255, 0, 0)
BLUE = (0, 0, 255)

entries = []  # expected.json rows, in order
notes = {}  # file -> why it is here (README only)


def write(name, data, why):
    """Writes raw bytes to bad/<name> and remembers the README line."""
    (OUT / name).write_bytes(data)
    notes[name] = why


def save(name, image, why, **params):
    """Saves a Pillow image to bad/<name> (format from the extension) and returns the bytes."""
    buffer = io.BytesIO()
    fmt = {"jpg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP",
           "tiff": "TIFF"}[name.rsplit(".", 1)[1]]
    image.save(buffer, fmt, **params)
    write(name, buffer.getvalue(), why)
    return buffer.getvalue()


def error(name, what, message):
    """An expected failure: the user-facing message must contain `message` (lowercase)."""
    entries.append({"file": name, "what": what, "expect": "error", "message": message})


def ok(name, what, width, height, pixels):
    """An expected success: upright size and (x, y, rgb, tolerance) spot checks."""
    entries.append({"file": name, "what": what, "expect": "ok", "width": width,
                    "height": height,
                    "pixels": [{"x": x, "y": y, "rgb": [int(c) for c in rgb], "tolerance": t}
                               for x, y, rgb, t in pixels]})


def over_white(c, a):
    """8-bit channel c with alpha a composited over white (rounded like the decoder)."""
    return (c * a + 255 * (255 - a) + 127) // 255


# --- PNG by hand (16-bit, and the bomb that must never exist in memory) ---------------

def chunk(tag, data):
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bytes(width, height, bit_depth, color_type, rows):
    """A PNG from an iterable of unfiltered rows, compressed as they stream past."""
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(b"\0" + row) for row in rows]
    idat = b"".join(parts) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    body = b"".join(chunk(b"IDAT", idat[i:i + 65536]) for i in range(0, len(idat), 65536))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + body + chunk(b"IEND", b"")


def png_chunks(data):
    """[(tag, payload)] of a PNG, asserting the signature and every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + payload), tag
        out.append((tag, payload))
        pos += 12 + length
    assert out[0][0] == b"IHDR" and out[-1][0] == b"IEND"
    return out


def jpeg_segment(data, marker):
    """Offset of the first segment with `marker` (walking the segments from SOI)."""
    pos = 2
    while data[pos] == 0xFF and data[pos + 1] != marker:
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    assert data[pos] == 0xFF and data[pos + 1] == marker
    return pos


def mp4_box(kind, payload):
    """An ISO-BMFF box: 32-bit size, 4-byte type, payload."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def assert_ends_in_scan_marker(data):
    """The naive rule (last FF DA before the last FF D9) would call `data` truncated."""
    assert data.rfind(b"\xff\xda") > data.rfind(b"\xff\xd9"), "the tail must fool it"


def smooth_points(rgb, count=3):
    """`count` (x, y) points, one per vertical strip, where the 5x5 neighbourhood is the
    flattest: spot checks there survive lossy compression."""
    h, w, _ = rgb.shape
    a = rgb.astype(int)
    spread = np.full((h, w), 10_000)
    for y in range(2, h - 2):
        for x in range(2, w - 2):
            window = a[y - 2:y + 3, x - 2:x + 3]
            spread[y, x] = (window.max(axis=(0, 1)) - window.min(axis=(0, 1))).max()
    points = []
    for i in range(count):
        x0, x1 = i * w // count, (i + 1) * w // count
        y, x = np.unravel_index(np.argmin(spread[:, x0:x1]), (h, x1 - x0))
        points.append((int(x0 + x), int(y)))
    return points


def photo_checks(rgb, points, tolerance):
    """Spot checks of the source colour at `points`."""
    return [(x, y, rgb[y, x], tolerance) for x, y in points]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    photo = Image.open(SOURCE).convert("RGB").resize(SMALL, Image.LANCZOS)
    photo.info.clear()  # drop the source's ICC profile: only icc-profile.jpg carries one
    rgb = np.asarray(photo)
    w, h = SMALL
    spots = smooth_points(rgb)

    # --- files the decoder must refuse ------------------------------------------------
    write("empty.jpg", b"", "0 bytes with a photo extension")
    error("empty.jpg", "0-byte file", "empty")

    write("text-renamed.jpg",
          "This is a text file, not a photo.\nCeci n’est pas une image. 这不是照片。\n".encode(),
          "UTF-8 text renamed to .jpg")
    error("text-renamed.jpg", "UTF-8 text file with a .jpg name", "not an image")

    baseline = io.BytesIO()
    photo.save(baseline, "JPEG", quality=90)
    baseline = baseline.getvalue()
    cut = baseline[:len(baseline) // 2]
    assert cut.find(b"\xff\xda") > 0 and b"\xff\xd9" not in cut, "cut must be inside the scan"
    write("truncated.jpg", cut, "baseline JPEG cut in the middle of its scan (no FF D9)")
    error("truncated.jpg", "baseline JPEG cut to half its length (no end-of-image marker)",
          "truncated")

    png = io.BytesIO()
    photo.save(png, "PNG")
    png = png.getvalue()
    idat = png.find(b"IDAT")
    (idat_len,) = struct.unpack(">I", png[idat - 4:idat])
    write("truncated.png", png[:idat + 4 + idat_len // 2],
          "PNG cut halfway through its IDAT data")
    error("truncated.png", "PNG cut in the middle of its IDAT chunk", "could not be decoded")

    write("bad-header.png", png[:1] + b"X" + png[2:],
          "PNG whose signature reads \\x89XNG: no longer recognisable as PNG")
    error("bad-header.png", "PNG with a damaged signature (\\x89XNG...)", "not an image")

    sof = jpeg_segment(baseline, 0xC0)
    damaged = bytearray(baseline)
    damaged[sof + 5:sof + 9] = b"\0\0\0\0"  # height and width
    write("bad-header.jpg", bytes(damaged), "baseline JPEG whose SOF0 declares 0x0 pixels")
    error("bad-header.jpg", "JPEG whose SOF0 segment declares width 0 and height 0",
          "could not be decoded")

    # Phones append data after the photo's end-of-image marker: a Motion Photo's video
    # (Google, Samsung), an MPF preview, vendor trailers. Both hold FF DA and FF D9 pairs
    # anywhere; the photo is still whole.
    thumb = io.BytesIO()
    photo.resize((40, 27)).save(thumb, "JPEG", quality=80)
    tail = thumb.getvalue() + b"\xff\xda\x00\x0cvendor trailer"
    write("appended-block.jpg", baseline + tail,
          "baseline JPEG followed by a second JPEG and a trailer holding FF DA")
    ok("appended-block.jpg", "baseline JPEG with a block after its end-of-image marker that "
       "contains FF DA and FF D9 (an appended preview and trailer)", w, h,
       photo_checks(rgb, spots, 16))
    assert_ends_in_scan_marker(baseline + tail)

    rng = np.random.default_rng(7)
    mdat = bytearray(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    mdat[100:102] = b"\xff\xd9"
    mdat[-40:-38] = b"\xff\xda"
    mp4 = (mp4_box(b"ftyp", b"mp42" + struct.pack(">I", 0) + b"isommp42")
           + mp4_box(b"mdat", bytes(mdat)))
    write("motion-photo.jpg", baseline + mp4,
          "baseline JPEG followed by an MP4-like video (ftyp + mdat), as in a Motion Photo")
    ok("motion-photo.jpg", "Motion Photo layout: baseline JPEG, then an MP4 (ftyp, mdat of "
       "random bytes with FF D9 and FF DA) after the end-of-image marker", w, h,
       photo_checks(rgb, spots, 16))
    assert_ends_in_scan_marker(baseline + mp4)

    # One flipped bit in a chunk name (IDAT -> I\xc4AT): decoders describe it with raw bytes.
    damaged_png = bytearray(png)
    damaged_png[idat + 1] ^= 0x80
    write("bad-chunk.png", bytes(damaged_png),
          "PNG whose IDAT chunk name has one flipped bit (49 C4 41 54): an unknown critical chunk")
    error("bad-chunk.png", "PNG with a damaged chunk name (a flipped bit makes a non-letter byte); "
          "the message must not show the raw bytes", "the png data is damaged")

    side = 20_000
    zero_row = bytes(side)
    bomb = png_bytes(side, side, 8, 0, (zero_row for _ in range(side)))
    write("bomb-20000x20000.png", bomb,
          "valid 20000x20000 grayscale PNG of zeros: 400 MB of pixels in a few hundred kB")
    error("bomb-20000x20000.png", "decompression bomb: valid 20000x20000 PNG (400 megapixels)",
          "too large")

    largest = 10_000  # exactly the decoder's limit (MAX_PIXELS = 100 megapixels): accepted
    write("largest-10000x10000.png", png_bytes(largest, largest, 8, 0, (bytes(largest) for _ in range(largest))),
          "valid 10000x10000 grayscale PNG of zeros: the largest photo the decoder accepts")
    ok("largest-10000x10000.png", "100-megapixel PNG, exactly at the decoder's limit (explained; drawn at display size, saved at full size)",
       largest, largest, [(9_999, 9_999, (0, 0, 0), 0)])

    write("drawing.svg", (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48" viewBox="0 0 64 48">\n'
        '  <rect width="64" height="48" fill="#808080"/>\n'
        '  <circle cx="32" cy="24" r="16" fill="#ff0000"/>\n'
        '</svg>\n').encode(), "small valid SVG drawing (vector, not a photo)")
    error("drawing.svg", "SVG drawing", "svg")

    ftyp = b"ftyp" + b"heic" + struct.pack(">I", 0) + b"mif1" + b"heic"
    meta = b"meta" + bytes(4)  # full-box version/flags; contents omitted
    write("iphone.heic", struct.pack(">I", 8 + len(ftyp) - 4) + ftyp
          + struct.pack(">I", 8 + len(meta) - 4) + meta,
          "ISO-BMFF ftyp box with major brand heic, then an empty meta box (header only)")
    error("iphone.heic", "HEIC header (ftyp box, brand heic), no image data", "heic")

    # --- odd shapes ---------------------------------------------------------------------
    save("tiny-1x1.png", Image.new("RGB", (1, 1), (200, 100, 50)), "a single pixel")
    ok("tiny-1x1.png", "1x1 RGB PNG", 1, 1, [(0, 0, (200, 100, 50), 0)])

    ys = np.arange(10_000)
    ramp = (ys * 255 // 9999).astype(np.uint8)
    thin = np.zeros((10_000, 2, 3), np.uint8)
    thin[:, :, 0] = ramp[:, None]
    thin[:, :, 1] = 255 - ramp[:, None]
    thin[:, 1, 2] = 255
    save("thin-2x10000.png", Image.fromarray(thin), "2 wide, 10000 tall: extreme aspect ratio")
    ok("thin-2x10000.png", "2x10000 RGB PNG, red rises top to bottom, green falls", 2, 10_000,
       [(x, y, thin[y, x], 0) for x, y in [(0, 0), (1, 5000), (0, 9999)]])

    # --- colour types and bit depths ------------------------------------------------------
    gray = photo.convert("L")
    g = np.asarray(gray)
    save("gray.png", gray, "8-bit grayscale (L)")
    ok("gray.png", "8-bit grayscale PNG (L)", w, h,
       [(x, y, [g[y, x]] * 3, 0) for x, y in spots])

    alpha = np.full((h, w), 255, np.uint8)
    alpha[h // 2:, :] = 64
    save("gray-alpha.png", Image.fromarray(np.dstack([g, alpha]), "LA"),
         "grayscale + alpha (LA), bottom half alpha 64")
    la_points = [(20, 10), (100, 60), (60, 70)]
    ok("gray-alpha.png", "grayscale+alpha PNG (LA): top opaque, bottom alpha 64 over white",
       w, h, [(x, y, [over_white(int(g[y, x]), int(alpha[y, x]))] * 3, 1)
              for x, y in la_points])

    alpha = np.full((h, w), 255, np.uint8)
    alpha[:, :w // 3] = 0
    alpha[:, w // 3:2 * w // 3] = 128
    save("rgba-transparent.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
         "RGBA: left third alpha 0 (cat still underneath), middle third alpha 128")
    ok("rgba-transparent.png",
       "RGBA PNG: left third fully transparent, middle third alpha 128, right third opaque; "
       "transparency composites over white", w, h,
       [(10, 40, (255, 255, 255), 0)]
       + [(x, y, [over_white(int(c), 128) for c in rgb[y, x]], 1) for x, y in [(60, 40)]]
       + [(x, y, rgb[y, x], 0) for x, y in [(100, 40)]])

    low = ((np.arange(w)[None, :] * 37 + np.arange(h)[:, None] * 101) % 256).astype(np.uint16)
    rgb16 = np.minimum(rgb.astype(np.uint16) * 256 + low[:, :, None], 65535).astype(">u2")
    data = png_bytes(w, h, 16, 2, (row.tobytes() for row in rgb16))
    write("rgb16.png", data, "16 bits per channel RGB, low bytes vary (catches byte-order bugs)")
    ok("rgb16.png", "16-bit RGB PNG", w, h,
       [(x, y, [round(int(v) / 257) for v in rgb16[y, x]], 2) for x, y in spots])

    g16 = np.minimum(g.astype(np.uint16) * 256 + low, 65535).astype(">u2")
    data = png_bytes(w, h, 16, 0, (row.tobytes() for row in g16))
    write("gray16.png", data, "16-bit grayscale, low bytes vary")
    ok("gray16.png", "16-bit grayscale PNG", w, h,
       [(x, y, [round(int(g16[y, x]) / 257)] * 3, 2) for x, y in spots])

    # --- other containers -----------------------------------------------------------------
    save("cmyk.jpg", photo.convert("CMYK"),
         "CMYK JPEG (Adobe APP14, inverted as Photoshop writes)", quality=90)
    ok("cmyk.jpg", "CMYK JPEG (Pillow's naive RGB->CMYK, K=0)", w, h,
       photo_checks(rgb, spots, 40))

    save("progressive.jpg", photo, "progressive JPEG", quality=90, progressive=True)
    ok("progressive.jpg", "progressive JPEG", w, h, photo_checks(rgb, spots, 16))

    frames = [Image.new("RGB", (64, 48), RED), Image.new("RGB", (64, 48), BLUE)]
    frames[0].paste((255, 255, 255), (0, 0, 8, 8))
    save("animated.gif", frames[0], "2-frame GIF: frame 1 red, frame 2 blue (first frame shown)",
         save_all=True, append_images=frames[1:], duration=500, loop=0)
    ok("animated.gif", "animated GIF, 2 frames: frame 1 red (white 8x8 corner), frame 2 blue; "
       "the first frame is shown", 64, 48, [(32, 24, RED, 0), (2, 2, (255, 255, 255), 0)])

    save("photo.webp", photo, "lossless WebP", lossless=True)
    ok("photo.webp", "lossless WebP", w, h, photo_checks(rgb, spots, 0))
    save("photo-lossy.webp", photo, "lossy WebP", quality=90)
    ok("photo-lossy.webp", "lossy WebP", w, h, photo_checks(rgb, spots, 20))
    save("photo.bmp", photo, "24-bit BMP")
    ok("photo.bmp", "24-bit BMP", w, h, photo_checks(rgb, spots, 0))
    save("photo.tiff", photo, "RGB TIFF, LZW", compression="tiff_lzw")
    ok("photo.tiff", "RGB TIFF, LZW-compressed", w, h, photo_checks(rgb, spots, 0))

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    assert profile[36:40] == b"acsp" and not any(profile[84:100])  # no profile ID to redo
    profile[24:36] = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)  # creation date: fixed
    profile = bytes(profile)
    save("icc-profile.jpg", photo, "JPEG with an embedded sRGB ICC profile (LittleCMS-built)",
         quality=90, icc_profile=profile)
    ok("icc-profile.jpg", "JPEG with an embedded sRGB ICC profile", w, h,
       photo_checks(rgb, spots, 16))

    # --- EXIF orientation -------------------------------------------------------------------
    # Upright: 60 wide x 40 tall, top-left quadrant red, rest grey. Stored pixels for value N
    # are the inverse of what a viewer does for N (EXIF 2.3, tag 0x0112):
    # 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 viewer rotates 90 cw, 7 transverse,
    # 8 viewer rotates 90 ccw.
    uw, uh = 60, 40
    upright = np.empty((uh, uw, 3), np.uint8)
    upright[:] = GREY
    upright[:uh // 2, :uw // 2] = RED
    stored_for = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, 1),  # stored = upright turned 90 ccw
        7: lambda a: np.rot90(a, 1)[:, ::-1],  # transverse (anti-diagonal mirror)
        8: lambda a: np.rot90(a, -1),  # stored = upright turned 90 cw
    }
    checks = [(15, 10, RED, 24), (45, 10, GREY, 24), (15, 30, GREY, 24), (45, 30, GREY, 24)]
    for n, transform in stored_for.items():
        exif = Image.Exif()
        exif[0x0112] = n
        name = f"orientation-{n}.jpg"
        stored = np.ascontiguousarray(transform(upright))
        data = save(name, Image.fromarray(stored), f"EXIF orientation {n}, stored "
                    f"{stored.shape[1]}x{stored.shape[0]}; upright 60x40, red top-left",
                    quality=95, exif=exif.tobytes())
        shown = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
        assert shown.shape == upright.shape, (n, shown.shape)
        for x, y, colour, t in checks:
            assert np.abs(shown[y, x].astype(int) - colour).max() <= t, (n, x, y, shown[y, x])
        ok(name, f"EXIF orientation {n}, stored {stored.shape[1]}x{stored.shape[0]}; "
           "upright 60x40 with the top-left quadrant red, the rest grey", uw, uh, checks)

    # --- self-checks of the hand-made files -------------------------------------------------
    chunks = png_chunks((OUT / "bomb-20000x20000.png").read_bytes())
    assert struct.unpack(">II", chunks[0][1][:8]) == (side, side)
    stream, total = zlib.decompressobj(), 0
    packed = b"".join(p for t, p in chunks if t == b"IDAT")
    for i in range(0, len(packed), 1024):
        piece = stream.decompress(packed[i:i + 1024])
        assert not piece.strip(b"\0")
        total += len(piece)
    assert stream.eof and total == side * (side + 1)
    for name in ["rgb16.png", "gray16.png"]:
        assert png_chunks((OUT / name).read_bytes())[0][1][8] == 16

    (OUT / "expected.json").write_text(expected_json())
    write_readme()
    for entry in entries:
        print(f"{(OUT / entry['file']).stat().st_size:>9}  {entry['file']}")


def expected_json():
    """expected.json text: one key per line, one spot check per line."""
    def field(key, value):
        if key != "pixels":
            return f'    "{key}": {json.dumps(value, ensure_ascii=False)}'
        checks = ",\n".join("      " + json.dumps(p) for p in value)
        return f'    "{key}": [\n{checks}\n    ]'
    blocks = ["  {\n" + ",\n".join(field(k, v) for k, v in e.items()) + "\n  }"
              for e in entries]
    text = "[\n" + ",\n".join(blocks) + "\n]\n"
    assert json.loads(text) == entries
    return text


def write_readme():
    """README.md: one line per file, how to regenerate, licences."""
    lines = [
        "# Awkward and bad inputs for the photo decoder",
        "",
        "Made by `tests/reference/make_bad_inputs.py` (run it with a Python that has numpy",
        "and Pillow, e.g. `/work/pyref/venv/bin/python tests/reference/make_bad_inputs.py`);",
        "it rewrites every file here. `expected.json` says, per file, whether decoding must",
        "succeed (upright `width`/`height` and `pixels` spot checks of the 8-bit RGB result,",
        "each within `tolerance` per channel; transparency composited over white) or fail",
        "(`message`: a lowercase substring of the user-facing error).",
        "",
    ]
    lines += [f"- `{e['file']}`: {notes[e['file']]}." for e in entries]
    lines += [
        "",
        "## Licence",
        "",
        "Files showing the cat derive from `tests/fixtures/chelsea.png` (scikit-image 0.26.0,",
        "\"Chelsea the cat\", photo by Stefan van der Walt): CC0 (\"No copyright restrictions.",
        "CC0 by the photographer\", `skimage.data.chelsea` docstring). Those are truncated.*,",
        "bad-header.*, gray*, rgba-transparent.png, rgb16.png, cmyk.jpg, progressive.jpg,",
        "photo.*, icc-profile.jpg. The others are synthetic and ours (MIT OR Apache-2.0).",
        "",
    ]
    (OUT / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()

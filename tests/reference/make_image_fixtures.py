"""Regenerate small image fixtures for the decoder tests.

- exif-orientation-6.jpg: stored 32×16 (left half red, right half blue) with EXIF
  orientation 6 ("rotate 90° clockwise to display"); upright it is 16×32, red on top.

Usage: pip install pillow && python tests/reference/make_image_fixtures.py
"""

import pathlib

from PIL import Image

fixtures = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
image = Image.new("RGB", (32, 16), (0, 0, 255))
image.paste((255, 0, 0), (0, 0, 16, 16))
exif = Image.Exif()
exif[0x0112] = 6  # Orientation
image.save(fixtures / "exif-orientation-6.jpg", quality=95, exif=exif.tobytes())
print("wrote", fixtures / "exif-orientation-6.jpg")

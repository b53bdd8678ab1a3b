"""An uploaded icon (ICO) whose header says 16x16 but which holds a large PNG was decoded in
full by Image.open, before load_image's max_pixels check: a 140 KB upload made the service
decode 144 MB (6000x6000 RGBA), a 657 KB one 676 MB, per view. Only the dataset formats are
opened now, so nothing is decoded past the header of an image larger than max_pixels."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageFile

from vision.images import ImageLoadError, load_image


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def _icon(png: bytes) -> bytes:
    # one directory entry claiming 16x16, its data a PNG of another size
    entry = struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


@pytest.fixture()
def decoded(monkeypatch):
    """The sizes of every image Pillow decodes."""
    sizes: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def load(self):
        sizes.append(tuple(self.size))
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return sizes


def test_an_icon_holding_a_large_png_is_not_decoded_past_max_pixels(decoded):
    data = _icon(_png(400, 300))
    with pytest.raises(ImageLoadError):
        load_image(data, 32, "RGB", 1, max_pixels=64 * 64)
    too_large = [s for s in decoded if s[0] * s[1] > 64 * 64]
    assert too_large == [], f"decoded {too_large} before refusing it"


def test_a_large_png_is_refused_from_its_header(decoded):
    with pytest.raises(ImageLoadError, match="more than the limit"):
        load_image(_png(400, 300), 32, "RGB", 1, max_pixels=64 * 64)
    assert decoded == []


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF", "WEBP"])
def test_dataset_formats_still_decode(fmt):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format=fmt)
    pixels = load_image(buffer.getvalue(), 16, "RGB", 1, max_pixels=64 * 64)
    assert pixels.shape == (16, 16, 3)

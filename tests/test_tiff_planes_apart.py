"""A TIFF whose colour planes are stored apart (PlanarConfiguration 2): Pillow's own reader
takes an uncompressed 16-bit one's planes as bytes (noise, no error), libtiff reads a
compressed one right."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from vision.images import ImageLoadError, load_image


def _planar_tiff(pixels: np.ndarray, deflate: bool) -> bytes:
    """An RGB TIFF, one strip per colour plane, raw or Adobe-deflate compressed."""
    h, w, _ = pixels.shape
    bits = pixels.dtype.itemsize * 8
    planes = [pixels[..., k].astype(pixels.dtype.newbyteorder("<")).tobytes() for k in range(3)]
    if deflate:
        planes = [zlib.compress(p) for p in planes]
    extra_at = 8 + 2 + 12 * 11 + 4  # header, then the directory's 11 entries
    data_at = extra_at + 6 + 12 + 12
    offsets = [data_at + sum(map(len, planes[:k])) for k in range(3)]
    entries = [
        (256, 3, 1, struct.pack("<HH", w, 0)),
        (257, 3, 1, struct.pack("<HH", h, 0)),
        (258, 3, 3, struct.pack("<I", extra_at)),
        (259, 3, 1, struct.pack("<HH", 8 if deflate else 1, 0)),
        (262, 3, 1, struct.pack("<HH", 2, 0)),  # RGB
        (273, 4, 3, struct.pack("<I", extra_at + 6)),
        (277, 3, 1, struct.pack("<HH", 3, 0)),
        (278, 3, 1, struct.pack("<HH", h, 0)),
        (279, 4, 3, struct.pack("<I", extra_at + 18)),
        (284, 3, 1, struct.pack("<HH", 2, 0)),  # planes stored apart
        (339, 3, 1, struct.pack("<HH", 1, 0)),
    ]
    directory = struct.pack("<H", len(entries))
    directory += b"".join(struct.pack("<HHI", *e[:3]) + e[3] for e in entries)
    directory += struct.pack("<I", 0)
    extra = struct.pack("<3H", bits, bits, bits) + struct.pack("<3I", *offsets)
    extra += struct.pack("<3I", *map(len, planes))
    return b"II" + struct.pack("<HI", 42, 8) + directory + extra + b"".join(planes)


def test_uncompressed_sixteen_bit_planes_are_refused_by_name():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 65536, (8, 8, 3)).astype(np.uint16)
    # Read, it was 242 levels off the file's pixels (each plane's bytes taken as samples).
    with pytest.raises(ImageLoadError, match="planar configuration 2"):
        load_image(_planar_tiff(pixels, deflate=False), 8, "RGB")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_planes_that_read_right_are_read(dtype):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, np.iinfo(dtype).max + 1, (8, 8, 3)).astype(dtype)
    expected = pixels / 257.0 if dtype == np.uint16 else pixels
    cases = [True] if dtype == np.uint16 else [False, True]
    for deflate in cases:
        got = load_image(_planar_tiff(pixels, deflate), 8, "RGB")
        assert np.abs(got - expected).max() <= 1.0, deflate

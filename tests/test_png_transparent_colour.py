"""A PNG's transparent colour (its tRNS chunk) is matched in the file's own sample values: a 2-
or 4-bit grey PNG's and a 16-bit colour PNG's pixels are rescaled by Pillow, their tRNS value
is not.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from serving.review import _as_queued
from vision.images import ImageLoadError, load_image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(samples: np.ndarray, color_type: int, bits: int, trns: bytes) -> bytes:
    """A PNG written from its raw samples (Pillow writes neither of these kinds)."""
    h, w = samples.shape[:2]
    rows = []
    for row in samples.reshape(h, w, -1):
        if bits == 16:
            raw = row.astype(">u2").tobytes()
        else:  # one grey channel packed 8 // bits to a byte, first pixel in the high bits
            per = 8 // bits
            padded = np.zeros(-(-w // per) * per, np.uint8)
            padded[:w] = row[:, 0]
            shifts = 8 - bits * np.arange(1, per + 1)
            raw = (padded.reshape(-1, per) << shifts).sum(axis=1).astype(np.uint8).tobytes()
        rows.append(b"\x00" + raw)
    header = struct.pack(">IIBBBBB", w, h, bits, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"tRNS", trns)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("bits", [2, 4])
def test_low_bit_grey_transparent_value_reads_black(bits):
    # Grey 1 of a 2-bit file is decoded as 85 (17 at 4 bits) while its tRNS stayed 1: the
    # pixels the file makes transparent were shown at 85 (17), not composited over black.
    samples = np.arange(16, dtype=np.uint8).reshape(4, 4) % (2**bits)
    data = _png(samples, 0, bits, (1).to_bytes(2, "big"))
    expected = samples.astype(np.int64) * 255 // (2**bits - 1)
    expected[samples == 1] = 0
    got = load_image(data, 4, "L")
    np.testing.assert_array_equal(got[..., 0], expected)
    # The review queue stores the pixels the station scored.
    with Image.open(io.BytesIO(data)) as image:
        np.testing.assert_array_equal(np.asarray(_as_queued(image)), expected)


def test_sixteen_bit_colour_with_a_transparent_pixel_is_refused():
    # (1000, 40000, 65535) decodes as (3, 156, 255) and was shown so: its 8-bit pixels cannot
    # tell it from (1023, 40100, 65300), so the file is refused by name.
    samples = np.full((4, 4, 3), (20000, 30000, 40000), np.uint16)
    samples[0, 0] = (1000, 40000, 65535)
    data = _png(samples, 2, 16, np.array([1000, 40000, 65535], ">u2").tobytes())
    with pytest.raises(ImageLoadError, match=r"16-bit colour PNG.*tRNS"):
        load_image(data, 4, "RGB")


def test_sixteen_bit_colour_without_its_transparent_colour_reads_whole():
    samples = np.full((4, 4, 3), (20000, 30000, 40000), np.uint16)
    samples[1, 2] = (5000, 6000, 7000)
    data = _png(samples, 2, 16, np.array([1000, 40000, 65535], ">u2").tobytes())
    np.testing.assert_array_equal(load_image(data, 4, "RGB"), samples >> 8)

"""A station photo with transparency and a colour profile (an Adobe RGB PNG or WebP with an
alpha channel) is scored converted to sRGB, as a browser shows it. The review queue stored it
composited over black, a new image that had lost the file's profile: the reviewer's browser
showed the raw Adobe RGB numbers as sRGB and ``--feedback`` trained on them, 52 levels away
from the colours the station scored (for a ``wrong_color`` call, another colour)."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image, ImageCms

from serving.review import ReviewStore
from vision.images import load_image


def _s15(x: float) -> bytes:
    return struct.pack(">i", int(round(x * 65536)))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _adobe_rgb_profile() -> bytes:
    """A minimal ICC v2 display profile: Adobe RGB (1998) primaries adapted to D50, gamma 2.2."""
    name = b"Adobe RGB (1998) compatible\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(name)) + name + b"\0" * 8 + b"\0" * 70
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 563) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"cprt", b"text" + b"\0" * 4 + b"public domain\0"),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", _xyz(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", _xyz(0.1492, 0.0632, 0.7446)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    entries, data = b"", b""
    for signature, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)
        entries += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + entries + data
    header = (
        struct.pack(">I", 128 + len(body)) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
        + b"\0" * 12 + b"acspAPPL" + b"\0" * 24 + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
        + b"\0" * 48
    )  # fmt: skip
    return header + body


PALETTE = np.array([[200, 40, 40], [40, 150, 60], [40, 70, 190], [230, 200, 40]], np.uint8)


def _photo(fmt: str, profile: bytes) -> bytes:
    """Four catalog colours (16 x 16 pixels each), stored in Adobe RGB with an opaque alpha
    channel and the profile embedded."""
    srgb = Image.fromarray(np.repeat(np.repeat(PALETTE[None], 16, axis=0), 16, axis=1))
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    stored = ImageCms.profileToProfile(
        srgb, ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")), adobe, outputMode="RGB"
    ).convert("RGBA")
    buffer = io.BytesIO()
    extra = {"lossless": True} if fmt == "WEBP" else {}
    stored.save(buffer, format=fmt, icc_profile=profile, **extra)
    return buffer.getvalue()


def test_a_queued_photo_with_alpha_keeps_the_colours_the_station_scored(tmp_path):
    profile = _adobe_rgb_profile()
    store = ReviewStore(tmp_path / "review.db")
    for k, fmt in enumerate(("PNG", "WEBP")):
        data = _photo(fmt, profile)
        scored = load_image(data, 64, resize="squash").astype(int)
        assert np.abs(scored[8, 8::16] - PALETTE).max() <= 3  # the station reads sRGB
        item = {"item_id": f"u{k}", "sku": "S1", "location_id": "FC1"}
        assert store.enqueue_photos(item, {"front": data})
        (queued,) = [q for q in store.queue() if q["item_id"] == f"u{k}"]
        # What the reviewer's browser shows and what training on the decision reads.
        again = load_image(queued["views"]["front"]["image"], 64, resize="squash").astype(int)
        assert np.abs(again - scored).max() <= 1, (fmt, np.abs(again - scored).max())

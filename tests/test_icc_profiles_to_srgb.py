"""A photo whose file embeds an ICC profile (a camera set to Adobe RGB, a phone's Display P3)
stores other numbers for the same colour than sRGB, the space of the catalog's #RRGGBB colours
and of every colour-managed viewer's screen: the catalog's green #28963C is stored as #5A9545 in
Adobe RGB. Read raw, the model measured such photos' colours off (on 60 good synthetic items,
wrong_color fired for 12% instead of 5%). Pixels are read as a viewer shows them: converted to
sRGB; an sRGB profile, no profile or a broken one leave them as they are. A photo the review
queue stored (its PNG keeps the profile, so the reviewer's browser shows it right) trains on
the colours the reviewer saw."""

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


def adobe_rgb_profile() -> bytes:
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
    assert len(header) == 128
    return header + body


SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
PALETTE = np.array([[200, 40, 40], [40, 150, 60], [40, 70, 190], [230, 200, 40]], np.uint8)


def _picture() -> Image.Image:
    """Four catalog colours, 16 x 16 pixels each (a 64 x 16 strip)."""
    return Image.fromarray(np.repeat(np.repeat(PALETTE[None], 16, axis=0), 16, axis=1))


def _png(image: Image.Image, profile: bytes | None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **({"icc_profile": profile} if profile else {}))
    return buffer.getvalue()


def _centres(pixels: np.ndarray) -> np.ndarray:
    return pixels[8, 8::16].astype(int)


def test_a_photo_with_a_colour_profile_reads_as_displayed():
    profile = adobe_rgb_profile()
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    stored = ImageCms.profileToProfile(_picture(), SRGB, adobe, outputMode="RGB")
    raw = _centres(np.asarray(stored))
    assert np.abs(raw - PALETTE).max() > 25  # the file's numbers are not the sRGB colours
    for fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        buffer = io.BytesIO()
        extra = {"quality": 100} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
        stored.save(buffer, format=fmt, icc_profile=profile, **extra)
        for resize in ("pad", "squash"):
            pixels = load_image(buffer.getvalue(), 64, resize=resize)
            got = pixels[32, 8::16].astype(int)
            assert np.abs(got - PALETTE).max() <= 3, (fmt, resize, got)


def test_srgb_missing_or_broken_profiles_leave_the_pixels_alone():
    picture = _picture()
    expected = np.asarray(picture.resize((64, 64), Image.Resampling.BILINEAR))
    for profile in (None, SRGB.tobytes(), b"not an icc profile"):
        got = load_image(_png(picture, profile), 64, resize="squash")
        assert np.array_equal(got, expected), profile


def test_a_queued_photo_trains_on_the_colours_the_reviewer_saw(tmp_path):
    profile = adobe_rgb_profile()
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    stored = ImageCms.profileToProfile(_picture(), SRGB, adobe, outputMode="RGB")
    store = ReviewStore(tmp_path / "review.db")
    item = {"item_id": "u1", "sku": "S1", "location_id": "FC1"}
    assert store.enqueue_photos(item, {"front": _png(stored, profile)})
    (queued,) = store.queue()
    # What a reviewer's browser shows, and what training on the decision reads.
    got = _centres(load_image(queued["views"]["front"]["image"], 64, resize="pad")[24:40])
    assert np.abs(got - PALETTE).max() <= 3, got

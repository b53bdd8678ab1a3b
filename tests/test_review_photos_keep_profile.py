"""A station photo with transparency and a colour profile (an Adobe RGB PNG or WebP with an
alpha channel) is scored converted to sRGB, as a browser shows it. The review queue stored it
composited over black, a new image that had lost the file's profile: the reviewer's browser
showed the raw Adobe RGB numbers as sRGB and ``--feedback`` trained on them, 52 levels away
from the colours the station scored (for a ``wrong_color`` call, another colour)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms

from serving.review import ReviewStore
from tests.test_icc_profiles_to_srgb import adobe_rgb_profile
from vision.images import load_image

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
    profile = adobe_rgb_profile()
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

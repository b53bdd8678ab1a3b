"""A grey (``L``) model scores a grey photo whose PNG names a transparent grey level (a tRNS
colour key): the transparent pixels read as black. The review queue stored that photo
composited over black as an RGB file, which a grey model refuses ("image mode 'RGB' is not
accepted for a L model"), so ``inspect train --feedback`` left the reviewer's decision out as
an item without a readable view. The queue keeps it grey, as the station read it."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from serving.review import ReviewStore, with_feedback
from vision.images import load_image
from vision.items import ItemLoader, read_class_folders


def _grey_photo_with_colour_key() -> bytes:
    pixels = np.full((32, 32), 120, np.uint8)
    pixels[:4] = 7  # grey level 7 is transparent: a black strip as displayed
    pixels[10:14, 10:14] = 200
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, format="PNG", transparency=7)
    return buffer.getvalue()


def test_a_queued_grey_photo_stays_readable_by_the_grey_model(tmp_path):
    data = _grey_photo_with_colour_key()
    scored = load_image(data, 32, "L")  # the station's grey model reads it
    assert scored[:4].max() == 0 and scored[12, 12, 0] == 200
    store = ReviewStore(tmp_path / "review.db")
    item = {"item_id": "u1", "sku": "S1", "location_id": "FC1", "scores": {"crack": 0.6}}
    assert store.enqueue_photos(item, {"image": data})
    store.decide("u1", "reject", "ana", "crack")
    # Training on the decision reads the photo the station scored.
    for name, value in (("good", 90), ("crack", 30)):
        (tmp_path / "train" / name).mkdir(parents=True)
        Image.new("L", (32, 32), value).save(tmp_path / "train" / name / "a.png")
    training = read_class_folders(tmp_path / "train")
    merged, added = with_feedback(training, ReviewStore(tmp_path / "review.db", create=False))
    assert added == 1
    loaded = ItemLoader(merged, training.view_names, 32, "L").load(len(merged.items) - 1)
    assert loaded["view_mask"].tolist() == [1.0], loaded["errors"]
    assert np.array_equal(loaded["images"][0], scored)

"""A training item photographed as JPEG and sent to the station again is the training item,
not a new example: the queue stores the station's photos as PNG (upright, opaque), so their
bytes never equal the JPEG's, and ``--feedback`` added the unit a second time with the
reviewer's label beside its training one (a defective item passed by a person: the same pixels
labelled damaged and good). README: "one unit stays one example, its training label stands"."""

import warnings

import numpy as np
import pytest
from PIL import Image

from serving.review import ReviewStore, with_feedback
from vision.items import Item, ItemSet
from vision.schema import CLASS_NAMES


def _jpeg(path, seed, exif=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (12, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG", quality=90, exif=exif or Image.Exif())
    return path


def test_a_training_jpeg_decided_at_the_station_is_not_added_again(tmp_path):
    turned = Image.Exif()
    turned[0x0112] = 6  # stored sideways: the queue keeps it upright, 12 x 16
    damaged = np.zeros(len(CLASS_NAMES), np.float32)
    damaged[0] = 1.0
    items = [
        Item("t0", {"front": _jpeg(tmp_path / "t0" / "front.jpg", 0),
                    "top": _jpeg(tmp_path / "t0" / "top.jpg", 1, turned)}, labels=damaged),
        Item("t1", {"front": _jpeg(tmp_path / "t1" / "front.jpg", 2),
                    "top": _jpeg(tmp_path / "t1" / "top.jpg", 3)}, labels=damaged),
    ]  # fmt: skip
    item_set = ItemSet(tmp_path, "tunnel", items, tuple(CLASS_NAMES), ("front", "top"))
    store = ReviewStore(tmp_path / "q" / "review.db")
    unit = {"sku": "S1", "location_id": "FC1"}
    # what /v1/inspect queues: the camera's files as sent
    store.enqueue_photos({"item_id": "u1", **unit},
                         {v: p.read_bytes() for v, p in items[0].views.items()})  # fmt: skip
    new = {"front": _jpeg(tmp_path / "new" / "front.jpg", 9), "top": items[1].views["top"]}
    store.enqueue_photos({"item_id": "u2", **unit}, {v: p.read_bytes() for v, p in new.items()})
    store.decide("u1", "pass", "ana")  # the same unit, labelled damaged in the training data
    store.decide("u2", "pass", "ana")  # one view new: another unit
    with pytest.warns(UserWarning, match="1 decided items are already in the training data"):
        merged, added = with_feedback(item_set, store)
    assert added == 1 and [i.item_id for i in merged.items] == ["t0", "t1", "review-u2"]


def test_pixels_are_compared_only_where_bytes_differ_and_each_file_is_decoded_once(
    tmp_path, monkeypatch
):
    import serving.review as review

    items = [Item(f"t{k}", {"front": _jpeg(tmp_path / f"t{k}.jpg", k)},
                  labels=np.zeros(len(CLASS_NAMES), np.float32)) for k in range(6)]  # fmt: skip
    item_set = ItemSet(tmp_path, "tunnel", items, tuple(CLASS_NAMES), ("front",))
    store = ReviewStore(tmp_path / "q" / "review.db")
    for k in range(4):
        photo = _jpeg(tmp_path / f"n{k}.jpg", 100 + k).read_bytes()
        store.enqueue_photos({"item_id": f"u{k}", "sku": "S", "location_id": "F"}, {"front": photo})
        store.decide(f"u{k}", "pass", "ana")
    decoded = []
    digest = review._pixel_digest
    monkeypatch.setattr(review, "_pixel_digest", lambda p: decoded.append(p) or digest(p))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        merged, added = with_feedback(item_set, store)
    assert added == 4
    assert len(decoded) == len(set(decoded)) == 6 + 4  # each training file once, not per unit

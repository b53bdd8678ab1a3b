"""Review decisions as training labels: a decided item the training data already holds (the same
photos) is not added twice; decisions whose photos are gone are counted in a warning."""

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from serving.review import ReviewStore, with_feedback
from vision.items import Item, ItemSet

VIEWS = ("front", "back")


def _photo(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(path)
    return path


def test_feedback_items_already_in_the_training_data_are_not_added_again(tmp_path):
    # Training data: units U1 (good) and U2 (damage), two views each.
    train = tmp_path / "tunnel" / "items"
    base_items = [
        Item(item_id=unit, views={v: _photo(train / unit / f"{v}.png", 10 * k + j)
                                  for j, v in enumerate(VIEWS)},
             labels=np.array(label, dtype=np.float32))
        for k, (unit, label) in enumerate((("U1", [0, 0]), ("U2", [1, 0])))
    ]  # fmt: skip
    base = ItemSet(tmp_path / "tunnel", "tunnel", base_items, ("damage", "packaging"), VIEWS)
    # A copy of U2's folder elsewhere (the same bytes) and a new unit N1.
    shutil.copytree(train / "U2", tmp_path / "inbound" / "U2")
    for j, v in enumerate(VIEWS):
        _photo(tmp_path / "inbound" / "N1" / f"{v}.png", 100 + j)
    folders = {"U1": train / "U1", "U2": tmp_path / "inbound" / "U2",
               "N1": tmp_path / "inbound" / "N1"}  # fmt: skip
    store = ReviewStore(tmp_path / "review.db")
    queued = pd.DataFrame({"item_id": list(folders), "sku": "S", "location_id": "FC1",
                           "product_id": "P", "reasons": "review"})  # fmt: skip
    store.enqueue(
        queued,
        {u: {v: {"image": str(f / f"{v}.png")} for v in VIEWS} for u, f in folders.items()},
    )
    store.decide("U1", "pass", "ana")  # the training item's own files
    store.decide("U2", "reject", "ana", defect="packaging")  # a copy of a training item
    store.decide("N1", "reject", "bo", defect="damage")  # a new unit
    with pytest.warns(UserWarning, match="2 decided items are already in the training data"):
        merged, added = with_feedback(base, store)
    # Hand count: only N1 is new; U1 and U2 stay once each, with their own labels.
    assert added == 1
    assert [i.item_id for i in merged.items] == ["U1", "U2", "review-N1"]
    assert merged.items[2].labels.tolist() == [1.0, 0.0]
    assert merged.items[1].labels.tolist() == [1.0, 0.0]


def test_new_units_join_without_a_warning(tmp_path):
    base_items = [Item(item_id="U1", views={"front": _photo(tmp_path / "t" / "U1.png", 1)},
                       labels=np.zeros(1, np.float32))]  # fmt: skip
    base = ItemSet(tmp_path / "t", "tunnel", base_items, ("damage",), ("front",))
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(
        pd.DataFrame({"item_id": ["N1", "N2"], "sku": "S", "location_id": "FC1",
                      "product_id": "P", "reasons": "r"}),
        {"N1": {"front": {"image": str(_photo(tmp_path / "in" / "N1.png", 2))}},
         "N2": {"front": {"image": str(_photo(tmp_path / "in" / "N2.png", 3))}}},
    )  # fmt: skip
    store.decide("N1", "pass", "ana")
    store.decide("N2", "reject", "ana", defect="damage")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        merged, added = with_feedback(base, store)
    assert added == 2
    assert [i.labels.tolist() for i in merged.items[1:]] == [[0.0], [1.0]]


def test_decisions_without_their_images_are_counted_in_a_warning(tmp_path):
    store = ReviewStore(tmp_path / "db" / "review.db")
    paths = {}
    for unit in ("A1", "B2", "C3"):
        paths[unit] = tmp_path / "inbound" / unit / "front.png"
        paths[unit].parent.mkdir(parents=True)
        Image.new("RGB", (8, 8), (9, 9, 9)).save(paths[unit])
    store.enqueue(
        pd.DataFrame({"item_id": list(paths), "sku": "S", "location_id": "FC1",
                      "product_id": "P", "reasons": "r"}),
        {u: {"front": {"image": str(p)}} for u, p in paths.items()},
    )  # fmt: skip
    store.decide("A1", "pass", "ana")
    store.decide("B2", "reject", "ana", defect="damage")
    store.decide("C3", "pass", "bo")
    paths["A1"].unlink()  # the inbound photos cleaned up after the review
    paths["B2"].unlink()
    base = ItemSet(tmp_path, "tunnel", [], ("damage",), ("front",))
    with pytest.warns(UserWarning, match="2 decided items have none of their view images.*'A1'"):
        merged, added = with_feedback(base, store)
    assert added == 1 and [i.item_id for i in merged.items] == ["review-C3"]

"""Photos queued with paths relative to the working directory (the Python API:
``ReviewStore.enqueue(items, views)``) outside the database's folder are found again: they
were stored as given and read back relative to the database's folder, so the decision of a
unit whose photos were on disk was left out of ``--feedback`` as "photos gone"."""

import warnings

import numpy as np
import pandas as pd
from PIL import Image

from serving.review import ReviewStore, with_feedback
from vision.items import ItemSet
from vision.schema import CLASS_NAMES, VIEW_NAMES


def test_a_relative_photo_path_outside_the_queue_folder_is_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo = tmp_path / "inbound" / "u1" / "front.png"
    photo.parent.mkdir(parents=True)
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(photo)
    store = ReviewStore("queue/review.db")
    items = pd.DataFrame({"item_id": ["u1"], "sku": ["S1"], "location_id": ["FC1"],
                          "score_damage": [0.5]})  # fmt: skip
    store.enqueue(items, {"u1": {"front": {"image": "inbound/u1/front.png", "heatmap": ""}}})
    assert store.item("u1")["views"]["front"]["image"] == str(photo)
    store.decide("u1", "reject", "ana", "damage")
    base = ItemSet(tmp_path, "tunnel", [], tuple(CLASS_NAMES), tuple(VIEW_NAMES))
    monkeypatch.chdir("/")  # read from elsewhere, as `inspect train --feedback` may be
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "decided items have none of their view images"
        merged, added = with_feedback(base, ReviewStore(tmp_path / "queue" / "review.db"))
    assert added == 1 and merged.items[0].views["front"] == photo
    assert merged.items[0].labels.tolist() == [float(c == "damage") for c in CLASS_NAMES]

"""with_feedback compared every decided item's images with every training image of the same
file size: with images of one size (BMPs from one camera) that is decisions x training items
steps (10,000 of each: 100 million, minutes). Now each size's training files are indexed by
digest once."""

import warnings

import numpy as np
import pandas as pd
from PIL import Image

import serving.review as review
from serving.review import ReviewStore, with_feedback
from vision.items import Item, ItemSet
from vision.schema import CLASS_NAMES


def _bmp(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)  # every file the same size
    return path


def _setup(tmp_path, n_train=40, n_decided=30):
    items = [
        Item(f"t{i}", {"top": _bmp(tmp_path / "train" / f"t{i}.bmp", i)},
             labels=np.zeros(len(CLASS_NAMES), np.float32))
        for i in range(n_train)
    ]  # fmt: skip
    item_set = ItemSet(tmp_path, "tunnel", items, CLASS_NAMES, ("top",))
    # every third decided unit is a training photo again (the same bytes under another name)
    seeds = [i if i % 3 == 0 else 1000 + i for i in range(n_decided)]
    queued = pd.DataFrame({"item_id": [f"u{i}" for i in range(n_decided)], "sku": "S1",
                           "location_id": "FC1", "product_id": "P1", "reasons": "r",
                           "score_damage": 0.5})  # fmt: skip
    views = {f"u{i}": {"top": {"image": str(_bmp(tmp_path / "q" / f"u{i}.bmp", s))}}
             for i, s in enumerate(seeds)}  # fmt: skip
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(queued, views)
    for i in range(n_decided):
        store.decide(f"u{i}", "pass", "ann")
    return item_set, store, seeds


def test_feedback_skips_exactly_the_copies_of_training_photos(tmp_path):
    item_set, store, seeds = _setup(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        merged, added = with_feedback(item_set, store)
    # brute force: a decided unit is new unless its bytes equal some training file's
    train = {p.read_bytes() for p in (tmp_path / "train").iterdir()}
    new = [f"review-u{i}" for i in range(len(seeds))
           if (tmp_path / "q" / f"u{i}.bmp").read_bytes() not in train]  # fmt: skip
    assert added == len(new) == 20
    assert sorted(item.item_id for item in merged.items[len(item_set.items) :]) == sorted(new)


def test_feedback_reads_each_training_file_once_not_once_per_decision(tmp_path, monkeypatch):
    item_set, store, seeds = _setup(tmp_path, n_train=60, n_decided=50)
    calls = []
    digest = review._Photographed._digest

    def counted(self, path):
        calls.append(path)
        return digest(self, path)

    monkeypatch.setattr(review._Photographed, "_digest", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_feedback(item_set, store)
    # one look per training file and per decided image (the old way: 50 x 60 = 3,000)
    assert len(calls) <= 60 + 50

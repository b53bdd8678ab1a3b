"""Copies of one photo (same bytes under two names, the same file in two class folders, one
photo as a.png and a.jpg) must not land on both sides of the inspection validation split."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import training.inspector as inspector_module
from training import ImageTrainConfig
from vision import Inspector


class _Stop(Exception):
    pass


def _split(root: Path, monkeypatch) -> tuple[list[str], list[str], Inspector]:
    seen = {}

    def capture(train_set, val_set, **kwargs):
        seen["train"], seen["val"] = list(train_set.indices), list(val_set.indices)
        raise _Stop

    monkeypatch.setattr(inspector_module, "fit_inspector", capture)
    quick = ImageTrainConfig(max_epochs=1, batch_size=4, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, train=quick)
    items = inspector.items(root, require_labels=True)
    with pytest.raises(_Stop):
        inspector._fit(items, root.parent / "scratch")
    ids = [item.item_id for item in items.items]
    return [ids[i] for i in seen["train"]], [ids[i] for i in seen["val"]], inspector


def test_copies_stay_on_one_side_of_the_split(tmp_path, monkeypatch):
    root = tmp_path / "data"
    rng = np.random.default_rng(0)

    def photo(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(path)

    for i in range(20):
        photo(root / "good" / f"g{i:02d}.png")
    for i in range(10):
        photo(root / "damage" / f"d{i:02d}.png")
    for i in range(10):  # the same bytes under another name
        shutil.copy(root / "good" / f"g{i:02d}.png", root / "good" / f"copy_g{i:02d}.png")
    for i in range(5):  # the same file in two class folders
        shutil.copy(root / "damage" / f"d{i:02d}.png", root / "good" / f"also_d{i:02d}.png")
    for i in range(10, 16):  # one photo as PNG and as JPEG (a.png, a.jpg)
        Image.open(root / "good" / f"g{i:02d}.png").save(root / "good" / f"g{i:02d}.jpg")

    train, val, _ = _split(root, monkeypatch)
    assert len(train) + len(val) == 51 and val

    def group(item_id: str) -> str:
        folder, name = item_id.split("/")
        path = next((root / folder).glob(name if "." in name else f"{name}.*"))
        if path.suffix == ".jpg":  # the JPEG of g10..g15 is that PNG's photo
            path = path.with_suffix(".png")
        return hashlib.sha256(path.read_bytes()).hexdigest()

    both = sorted({group(i) for i in train} & {group(i) for i in val})
    on_both = [i for i in train + val if group(i) in both]
    assert not on_both, f"copies of one photo on both sides of the split: {on_both}"

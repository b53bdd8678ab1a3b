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
from vision.items import ItemLoader, copy_groups, read_tunnel


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


def _tunnel(root: Path, n_items: int, rng: np.random.Generator) -> list[str]:
    """A tunnel of ``n_items`` items with two views of random pixels each (no masks)."""
    ids = [f"u{i:02d}" for i in range(n_items)]
    for item_id in ids:
        for view in ("front", "top"):
            path = root / "items" / item_id / f"{view}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
    rows = [[i, "p1", "", int(k % 3 == 0), 0, 0, 0] for k, i in enumerate(ids)]
    header = "item_id,product_id,location_id,damage,wrong_color,wrong_size,packaging\n"
    lines = "".join(",".join(map(str, row)) + "\n" for row in rows)
    (root / "labels.csv").write_text(header + lines)
    return ids


def test_units_sharing_one_view_photo_stay_on_one_side(tmp_path, monkeypatch):
    # A unit whose front photo is a copy of another unit's (the station stored it twice): the
    # whole-item digest differs, and before the fix 4 of these 12 pairs were split, a
    # validation unit scored on a photo the network trained on.
    root = tmp_path / "tunnel"
    ids = _tunnel(root, 36, np.random.default_rng(1))
    pairs = [(ids[2 * j], ids[2 * j + 1]) for j in range(12)]
    for a, b in pairs:
        shutil.copy(root / "items" / a / "front.png", root / "items" / b / "front.png")
    # A blank frame (a dead camera) in many units joins no one.
    for item_id in ids[24:]:
        Image.new("RGB", (32, 32)).save(root / "items" / item_id / "top.png")

    train, val, _ = _split(root, monkeypatch)
    assert len(train) + len(val) == 36 and val
    split = [(a, b) for a, b in pairs if (a in val) != (b in val)]
    assert not split, f"units sharing a view photo on both sides of the split: {split}"
    assert len([i for i in ids[24:] if i in val]) in (1, 2, 3)  # not held out as one block
    items = read_tunnel(root)
    loader = ItemLoader(items, items.view_names, 32)
    groups, notes = copy_groups(items, loader.load, np.arange(36))
    assert len(set(groups)) == 24 and len(notes) == 12 and "u00, u01" in notes[0]


def test_a_one_colour_frame_of_a_colour_camera_joins_no_one(tmp_path, monkeypatch):
    # A camera that sent one solid colour (a "no signal" blue) in 24 of 36 units: its three
    # channels hold three values, and the blank test over the whole view keyed it, merging the
    # 24 units into one group (the split then held out 26 of 36 units).
    root = tmp_path / "tunnel"
    ids = _tunnel(root, 36, np.random.default_rng(1))
    for item_id in ids[12:]:
        Image.new("RGB", (32, 32), (0, 0, 255)).save(root / "items" / item_id / "top.png")
    items = read_tunnel(root)
    loader = ItemLoader(items, items.view_names, 32)
    groups, notes = copy_groups(items, loader.load, np.arange(36))
    assert len(set(groups)) == 36 and not notes
    # and so in training's split, whose dataset gives the views channels first
    train, val, _ = _split(root, monkeypatch)
    assert len(train) + len(val) == 36 and 3 <= len(val) <= 12

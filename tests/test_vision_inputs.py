"""Inspection inputs read as a user's files mean: file names, EXIF orientation, nested class
folders, unreadable masks, and an inspector fitted again on other data."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import training.inspector as inspector_module
from training import ImageTrainConfig
from vision import Inspector
from vision.datasets import (
    ItemDataset,
    read_class_folders,
    read_items,
    read_plain_images,
    read_tunnel,
)
from vision.images import ImageLoadError, image_size, load_image, load_mask
from vision.items import load_views
from vision.synthetic import write_synthetic_dataset

ORIENTATION = 0x0112


def _photo(path, value=120, size=24):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


def test_files_sharing_a_stem_get_distinct_item_ids(tmp_path):
    for name in ("good", "dent"):
        (tmp_path / name).mkdir()
    _photo(tmp_path / "good" / "a.png", 10)
    _photo(tmp_path / "good" / "a.jpg", 200)
    _photo(tmp_path / "good" / "b.png", 50)
    _photo(tmp_path / "dent" / "a.png", 90)
    items = read_class_folders(tmp_path)
    ids = [item.item_id for item in items.items]
    assert len(set(ids)) == len(ids), ids
    by_id = {item.item_id: item.views["image"].name for item in items.items}
    # each id names its own file; a stem used once keeps the short id
    assert by_id["good/b"] == "b.png" and by_id["dent/a"] == "a.png"
    assert sorted(v for k, v in by_id.items() if k.startswith("good/a")) == ["a.jpg", "a.png"]

    plain = read_plain_images(tmp_path / "good")
    ids = [item.item_id for item in plain.items]
    assert len(set(ids)) == len(ids), ids


def test_exif_orientation_is_applied_so_pixels_and_mask_agree(tmp_path):
    # As displayed: 60 wide x 90 high, a bright defect in the top-left corner, annotated there.
    shown = np.full((90, 60, 3), 100, np.uint8)
    shown[5:15, 5:15] = 250
    # What the camera writes: its sensor's landscape pixels and "rotate 90 degrees clockwise to
    # display" (orientation 6).
    raw = Image.fromarray(shown).transpose(Image.Transpose.ROTATE_90)
    exif = raw.getexif()
    exif[ORIENTATION] = 6
    raw.save(tmp_path / "view.jpg", exif=exif, quality=95)
    mask = np.zeros((90, 60), np.uint8)
    mask[5:15, 5:15] = 1
    Image.fromarray(mask).save(tmp_path / "mask.png")

    assert image_size(tmp_path / "view.jpg") == (60, 90)
    pixels = load_image(tmp_path / "view.jpg", 64, resize="pad")[..., 0]
    bits = load_mask(tmp_path / "mask.png", 64, "pad")
    bright = np.argwhere(pixels > 200).mean(axis=0)
    marked = np.argwhere(bits > 0).mean(axis=0)
    assert np.abs(bright - marked).max() < 2, (bright, marked)
    # and a file without the tag is untouched
    Image.fromarray(shown).save(tmp_path / "plain.png")
    plain = load_image(tmp_path / "plain.png", 64, resize="pad")[..., 0]
    assert np.abs(np.argwhere(plain > 200).mean(axis=0) - marked).max() < 2


def test_a_class_folder_with_images_only_in_sub_folders_is_named(tmp_path):
    _photo(tmp_path / "good" / "g0.png")
    _photo(tmp_path / "crack" / "c0.png")
    _photo(tmp_path / "dent" / "lot1" / "d0.png")
    _photo(tmp_path / "dent" / "lot2" / "d1.png")
    with pytest.raises(ValueError, match=r"dent.*sub-folders"):
        read_class_folders(tmp_path)
    with pytest.raises(ValueError, match=r"dent.*sub-folders"):
        read_items(tmp_path)


def test_folders_without_images_are_still_ignored(tmp_path):
    _photo(tmp_path / "good" / "g0.png")
    _photo(tmp_path / "crack" / "c0.png")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no images here")
    assert read_class_folders(tmp_path).class_names == ("crack",)


def test_masks_in_another_mode_are_reported_per_view(tmp_path):
    root = write_synthetic_dataset(
        tmp_path / "tunnel", 4, seed=1, image_size=32, defect_rate=1.0, progress=False
    )
    items = read_tunnel(root)
    good = ItemDataset(items, items.view_names, 32)
    assert good[0]["view_label_mask"].sum() == len(items.view_names)
    assert good[0]["mask_errors"] == []
    # the same bits written as a palette PNG, as many annotation tools save masks
    first = items.items[0]
    for path in first.masks.values():
        Image.open(path).convert("P").save(path)
    sample = ItemDataset(items, items.view_names, 32)[0]
    assert sample["view_label_mask"].sum() == 0  # the masks are not used ...
    assert len(sample["mask_errors"]) == len(items.view_names)  # ... and each is named
    assert all("mode 'P'" in e and ".png" in e for e in sample["mask_errors"])
    # a mask problem is a training note, not an inspection problem of the item
    assert sample["errors"] == []


class _Stop(Exception):
    pass


def test_refit_resolves_image_size_contrast_and_tta_from_the_new_data(tmp_path, monkeypatch):
    specs = []

    def record(*args, spec, **kwargs):  # the spec each fit would train
        specs.append(spec)
        raise _Stop

    monkeypatch.setattr(inspector_module, "fit_inspector", record)
    rng = np.random.default_rng(0)
    for name in ("good", "crack"):
        (tmp_path / "parts" / name).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "parts" / name / f"{i}.png")
    tunnel = write_synthetic_dataset(tmp_path / "tunnel", 12, image_size=48, progress=False)
    quick = ImageTrainConfig(max_epochs=1, accelerator="cpu", progress_bar=False)

    inspector = Inspector(width=8, head_dim=8, train=quick)
    for data in (tmp_path / "parts", tunnel):
        with pytest.raises(_Stop):
            inspector.fit(data)
    with pytest.raises(_Stop):
        Inspector(width=8, head_dim=8, train=quick).fit(tunnel)
    parts, refit, fresh = specs
    assert (parts.image_size, parts.contrast, parts.tta) == (224, 7, "dihedral")
    # the tunnel fitted second gets what a fresh inspector picks for it: its own input size,
    # no contrast path and the mirror TTA of the tunnel augmentation
    assert (refit.image_size, refit.contrast, refit.tta) == (fresh.image_size, 0, "hflip")
    assert refit.image_size == fresh.image_size == 64


# A tunnel folder named with surrounding spaces is the labelled item, not a second row.
def _plain_view(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((24, 24, 3), value, np.uint8)).save(path)


def test_folder_named_with_spaces_is_the_labelled_item(tmp_path):
    for item_id, value in (("a", 10), ("b ", 90), (" c", 160)):
        for view in ("front", "top"):
            _plain_view(tmp_path / "items" / item_id / f"{view}.png", value)
    # masks follow the folder's own name
    (tmp_path / "masks" / "b ").mkdir(parents=True)
    Image.fromarray(np.zeros((24, 24), np.uint8), "L").save(tmp_path / "masks" / "b " / "front.png")
    # the labels table lists every id exactly as its folder is named
    pd.DataFrame(
        {
            "item_id": ["a", "b ", " c"],
            "product_id": ["p1", "p2", "p3"],
            "damage": [0, 1, 0],
            "wrong_color": [0, 0, 0],
            "wrong_size": [0, 0, 1],
            "packaging": [0, 0, 0],
        }
    ).to_csv(tmp_path / "labels.csv", index=False)

    items = read_tunnel(tmp_path, require_labels=True)

    assert [item.item_id for item in items.items] == ["a", "b", "c"]
    by_id = {item.item_id: item for item in items.items}
    for item_id, product in (("b", "p2"), ("c", "p3")):
        item = by_id[item_id]
        assert item.issues == []
        assert sorted(item.views) == ["front", "top"]
        assert item.product_id == product
        assert item.labels is not None
    assert by_id["b"].labels[0] == 1.0 and by_id["c"].labels[2] == 1.0
    assert sorted(by_id["b"].masks) == ["front"]


def test_exact_folder_name_wins_over_a_spaced_one(tmp_path):
    _plain_view(tmp_path / "items" / "a" / "front.png", 10)
    _plain_view(tmp_path / "items" / "a " / "front.png", 200)
    pd.DataFrame({"item_id": ["a"]}).to_csv(tmp_path / "labels.csv", index=False)
    items = read_tunnel(tmp_path)
    ids = [item.item_id for item in items.items]
    assert ids == ["a", "a "]
    assert items.items[0].views["front"].parent.name == "a"
    assert items.items[1].issues == ["not listed in labels.csv"]


def test_unreadable_class_folder_is_an_error(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "good").mkdir()
    (tmp_path / "crack").mkdir()
    for i in range(10):
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8), "L").save(
            tmp_path / "good" / f"{i}.png"
        )
    for i in range(5):
        Image.fromarray(rng.integers(0, 65536, (32, 32)).astype(np.uint16)).save(
            tmp_path / "crack" / f"{i}.png"
        )
    quick = ImageTrainConfig(max_epochs=1, batch_size=4, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, train=quick)
    with pytest.raises(ValueError, match=r"no readable image in class folders \['crack'\]"):
        inspector.fit(tmp_path)


def _picture() -> np.ndarray:
    pixels = np.zeros((16, 32, 3), np.uint8)
    pixels[:8, :16] = (255, 0, 0)
    pixels[:8, 16:] = (0, 255, 0)
    pixels[8:, :16] = (0, 0, 255)
    pixels[8:, 16:] = (255, 255, 0)
    return pixels


def _png(pixels: np.ndarray, exif: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", exif=exif)
    return buffer.getvalue()


def _exif(make_tag: int) -> bytes:
    """Big-endian EXIF: orientation 6 (turn 90 degrees clockwise) and an ASCII 'cam' under
    ``make_tag`` (0x010F is Make; 0x0119 is a tag whose standard type is SHORT)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "cam"
    data = bytearray(exif.tobytes())
    at = data.index(bytes.fromhex("010f0002"))
    data[at : at + 2] = make_tag.to_bytes(2, "big")
    return bytes(data)


def test_a_tag_of_an_unusual_type_does_not_stop_the_orientation():
    pixels = _picture()
    displayed = np.rot90(pixels, -1)  # orientation 6, by hand: (32, 16)
    clean = load_image(_png(pixels, _exif(0x010F)), 32, resize="pad")
    odd = load_image(_png(pixels, _exif(0x0119)), 32, resize="pad")
    np.testing.assert_array_equal(clean[:, 8:24], displayed)
    np.testing.assert_array_equal(odd, clean)


def test_a_truncated_exif_block_is_an_unreadable_view():
    data = _png(_picture(), b"Exif\x00\x00MM\x00*\x00\x00")  # the directory offset cut off
    try:
        load_image(data, 32)
    except ImageLoadError:
        pass
    views = load_views(
        {"front": data, "back": _png(_picture(), _exif(0x010F))}, ["front", "back"], 32
    )
    assert views.mask.tolist() == [0.0, 1.0]
    assert "front" in views.view_errors


def test_image_size_of_a_truncated_exif_block(tmp_path):
    path = tmp_path / "view.png"
    path.write_bytes(_png(_picture(), b"Exif\x00\x00MM\x00*\x00\x00"))
    assert image_size(path) in (None, (32, 16))


def _encoded(pixels: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", **options)
    return buffer.getvalue()


def _keyed_photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    rgb = (np.full((24, 36, 3), (120, 140, 160)) + rng.integers(0, 20, (24, 36, 3))).astype(
        np.uint8
    )
    rgb[:, :10] = (255, 0, 255)  # the cut-away part, in the key colour
    return rgb


@pytest.mark.parametrize("resize", ["squash", "pad"])
def test_colour_key_reads_as_the_alpha_it_stands_for(resize):
    rgb = _keyed_photo()
    keyed = load_image(_encoded(rgb, transparency=(255, 0, 255)), 24, resize=resize)
    alpha = np.where((rgb == (255, 0, 255)).all(axis=2), 0, 255).astype(np.uint8)
    cut_out = load_image(_encoded(np.dstack([rgb, alpha])), 24, resize=resize)
    np.testing.assert_array_equal(keyed, cut_out)
    # by hand: a transparent pixel over black is black
    reference = np.where(alpha[..., None] == 0, 0, rgb).astype(np.uint8)
    by_hand = load_image(_encoded(reference), 24, resize=resize)
    np.testing.assert_array_equal(keyed, by_hand)


def test_grey_colour_key_in_a_grey_model():
    grey = np.full((20, 20), 100, np.uint8)
    grey[:, :5] = 255
    keyed = load_image(_encoded(grey, transparency=255), 20, image_mode="L")
    assert (keyed[:, :5] == 0).all() and (keyed[:, 5:] == 100).all()


def _files(root):
    return sorted(p for p in root.rglob("*.png") if not any(s.startswith(".") for s in p.parts))


def test_images_in_a_sub_folder_of_a_class_folder_are_not_dropped_silently(tmp_path):
    for i in range(3):
        _photo(tmp_path / "Good Parts" / f"g{i}.png")
    _photo(tmp_path / "crack" / "c0.png")
    _photo(tmp_path / "crack" / "c1.png")
    _photo(tmp_path / "crack" / "lot2" / "c2.png")
    _photo(tmp_path / "crack" / "lot2" / "c3.png")
    # Reference: every image the user put under the root is an item, or the read fails.
    assert len(_files(tmp_path)) == 7
    with pytest.raises(ValueError, match=r"crack/lot2.*sub-folders"):
        read_class_folders(tmp_path, good_class="Good Parts")
    with pytest.raises(ValueError, match=r"crack/lot2.*sub-folders"):
        read_items(tmp_path, good_class="Good Parts")


def test_hidden_sub_folders_and_folders_without_images_are_still_ignored(tmp_path):
    for i in range(2):
        _photo(tmp_path / "good" / f"g{i}.png")
    _photo(tmp_path / "crack" / "c0.png")
    _photo(tmp_path / "crack" / ".thumbnails" / "c0.png")
    (tmp_path / "crack" / "notes").mkdir()
    (tmp_path / "crack" / "notes" / "readme.txt").write_text("x")
    items = read_class_folders(tmp_path)
    assert sorted(i.item_id for i in items.items) == ["crack/c0", "good/g0", "good/g1"]

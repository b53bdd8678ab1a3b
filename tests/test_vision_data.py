"""Inspection data: the synthetic tunnel, the dataset layouts, and per-item loading errors."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vision.catalog import Catalog, hex_to_rgb
from vision.datasets import (
    CatalogHandling,
    ItemDataset,
    collate_items,
    read_class_folders,
    read_items,
    read_tunnel,
    stratified_split,
)
from vision.images import ImageLoadError, load_image
from vision.items import Item, detect_layout
from vision.schema import CLASS_NAMES, MASK_BITS, VIEW_NAMES
from vision.synthetic import (
    generate_items,
    make_catalog,
    render_item,
    write_synthetic_dataset,
)

SIZE = 48


@pytest.fixture(scope="module")
def tunnel(tmp_path_factory):
    root = tmp_path_factory.mktemp("vision_data") / "tunnel"
    write_synthetic_dataset(root, 24, seed=3, image_size=SIZE, defect_rate=0.4)
    return root


def _tree_digest(root) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_synthetic_generator_is_deterministic_for_a_seed(tmp_path, tunnel):
    again = write_synthetic_dataset(
        tmp_path / "again", 24, seed=3, image_size=SIZE, defect_rate=0.4
    )
    other = write_synthetic_dataset(
        tmp_path / "other", 24, seed=4, image_size=SIZE, defect_rate=0.4
    )
    assert _tree_digest(again) == _tree_digest(tunnel)
    assert _tree_digest(other) != _tree_digest(tunnel)


def test_synthetic_items_have_six_views_labels_and_masks_that_agree(tunnel):
    labels = pd.read_csv(tunnel / "labels.csv", dtype={"item_id": str})
    assert list(labels.columns[:6]) == ["item_id", "product_id", *CLASS_NAMES]
    catalog = Catalog.read(tunnel / "catalog.csv")
    assert set(labels.product_id) <= set(catalog.product_ids)
    for row in labels.itertuples():
        views = sorted(p.stem for p in (tunnel / "items" / row.item_id).glob("*.png"))
        assert views == sorted(VIEW_NAMES)
        bits = 0
        for view in VIEW_NAMES:
            image = Image.open(tunnel / "items" / row.item_id / f"{view}.png")
            assert image.mode == "RGB" and image.size == (SIZE, SIZE)
            bits |= int(
                np.bitwise_or.reduce(
                    np.asarray(Image.open(tunnel / "masks" / row.item_id / f"{view}.png")),
                    axis=None,
                )
            )
        for name in CLASS_NAMES:
            # An item has a class exactly when some view's mask carries the class bit.
            assert bool(bits & MASK_BITS[name]) == bool(getattr(row, name)), (row.item_id, name)


def test_wrong_color_and_wrong_size_depart_from_the_catalog():
    catalog = make_catalog(12, seed=0)
    items = generate_items(catalog, 200, seed=9, defect_rate=0.5)
    for item in items:
        row = catalog.table.loc[item.product_id]
        expected = np.array(hex_to_rgb(row["color"])) / 255
        distance = np.abs(item.color - expected).sum() * 255
        ratios = [item.dims[k] / row[k] for k in ("width_cm", "height_cm", "depth_cm")]
        if item.labels["wrong_color"]:
            assert distance > 100
        else:
            assert distance == 0
        if item.labels["wrong_size"]:
            assert max(abs(np.log(r)) for r in ratios) > np.log(1.25)
        else:
            assert all(0.97 < r < 1.03 for r in ratios)


def test_rendered_wrong_color_shows_in_the_pixels():
    catalog = make_catalog(12, seed=0)
    items = generate_items(catalog, 60, seed=5, defect_rate={"wrong_color": 0.5})
    for item in items:
        views = render_item(item, SIZE, views=("front",))
        pixels, mask = views["front"]
        expected = np.array(hex_to_rgb(catalog.table.loc[item.product_id, "color"]))
        assert pixels.shape == (SIZE, SIZE, 3)
        if item.labels["wrong_color"]:
            assert (mask & MASK_BITS["wrong_color"]).any()
        else:
            assert not (mask & MASK_BITS["wrong_color"]).any()
        assert expected.shape == (3,)


def test_read_tunnel_reports_missing_and_corrupt_views_per_item(tunnel, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(tunnel, root)
    ids = pd.read_csv(root / "labels.csv", dtype={"item_id": str}).item_id.tolist()
    (root / "items" / ids[0] / "top.png").unlink()  # a missing view
    (root / "items" / ids[1] / "left.png").write_bytes(b"not a png at all")  # corrupt
    data = (root / "items" / ids[2] / "front.png").read_bytes()
    (root / "items" / ids[2] / "front.png").write_bytes(data[: len(data) // 2])  # truncated
    Image.new("CMYK", (SIZE, SIZE)).save(root / "items" / ids[3] / "back.jpg")  # wrong mode
    (root / "items" / ids[3] / "back.png").unlink()
    shutil.rmtree(root / "items" / ids[4])  # whole item folder gone

    item_set = read_tunnel(root)
    assert item_set.view_names == VIEW_NAMES
    dataset = ItemDataset(
        item_set,
        item_set.view_names,
        SIZE,
        "RGB",
        CatalogHandling("reference", item_set.catalog, item_set.catalog.size_scale()),
    )
    batch = collate_items([dataset[i] for i in range(6)])
    errors = {ids[i]: " | ".join(batch["errors"][i]) for i in range(6)}
    assert "view 'top': missing" in errors[ids[0]]
    assert "view 'left'" in errors[ids[1]] and "left.png" in errors[ids[1]]
    assert "view 'front'" in errors[ids[2]]
    assert "'CMYK'" in errors[ids[3]]
    assert f"folder items/{ids[4]}/ not found" in errors[ids[4]]
    assert errors[ids[5]] == ""
    mask = batch["view_mask"].numpy()
    top, left, front, back = (VIEW_NAMES.index(v) for v in ("top", "left", "front", "back"))
    assert mask[0, top] == 0 and mask[1, left] == 0 and mask[2, front] == 0 and mask[3, back] == 0
    assert mask[0].sum() == 5 and mask[4].sum() == 0 and mask[5].sum() == 6
    assert batch["images"].shape == (6, 6, 3, SIZE, SIZE)
    assert batch["catalog"][5, 0] == 1.0  # the catalog reference is present


def test_load_image_names_the_reason(tmp_path):
    Image.new("I;16", (8, 8)).save(tmp_path / "deep.png")
    with pytest.raises(ImageLoadError, match="mode 'I;16'"):
        load_image(tmp_path / "deep.png", 16, "RGB")
    Image.new("RGB", (8, 8)).save(tmp_path / "rgb.png")
    with pytest.raises(ImageLoadError, match="mode 'RGB'"):
        load_image(tmp_path / "rgb.png", 16, "L")
    grey = load_image(_grey(tmp_path / "grey.png"), 16, "L")
    assert grey.shape == (16, 16, 3) and (grey[..., 0] == grey[..., 2]).all()
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "absent.png", 16)


def _grey(path):
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8), "L").save(path)
    return path


def test_labels_table_errors_name_the_column_and_items(tunnel, tmp_path):
    root = tmp_path / "bad_labels"
    shutil.copytree(tunnel, root)
    labels = pd.read_csv(root / "labels.csv", dtype=str)
    bad = labels.copy()
    bad.loc[2, "damage"] = "2"
    bad.to_csv(root / "labels.csv", index=False)
    with pytest.raises(ValueError, match=rf"'damage' must be 0 or 1.*{labels.item_id[2]}"):
        read_tunnel(root)
    pd.concat([labels, labels.head(1)]).to_csv(root / "labels.csv", index=False)
    with pytest.raises(ValueError, match=rf"duplicate item_id {labels.item_id[0]}"):
        read_tunnel(root)
    labels.drop(columns=["packaging"]).to_csv(root / "labels.csv", index=False)
    with pytest.raises(ValueError, match=r"missing label columns \['packaging'\]"):
        read_tunnel(root)
    (root / "labels.csv").unlink()
    with pytest.raises(ValueError, match="labels table not found"):
        read_tunnel(root, require_labels=True)
    assert len(read_tunnel(root).items) == 24  # scoring needs no labels


def test_catalog_validation_names_rows():
    good = pd.DataFrame(
        {
            "product_id": ["A", "B"],
            "color": ["#FF0000", "#00ff00"],
            "width_cm": [1, 2],
            "height_cm": [1, 2],
            "depth_cm": [1, 2],
        }
    )
    catalog = Catalog(good)
    np.testing.assert_allclose(catalog.reference("A", 2.0), [1, 1, 0, 0, 0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="'color' must be '#RRGGBB' in rows B"):
        Catalog(good.assign(color=["#FF0000", "green"]))
    with pytest.raises(ValueError, match="'depth_cm' must be a positive number in rows A"):
        Catalog(good.assign(depth_cm=[0, 2]))
    with pytest.raises(ValueError, match="duplicate product_id"):
        Catalog(good.assign(product_id=["A", "A"]))


def test_class_folder_layout(tmp_path):
    for cls, n in (("good", 3), ("crack", 2), ("stain", 1)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            _grey(tmp_path / cls / f"{cls}{i}.png")
    item_set = read_items(tmp_path)
    assert item_set.layout == "classes"
    assert item_set.class_names == ("crack", "stain") and item_set.view_names == ("image",)
    labels = {item.item_id: item.labels.tolist() for item in item_set.items}
    assert labels["good/good0"] == [0, 0] and labels["crack/crack1"] == [1, 0]
    assert labels["stain/stain0"] == [0, 1]
    with pytest.raises(ValueError, match="no 'ok/' folder"):
        read_class_folders(tmp_path, good_class="ok")


def test_stratified_split_holds_out_each_label_combination():
    labels = np.array([[0, 0]] * 40 + [[1, 0]] * 20 + [[0, 1]] * 10 + [[1, 1]] * 1)
    keep, held = stratified_split(labels, 0.25, seed=0)
    assert len(set(keep) & set(held)) == 0 and len(keep) + len(held) == len(labels)
    assert sorted(map(tuple, labels[held].tolist())).count((0, 0)) == 10
    assert sorted(map(tuple, labels[held].tolist())).count((1, 0)) == 5
    assert 70 in keep  # a single-member stratum stays in training
    again = stratified_split(labels, 0.25, seed=0)
    assert (again[1] == held).all()


# Catalog product ids are read as text, as the labels table reads them.
def _catalog(path, ids):
    pd.DataFrame(
        {
            "product_id": ids,
            "color": ["#C82828"] * len(ids),
            "width_cm": [10.0] * len(ids),
            "height_cm": [8.0] * len(ids),
            "depth_cm": [6.0] * len(ids),
        }
    ).to_csv(path, index=False)
    return path


def test_product_ids_that_look_missing_are_products(tmp_path):
    catalog = Catalog.read(_catalog(tmp_path / "catalog.csv", ["NA", "null", "P3"]))
    assert catalog.product_ids == ["NA", "null", "P3"]
    handling = CatalogHandling("reference", catalog, 15.0)
    reference, why = handling.reference(Item("i1", {}, product_id="NA"))
    assert why is None and reference[0] == 1.0


@pytest.mark.parametrize("ids", [["", "P2", "P3"], ["", "", "P3"]])
def test_empty_product_ids_are_an_error_naming_the_column(tmp_path, ids):
    with pytest.raises(ValueError, match="column 'product_id' is empty in"):
        Catalog.read(_catalog(tmp_path / "catalog.csv", ids))


def test_duplicate_ids_are_named(tmp_path):
    with pytest.raises(ValueError, match="duplicate product_id in rows P2, P2"):
        Catalog.read(_catalog(tmp_path / "catalog.csv", ["P2", "P2", "P3"]))


def _labels(counts):
    rows = []
    for k, n in enumerate(counts):
        row = np.zeros(len(counts) - 1, np.float32)
        if k:
            row[k - 1] = 1
        rows += [row] * n
    return np.array(rows)


@pytest.mark.parametrize(
    "counts,fraction",
    [([10, 2], 0.9), ([50, 2, 3], 0.75), ([50, 4, 5], 0.9), ([30, 5], 0.9), ([8, 2], 0.75)],
)
def test_every_combination_keeps_a_training_row(counts, fraction):
    labels = _labels(counts)
    for seed in range(3):
        keep, held = stratified_split(labels, fraction, seed)
        assert not set(keep) & set(held) and len(keep) + len(held) == len(labels)
        keys = [tuple(r) for r in labels]
        for key in set(keys):
            members = {i for i, k in enumerate(keys) if k == key}
            assert members & set(keep.tolist()), (key, counts, fraction)
            # a fraction of at least one row of a stratum of two or more still holds one out
            if len(members) > 1 and round(fraction * len(members)) >= 1:
                assert members & set(held.tolist())


def test_large_strata_unchanged():
    labels = _labels([40, 20, 10])
    keep, held = stratified_split(labels, 0.25, 0)
    assert len(held) == 10 + 5 + 2 and len(keep) == 70 - 17


def _img(path, value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((24, 24, 3), value, np.uint8)).save(path)


def test_hidden_folder_is_not_a_class(tmp_path):
    _img(tmp_path / "good" / "a.png")
    _img(tmp_path / "good" / "B.PNG")
    _img(tmp_path / "crack" / "x.JPG")
    _img(tmp_path / ".thumbnails" / "a.png")
    (tmp_path / "good" / "._a.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
    items = read_items(tmp_path)
    assert items.layout == "classes"
    assert items.class_names == ("crack",)
    assert sorted(i.item_id for i in items.items) == ["crack/x", "good/B", "good/a"]
    labels = {i.item_id: i.labels.tolist() for i in items.items}
    assert labels == {"crack/x": [1.0], "good/B": [0.0], "good/a": [0.0]}


def test_plain_images_with_a_hidden_cache_folder(tmp_path):
    _img(tmp_path / "p1.png")
    _img(tmp_path / "p2.png")
    _img(tmp_path / ".cache" / "p1.png")
    assert detect_layout(tmp_path) == "images"
    assert [i.item_id for i in read_items(tmp_path).items] == ["p1", "p2"]


def test_hidden_item_folder_in_a_tunnel(tmp_path):
    for item in ("u1", "u2"):
        _img(tmp_path / "items" / item / "front.png")
    _img(tmp_path / "items" / ".ipynb_checkpoints" / "front.png")
    (tmp_path / "labels.csv").write_text(
        "item_id,damage,wrong_color,wrong_size,packaging\nu1,1,0,0,0\nu2,0,0,0,0\n"
    )
    items = read_items(tmp_path, require_labels=True)
    assert [i.item_id for i in items.items] == ["u1", "u2"]

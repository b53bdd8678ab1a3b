"""Mask pixel values are defect bits (schema.MASK_BITS): a 0/255 binary mask, or a mask marking a
class its item's labels deny, must not become view and cell targets for classes the item lacks."""

import numpy as np
from PIL import Image

from vision.items import ItemLoader, read_items
from vision.synthetic import write_synthetic_dataset


def _tunnel(tmp_path):
    root = write_synthetic_dataset(tmp_path / "t", 6, image_size=32, progress=False, seed=0)
    item_set = read_items(root)
    # the packaging-only item with masks (seed 0: s0-00005, labels [0, 0, 0, 1])
    index = next(
        i
        for i, it in enumerate(item_set.items)
        if list(it.labels) == [0, 0, 0, 1]
        and it.masks
        and any(np.asarray(Image.open(p)).any() for p in it.masks.values())
    )
    return item_set, index


def _marked_views(item):
    return [v for v, p in item.masks.items() if np.asarray(Image.open(p)).any()]


def test_binary_255_mask_is_not_read_as_every_class(tmp_path):
    item_set, index = _tunnel(tmp_path)
    item = item_set.items[index]
    marked = _marked_views(item)
    for view in marked:
        path = item.masks[view]
        a = np.asarray(Image.open(path))
        Image.fromarray(np.where(a > 0, 255, 0).astype(np.uint8), "L").save(path)
    loader = ItemLoader(item_set, item_set.view_names, 32, class_names=item_set.class_names)
    out = loader.load(index)
    names = list(item_set.class_names)
    for view in marked:
        slot = list(item_set.view_names).index(view)
        # the item has no damage, wrong colour or wrong size: no view may be taught it has
        for cls in ("damage", "wrong_color", "wrong_size"):
            assert out["view_labels"][slot, names.index(cls)] == 0 or (
                out["view_label_mask"][slot] == 0
            )
        assert out["view_label_mask"][slot] == 0
        assert not out["view_bits"][slot].any()
    assert len(out["mask_errors"]) == len(marked)
    assert "255" in out["mask_errors"][0]


def test_mask_bit_the_item_labels_deny_is_reported(tmp_path):
    item_set, index = _tunnel(tmp_path)
    item = item_set.items[index]
    marked = _marked_views(item)
    view = marked[0]
    path = item.masks[view]
    a = np.asarray(Image.open(path))
    # a 0/1 mask (bit 1 = damage) on an item labelled packaging only
    Image.fromarray((a > 0).astype(np.uint8), "L").save(path)
    loader = ItemLoader(item_set, item_set.view_names, 32, class_names=item_set.class_names)
    out = loader.load(index)
    slot = list(item_set.view_names).index(view)
    damage = list(item_set.class_names).index("damage")
    assert out["view_labels"][slot, damage] == 0
    assert out["view_label_mask"][slot] == 0
    assert any("damage" in e for e in out["mask_errors"])


def test_valid_bit_masks_still_label_views(tmp_path):
    item_set, index = _tunnel(tmp_path)
    item = item_set.items[index]
    marked = _marked_views(item)
    loader = ItemLoader(item_set, item_set.view_names, 32, class_names=item_set.class_names)
    out = loader.load(index)
    packaging = list(item_set.class_names).index("packaging")
    for view in marked:
        slot = list(item_set.view_names).index(view)
        assert out["view_label_mask"][slot] == 1
        assert out["view_labels"][slot, packaging] == 1
    assert out["mask_errors"] == []

"""A view's mask must be the shape of its view as displayed: a mask drawn on a camera's stored
pixels (EXIF-turned photo) put its bits over other pixels, unreported."""

import numpy as np
from PIL import Image

from vision.items import ItemLoader, read_items
from vision.synthetic import write_synthetic_dataset

ORIENTATION = 0x0112


def _dataset(tmp_path, mask_on_stored_pixels: bool, half_size_mask: bool = False):
    root = write_synthetic_dataset(tmp_path / "t", 2, image_size=32, progress=False, seed=0)
    item_set = read_items(root)
    item = item_set.items[0]
    view = "front"
    # displayed: 48 wide x 32 high, a bright mark top-left; stored turned, with orientation 6
    shown = np.full((32, 48, 3), 120, np.uint8)
    shown[2:8, 2:8] = 250
    raw = Image.fromarray(shown).transpose(Image.Transpose.ROTATE_90)
    exif = raw.getexif()
    exif[ORIENTATION] = 6
    jpg = item.views[view].with_suffix(".jpg")
    raw.save(jpg, exif=exif, quality=95)
    item.views[view].unlink()
    item.views[view] = jpg
    labels = item.labels
    bit = 1 if labels is None or labels[0] == 1 else 0
    mask = np.zeros((32, 48), np.uint8)
    mask[2:8, 2:8] = bit  # damage, or nothing where the item has no damage
    if mask_on_stored_pixels:
        mask = np.ascontiguousarray(np.rot90(mask))  # 32 wide x 48 high
    if half_size_mask:
        mask = mask[::2, ::2]
    item.masks[view] = item.masks.get(view) or (root / "masks" / item.item_id / "front.png")
    item.masks[view].parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask).save(item.masks[view])
    loader = ItemLoader(item_set, item_set.view_names, 32, resize="pad")
    return loader.load(0), list(item_set.view_names).index(view)


def test_a_mask_of_the_stored_pixels_is_refused_not_misplaced(tmp_path):
    out, slot = _dataset(tmp_path, mask_on_stored_pixels=True)
    assert out["view_label_mask"][slot] == 0
    assert not out["view_bits"][slot].any()
    assert any("front" in e and "48" in e for e in out["mask_errors"]), out["mask_errors"]


def test_masks_of_the_displayed_shape_are_used_also_at_another_scale(tmp_path):
    for half in (False, True):
        out, slot = _dataset(tmp_path / str(half), False, half_size_mask=half)
        assert out["mask_errors"] == []
        assert out["view_label_mask"][slot] == 1
